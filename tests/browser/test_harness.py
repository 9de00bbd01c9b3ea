"""The browser harness proves itself on pages that exist without Studio: the platform's sign-in
page (what `az login` opens), driven by labels and roles as a person would, checked by axe at
desktop and phone size; and /docs (Swagger UI), which must load with no request leaving
127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from playwright.sync_api import Page, Route, expect

from support.browser import (
    ADMIN_TOKEN,
    assert_accessible,
    assert_offline,
    record_of,
    screenshot,
    sign_in,
)
from support.server import RunningServer

CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"  # Azure CLI's public client id
REDIRECT = "http://localhost:8400"  # the CLI's loopback redirect URI
SCOPE = "https://management.azure.com/.default offline_access openid profile"


def _authorize_url(server: RunningServer, tenant_id: str, state: str) -> tuple[str, str]:
    """An authorize URL as `az login` builds it (PKCE S256), and its code verifier."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    query = {
        "client_id": CLI,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "prompt": "select_account",
    }
    return f"{server.url}/{tenant_id}/oauth2/v2.0/authorize?{urlencode(query)}", verifier


def _loopback(page: Page) -> None:
    """Stand in for the CLI's loopback listener: answer the redirect URI in the browser."""

    def answer(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body="<title>Signed in</title>Signed in")

    page.route(lambda url: url.startswith(REDIRECT), answer)


def test_sign_in_page_rejects_a_wrong_password_and_redirects_with_a_code(
    page: Page, server: RunningServer, tenant_id: str
) -> None:
    url, verifier = _authorize_url(server, tenant_id, "state-1")
    _loopback(page)

    sign_in(page, url, "admin", "not-the-password")
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Your account or password is incorrect.")
    assert urlsplit(page.url).path == f"/{tenant_id}/oauth2/v2.0/authorize"
    expect(page.get_by_label("User name", exact=True)).to_have_value("admin")  # kept for the retry

    with page.expect_request(lambda request: request.url.startswith(REDIRECT)) as redirected:
        sign_in(page, None, "admin", ADMIN_TOKEN)
    answer = parse_qs(urlsplit(redirected.value.url).query)
    assert answer["state"] == ["state-1"] and answer["code"][0]
    expect(page).to_have_title("Signed in")

    # the code is a real one: the token endpoint redeems it with the verifier
    form = {
        "grant_type": "authorization_code",
        "client_id": CLI,
        "code": answer["code"][0],
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "scope": SCOPE,
    }
    token = httpx.post(f"{server.url}/{tenant_id}/oauth2/v2.0/token", data=form, timeout=30)
    assert token.status_code == 200, token.text
    assert token.json()["access_token"]


def test_sign_in_page_has_no_serious_accessibility_violation(
    page: Page, server: RunningServer, tenant_id: str
) -> None:
    url, _ = _authorize_url(server, tenant_id, "state-2")
    page.goto(url)
    assert_accessible(page, "sign-in page")
    screenshot(page, "sign-in")
    sign_in(page, None, "admin", "not-the-password")
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "sign-in page with an error")


def test_sign_in_page_fits_a_phone(phone_page: Page, server: RunningServer, tenant_id: str) -> None:
    url, _ = _authorize_url(server, tenant_id, "state-3")
    phone_page.goto(url)
    expect(phone_page.get_by_role("button", name="Sign in")).to_be_in_viewport()
    overflow = phone_page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the phone's screen"
    assert_accessible(phone_page, "sign-in page on a phone")


def test_docs_page_loads_with_no_request_leaving_the_machine(page: Page, server: RunningServer) -> None:
    page.goto("/docs")
    expect(
        page.get_by_role("heading", name="MaaS control plane")
    ).to_be_visible()  # rendered from /openapi.json
    page.wait_for_load_state("networkidle")
    assert any(urlsplit(url).path == "/openapi.json" for url in record_of(page).requests)
    assert_offline(page)
