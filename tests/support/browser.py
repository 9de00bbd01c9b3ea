"""Helpers for the real-browser tests (`tests/browser`): Debian's Chromium driven by Playwright.

The fixtures that use them are in `tests/browser/conftest.py`, whose docstring says how to write
a browser test. Here:

- `sign_in(page, url, user, password)`: open `url` (a page that leads to sign-in, or the
  authorize URL itself) and sign in on the platform's own sign-in page as a person does, finding
  the fields by their labels and the button by its role and name.
- `assert_accessible(page, name)`: run axe-core (vendored, `tests/browser/vendor/axe-core`) on
  the page; fail on any violation of impact serious or critical, naming rule, impact, elements
  and help.
- `assert_offline(page)`: every request the page's context has made so far went to 127.0.0.1
  (no CDN, no font or analytics host).
- `screenshot(page, name)`: `docs/studio/<name>.png`, only when `MAAS_STUDIO_SCREENSHOTS=1`.
- `watch(context)` and `save_failure(...)`: what the fixtures record (requests, console errors,
  uncaught page errors) and what they keep when a test fails (a screenshot and the HTML of each
  open page).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, WebError

__all__ = [
    "ADMIN_TOKEN",
    "AXE",
    "CHROMIUM",
    "SCREENSHOTS",
    "BrowserRecord",
    "assert_accessible",
    "assert_offline",
    "forget",
    "record_of",
    "save_failure",
    "screenshot",
    "sign_in",
    "watch",
]

ADMIN_TOKEN = "browser-admin-token-0123456789"  # the browser tests' server: user admin's password
ROOT = Path(__file__).resolve().parents[2]
# Debian's package (`apt-get install -y chromium`; scripts/test installs it). Playwright's own
# browser download cannot be used: it fetches from a host outside the package registries.
CHROMIUM = Path(os.environ.get("MAAS_TEST_CHROMIUM", "/usr/bin/chromium"))
AXE = Path(__file__).resolve().parents[1] / "browser" / "vendor" / "axe-core" / "axe.min.js"
SCREENSHOT_DIR = ROOT / "docs" / "studio"
# Read when this module is imported: the test session's home isolation (tests/conftest.py)
# removes MAAS_* variables other than MAAS_TEST_* before the first test runs.
SCREENSHOTS = os.environ.get("MAAS_STUDIO_SCREENSHOTS", "") == "1"
BLOCKING = ("serious", "critical")  # axe impacts that fail a test
LOCAL_HOSTS = ("127.0.0.1",)
NOT_NETWORK = ("data", "blob", "about", "chrome-error")  # schemes that reach no host


@dataclass
class BrowserRecord:
    """What one browser context did: every request URL, console errors and uncaught page errors."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


_records: dict[BrowserContext, BrowserRecord] = {}


def watch(context: BrowserContext) -> BrowserRecord:
    """Start recording `context`'s requests and errors (the `context` fixtures do this first)."""
    record = BrowserRecord()
    _records[context] = record

    def on_request(request: Request) -> None:
        record.requests.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            record.console_errors.append(f"{message.location.get('url', '')}: {message.text}")

    def on_error(error: WebError) -> None:
        record.page_errors.append(f"{error.page.url if error.page else '?'}: {error.error}")

    context.on("request", on_request)
    context.on("console", on_console)
    context.on("weberror", on_error)
    return record


def forget(context: BrowserContext) -> None:
    _records.pop(context, None)


def record_of(page: Page) -> BrowserRecord:
    try:
        return _records[page.context]
    except KeyError:
        raise AssertionError("this page's context was not made by a browser fixture (watch)") from None


def sign_in(page: Page, url: str | None, user: str, password: str) -> None:
    """Sign in on the platform's sign-in page as a person would.

    `url`: where the person starts, a page that sends them to sign-in (a Studio page) or the
    authorize URL itself; None: the page is already there. Fills "User name" and "Password" by
    their labels and presses the "Sign in" button; returns once the button is pressed (the caller
    waits for where it expects to land, or for the alert of a wrong password).
    """
    if url is not None:
        page.goto(url)
    page.get_by_role("heading", name="Sign in").wait_for()
    page.get_by_label("User name", exact=True).fill(user)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def assert_accessible(page: Page, name: str) -> None:
    """Run axe-core on the page as it is now; fail on any serious or critical violation.

    axe is evaluated through the DevTools protocol rather than `add_script_tag`, whose inline
    script a page with a strict Content-Security-Policy (script-src 'self') refuses.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => await window.axe.run(document, {resultTypes: ['violations']})",
    )
    found = [v for v in result["violations"] if v.get("impact") in BLOCKING]
    if found:
        lines = [f"axe: {len(found)} serious or critical violation(s) on {name} ({page.url}):"]
        for violation in found:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            lines.append(f"  {violation['helpUrl']}")
            for node in violation["nodes"]:
                target = " ".join(
                    " >> ".join(part) if isinstance(part, list) else part for part in node["target"]
                )
                lines.append(f"    at {target}: {node.get('failureSummary', '').strip()}".replace("\n", " "))
        raise AssertionError("\n".join(lines))


def assert_offline(page: Page, allowed: tuple[str, ...] = LOCAL_HOSTS) -> None:
    """Every request of the page's context so far went to 127.0.0.1: nothing from a CDN or any
    other host (a page that needs the internet breaks where MaaS runs without it)."""
    record = record_of(page)
    assert record.requests, "the context made no request: was this called before the page loaded?"
    outside = [
        url
        for url in record.requests
        if urlsplit(url).scheme not in NOT_NETWORK and urlsplit(url).hostname not in allowed
    ]
    hosts = ", ".join(allowed)
    assert not outside, (
        f"{len(outside)} request(s) to a host other than {hosts} (no internet where MaaS runs):\n"
        + "\n".join(outside)
    )


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path | None:
    """Save `docs/studio/<name>.png` for docs/studio.md when MAAS_STUDIO_SCREENSHOTS=1, else nothing
    (a normal test run leaves the work tree as it was). Returns the file written, if any."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise ValueError(f"screenshot name {name!r}: use lower-case letters, digits and '-'")
    if not SCREENSHOTS:
        return None
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
    return path


def save_failure(contexts: list[BrowserContext], directory: Path) -> list[str]:
    """Keep a screenshot and the HTML of every open page, and what the contexts recorded; returns
    lines that name the files (for the failure report)."""
    directory.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    for c, context in enumerate(contexts):
        for p, page in enumerate(context.pages):
            stem = directory / f"context{c}-page{p}"
            try:
                page.screenshot(path=str(stem.with_suffix(".png")), full_page=True, timeout=5_000)
                stem.with_suffix(".html").write_text(page.content(), encoding="utf-8")
                lines.append(f"{page.url}\n  {stem}.png\n  {stem}.html")
            except Exception as exc:  # keep the test's own failure in front
                lines.append(f"{page.url}: could not save ({exc})")
        record = _records.get(context)
        if record and (record.console_errors or record.page_errors):
            lines.append("console errors:\n  " + "\n  ".join(record.console_errors or ["none"]))
            lines.append("page errors:\n  " + "\n  ".join(record.page_errors or ["none"]))
    return lines
