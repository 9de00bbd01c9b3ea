"""Contract: the real azure-identity `InteractiveBrowserCredential` (MSAL underneath) signs a user
in through the sign-in page of a real `maas serve --tls`.

`get_token` starts a loopback server on http://localhost:84xx, then calls `webbrowser.open` with
the authorize URL. Python's `webbrowser` honours `BROWSER`, with two catches that decide whether
the helper browser (`browser_helper.py`) is started at all:

- `BROWSER` names one executable, run as `<BROWSER> <url>`; it is not split into words, so
  `BROWSER="python browser_helper.py"` is taken as a program of that whole name, fails to start,
  and `get_token` reports that no browser could be opened. Here it is a small shell launcher
  with the interpreter and the helper's path inside.
- `webbrowser` reads `BROWSER` once, the first time a browser is needed in the process, and keeps
  the list: a `BROWSER` set later is ignored. The fixture clears that list (`_tryorder`) so the
  next `open` reads the variable again.

The helper detaches at once (`webbrowser` waits for it to exit, and the loopback server answers
only after that), fills in the page's form with httpx and posts the code to the loopback server.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
import webbrowser
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import pytest
from azure.ai.ml import MLClient
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import InteractiveBrowserCredential

from contract.conftest import RG, SUB, Admin, Server, _close_connections

pytestmark = pytest.mark.contract

SCOPE = "https://management.azure.com/.default"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
HELPER = Path(__file__).with_name("browser_helper.py")
# Seconds get_token waits for the browser: a broken sign-in fails the test this fast, never hangs.
SIGN_IN_TIMEOUT_S = 30
HELPER_WAIT_S = 60.0
UPN = "dana@contoso.example"
PASSWORD = "interactive sign-in 0123"


@dataclass(frozen=True)
class Browser:
    log: Path
    cookies: Path

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else "<the browser helper never ran>"

    def wait(self, runs: int = 1) -> str:
        """The helper's log once it has finished `runs` sign-ins (it stops on its own within its
        HTTP timeouts)."""
        deadline = time.monotonic() + HELPER_WAIT_S
        while sum(self.output().count(mark) for mark in ("DONE", "FAILED")) < runs:
            if time.monotonic() > deadline:
                pytest.fail(f"the browser helper did not finish:\n{self.output()}")
            time.sleep(0.1)
        return self.output()

    def jar(self) -> httpx.Cookies:
        """The helper's cookie jar (what the browser keeps between sign-ins)."""
        jar = httpx.Cookies()
        for name, value, domain, path in json.loads(self.cookies.read_text()):
            jar.set(name, value, domain=domain, path=path)
        return jar

    def keep(self, jar: httpx.Cookies) -> None:
        self.cookies.write_text(json.dumps([[c.name, c.value, c.domain, c.path] for c in jar.jar]))

    def visits(self) -> list[str]:
        """One line per authorize page the helper opened (with whether it showed the form)."""
        return [line for line in self.output().splitlines() if line.startswith("GET authorize")]


@pytest.fixture(scope="module")
def tenant(world: Admin) -> str:
    return str(world.ok("GET", "/tenants")["value"][0]["tenantId"])


@pytest.fixture(scope="module")
def user(world: Admin) -> str:
    """A user with a password and Contributor at the subscription; its object id."""
    body = {"properties": {"displayName": "Dana", "passwordProfile": {"password": PASSWORD}}}
    object_id = str(
        world.ok("PUT", f"/providers/Microsoft.MaaS/users/{UPN}", body)["properties"]["principalId"]
    )
    scope = f"/subscriptions/{SUB}"
    role = f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}"
    world.ok(
        "PUT",
        f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
        {"properties": {"roleDefinitionId": role, "principalId": object_id}},
    )
    return object_id


@pytest.fixture
def browser(tmp_path: Path, maas_server: Server, user: str, client_env: None) -> Iterator[Browser]:
    """`BROWSER` set to a launcher of the helper, and `webbrowser` made to read it again."""
    launcher = tmp_path / "maas-test-browser"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{HELPER}" "$@"\n')
    launcher.chmod(0o755)
    found = Browser(log=tmp_path / "browser.log", cookies=tmp_path / "cookies.json")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BROWSER", str(launcher))
        patch.setenv("MAAS_TEST_BROWSER_USER", UPN)
        patch.setenv("MAAS_TEST_BROWSER_PASSWORD", PASSWORD)
        patch.setenv("MAAS_TEST_BROWSER_CA", str(maas_server.ca))
        patch.setenv("MAAS_TEST_BROWSER_LOG", str(found.log))
        patch.setenv("MAAS_TEST_BROWSER_COOKIES", str(found.cookies))
        patch.setattr(webbrowser, "_tryorder", None)  # read BROWSER again at the next open
        patch.setattr(webbrowser, "_browsers", {})
        yield found


