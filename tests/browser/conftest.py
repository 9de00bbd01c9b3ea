"""Real-browser tests: Debian's Chromium, driven by Playwright (sync API), against a real
`maas serve`.

Every test in `tests/browser` carries the `browser` marker (added here; `-m "not browser"`
leaves them out) and runs under `scripts/test` with the rest of the suite (`-n 2 --dist
loadfile`: a file's tests share a worker, so one server per module).

Setup. `scripts/test` installs what they need: Debian's `chromium` package (`apt-get install -y
chromium`, once per machine, when `/usr/bin/chromium` is missing) and Playwright for Python (the
`test` extra). Playwright's own browser download is never used: the browser is launched with
`executable_path=/usr/bin/chromium` (`MAAS_TEST_CHROMIUM` names another). Without Chromium the
tests are skipped with the command that installs it, except under `CI=true`, where they fail:
CI never skips them.

Fixtures:

- `server` (module): `maas serve` in a subprocess on a free port, SQLite in a fresh data
  directory, the shipped catalog models, admin token `support.browser.ADMIN_TOKEN` (the
  `admin` user's password until one is set). `server.url`, `server.client()` (httpx with the
  admin token), `server.data_dir`, `server.log`.
- `tenant_id` (module): the installation's tenant (for `/{tenant}/oauth2/v2.0/authorize`).
- `browser` (per module): headless Chromium. Playwright starts per module too: its sync API keeps
  an event loop running on the thread, which would break a later asyncio.run() in the worker.
- `context` / `page`: a fresh context per test (no cookies: signed out), 1280x800, `base_url` set
  to the server's URL (so `page.goto("/studio")` works); `phone_context` / `phone_page`: the same
  at a phone's size (390x844, touch, mobile). Actions and `expect` wait at most 10 s, so a test
  that waits for something that never comes fails quickly.

Helpers (`tests/support/browser.py`): `sign_in(page, url, user, password)`,
`assert_accessible(page, name)` (axe-core, vendored under `vendor/axe-core`: no serious or
critical violation), `assert_offline(page)` (every request went to 127.0.0.1),
`screenshot(page, name)` (writes `docs/studio/<name>.png` only when `MAAS_STUDIO_SCREENSHOTS=1`).

A test, as a person reads the page (roles and labels, not CSS selectors):

    from playwright.sync_api import Page, expect
    from support.browser import ADMIN_TOKEN, assert_accessible, screenshot, sign_in
    from support.server import RunningServer

    def test_catalog(page: Page, server: RunningServer) -> None:
        sign_in(page, f"{server.url}/studio", "admin", ADMIN_TOKEN)
        expect(page.get_by_role("heading", name="Model catalog")).to_be_visible()
        assert_accessible(page, "model catalog")
        screenshot(page, "catalog")

When a test fails, a screenshot and the HTML of each open page, and the console and page errors,
are saved under the test's tmp dir; the failure report names the files ("browser artifacts").

Run only these: `scripts/test tests/browser`, or with the main venv
`PYTHONPATH=$PWD/src .venv/bin/python -m pytest -q tests/browser`.
Screenshots for docs/studio.md: `MAAS_STUDIO_SCREENSHOTS=1 scripts/test tests/browser`.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from support import browser as helpers
from support.browser import ADMIN_TOKEN
from support.server import RunningServer, running_server

TIMEOUT_MS = 10_000
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failing test, keep what its browser showed (screenshot, HTML, errors)."""
    report = yield
    if report.when == "call" and report.failed:
        funcargs = getattr(item, "funcargs", {})
        contexts = [value for value in funcargs.values() if isinstance(value, BrowserContext)]
        tmp_path = funcargs.get("tmp_path")
        if contexts and isinstance(tmp_path, Path):
            lines = helpers.save_failure(contexts, tmp_path / "browser-failure")
            report.sections.append(("browser artifacts", "\n".join(lines)))
    return report


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("browser-server") / "data"
    with running_server(data_dir, token=ADMIN_TOKEN) as running:
        yield running


@pytest.fixture(scope="module")
def tenant_id(server: RunningServer) -> str:
    return (server.data_dir / "tenant-id").read_text().strip()


def _chromium_or_skip() -> Path:
    chromium = helpers.CHROMIUM
    if os.access(chromium, os.X_OK):
        return chromium
    message = (
        f"Chromium not found at {chromium}: the browser tests need Debian's package "
        "(`sudo apt-get install -y chromium`; scripts/test installs it)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}. CI never skips the browser tests.")
    pytest.skip(message)


# Per module, not per session: Playwright's sync API keeps an event loop running on this thread
# while it is started, and a later test in the same worker that calls asyncio.run() would fail.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    _chromium_or_skip()
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    args = ["--disable-dev-shm-usage"]  # containers' /dev/shm is often small
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses its sandbox as root
    launched = playwright.chromium.launch(
        executable_path=str(_chromium_or_skip()), headless=True, args=args, timeout=60_000
    )
    expect.set_options(timeout=TIMEOUT_MS)
    try:
        yield launched
    finally:
        launched.close()


def _context(browser: Browser, server: RunningServer, **options: Any) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=server.url, locale="en-US", timezone_id="UTC", **options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    helpers.watch(context)
    try:
        yield context
    finally:
        context.close()
        helpers.forget(context)


@pytest.fixture
def context(browser: Browser, server: RunningServer, tmp_path: Path) -> Iterator[BrowserContext]:
    yield from _context(browser, server, viewport=DESKTOP)


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def phone_context(browser: Browser, server: RunningServer, tmp_path: Path) -> Iterator[BrowserContext]:
    yield from _context(
        browser, server, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )


@pytest.fixture
def phone_page(phone_context: BrowserContext) -> Page:
    return phone_context.new_page()