def _credential(maas_server: Server, tenant: str) -> InteractiveBrowserCredential:
    return InteractiveBrowserCredential(
        tenant_id=tenant,
        authority=maas_server.url,
        disable_instance_discovery=True,
        timeout=SIGN_IN_TIMEOUT_S,
    )


def test_interactive_browser_credential_signs_in_through_the_page(
    browser: Browser, maas_server: Server, world: Admin, tenant: str, user: str
) -> None:
    credential = _credential(maas_server, tenant)
    try:
        token = credential.get_token(SCOPE)
    except Exception as exc:
        pytest.fail(
            f"get_token failed: {exc!r}\nbrowser helper:\n{browser.output()}\nserver:\n{maas_server.output()}"
        )
    assert token.expires_on > time.time() + 3000
    claims = jwt.decode(token.token, options={"verify_signature": False})
    assert (
        claims["aud"] == "https://management.azure.com"
        and claims["iss"] == f"{maas_server.url}/{tenant}/v2.0"
    )
    assert (claims["tid"], claims["oid"], claims["idtyp"]) == (tenant, user, "user")
    assert claims["upn"] == UPN
    assert browser.visits() == ["GET authorize -> 200, password form: True"], browser.output()
    assert "redirect to loopback -> 200" in browser.wait()

    # the token is the user's: Contributor at the subscription lists its resource groups
    groups = httpx.get(
        f"{maas_server.url}/subscriptions/{SUB}/resourcegroups",
        params={"api-version": "2021-04-01"},
        headers={"Authorization": f"Bearer {token.token}"},
        verify=str(maas_server.ca),
    )
    assert groups.status_code == 200, groups.text
    assert "rg-contract" in [group["name"] for group in groups.json()["value"]]
    # and azure-ai-ml's MLClient, on the same credential, lists a workspace's endpoints
    client = MLClient(credential, SUB, RG, world.workspace("ws-browser"), enable_telemetry=False)
    try:
        assert list(client.serverless_endpoints.list()) == []
    finally:
        _close_connections(client)

    # the next get_token is served from MSAL's cache: no browser
    assert credential.get_token(SCOPE).token == token.token
    # a claims challenge makes MSAL redeem its refresh token: a new access token, still no browser
    challenge = json.dumps({"access_token": {"nbf": {"essential": True, "value": str(int(time.time()))}}})
    renewed = credential.get_token(SCOPE, claims=challenge)
    assert renewed.token != token.token
    assert jwt.decode(renewed.token, options={"verify_signature": False})["oid"] == user
    assert len(browser.visits()) == 1, browser.output()


def test_a_second_sign_in_in_the_same_browser_needs_no_password(
    browser: Browser, maas_server: Server, tenant: str, user: str
) -> None:
    """The page's session cookie (kept in the helper's cookie jar between runs, as a browser
    keeps it) gives a second credential, a new MSAL cache with no refresh token, its code
    without the form. Signing out in that browser brings the form back."""
    first = _credential(maas_server, tenant).get_token(SCOPE)
    browser.wait()
    second = _credential(maas_server, tenant).get_token(SCOPE)
    assert second.token != first.token
    assert jwt.decode(second.token, options={"verify_signature": False})["oid"] == user
    assert browser.visits() == [
        "GET authorize -> 200, password form: True",
        "GET authorize -> 200, password form: False",  # the form_post page, at once
    ], browser.output()
    browser.wait(runs=2)
    with httpx.Client(verify=str(maas_server.ca), cookies=browser.jar()) as http:
        out = http.get(f"{maas_server.url}/{tenant}/oauth2/v2.0/logout")
        assert out.status_code == 200 and "Signed out" in out.text
        cleared = out.headers["set-cookie"]
        assert cleared.startswith('maas_session=""') and "Secure" in cleared and "HttpOnly" in cleared
        browser.keep(http.cookies)
    _credential(maas_server, tenant).get_token(SCOPE)
    assert browser.visits()[-1] == "GET authorize -> 200, password form: True", browser.output()


def test_a_wrong_password_never_completes_and_times_out(
    browser: Browser, maas_server: Server, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page re-renders with its alert and sends no code; get_token gives up after its
    timeout instead of waiting for ever."""
    monkeypatch.setenv("MAAS_TEST_BROWSER_PASSWORD", "not the password")
    credential = InteractiveBrowserCredential(
        tenant_id=tenant, authority=maas_server.url, disable_instance_discovery=True, timeout=5
    )
    with pytest.raises(ClientAuthenticationError, match="Timed out"):
        credential.get_token(SCOPE)
    assert "password is incorrect" in browser.wait(), browser.output()
