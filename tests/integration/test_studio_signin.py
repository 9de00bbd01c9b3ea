"""Studio's sign-in (issue 14 item 1), through HTTP as a browser without JavaScript drives it:
the Studio URL → /studio/signin → the server's own /authorize page → /studio/auth/callback →
the page asked for; state checked, the session cookie's attributes, sign-out, CSRF, a disabled
user stopped at once, and every Studio URL leading to sign-in first when signed out."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from conftest import ADMIN_TOKEN
from maas.controlplane.domain.signin import STUDIO_CLIENT_ID
from maas.core.settings import Settings
from maas.server.app import create_server_app
from maas.server.bootstrap import prepare
from support.api import Api
from support.signin_page import read_page
from support.studio import csrf_of, follow, parse, sign_in, start_sign_in

USERS = "/providers/Microsoft.MaaS/users"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
PASSWORD = "correct horse battery"
ALICE = "alice@contoso.example"


def _alice(api: Api) -> str:
    body = {"properties": {"displayName": "Alice", "passwordProfile": {"password": PASSWORD}}}
    object_id = str(api.ok(api.put(f"{USERS}/{ALICE}", body), 201)["properties"]["principalId"])
    api.ok(api.assign("", object_id, READER), 201)
    return object_id


def _signed_out(client: TestClient, url: str) -> None:
    """`url` leads to Studio's sign-in before anything else (a trailing slash is dropped first)."""
    answer = client.get(url, follow_redirects=False)
    if answer.status_code == 307 and url.endswith("/"):
        answer = client.get(url.rstrip("/"), follow_redirects=False)
    assert answer.status_code == 302, (url, answer.status_code, answer.text)
    assert answer.headers["location"].startswith("/studio/signin?next="), answer.headers["location"]


def test_the_sign_in_round_trip_lands_on_the_page_asked_for(client: TestClient) -> None:
    _, hops = start_sign_in(client, "/studio/catalog?q=llama")
    assert hops[0].location == "/studio/signin?next=/studio/catalog%3Fq%3Dllama"
    authorize = urlsplit(hops[-1].location)
    query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert authorize.path.endswith("/oauth2/v2.0/authorize")
    assert query["client_id"] == STUDIO_CLIENT_ID
    assert query["redirect_uri"] == "http://testserver/studio/auth/callback"
    assert query["response_type"] == "code" and query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43 and query["state"]

    client.cookies.clear()
    landed = sign_in(client, "admin", ADMIN_TOKEN, "/studio/catalog?q=llama")
    page = parse(landed.text)
    assert "Model catalog" in page.links and "admin" in page.text
    assert 'value="llama"' in landed.text  # the query survived the round trip
    # Signed in: /studio/signin goes straight on, and the sign-in page's SSO skips the password.
    assert client.get("/studio/signin?next=/studio", follow_redirects=False).headers["location"] == "/studio"


def test_the_session_cookie_is_httponly_lax_and_secure_only_under_https(
    client: TestClient, settings: Settings
) -> None:
    page, _ = start_sign_in(client)
    form = read_page(page.text)
    answer = client.post(
        form.action, data=form.fields | {"username": "admin", "password": ADMIN_TOKEN}, follow_redirects=False
    )
    location = urlsplit(answer.headers["location"])
    callback = client.get(f"{location.path}?{location.query}", follow_redirects=False)
    assert callback.status_code == 302 and callback.headers["location"] == "/studio"
    studio_cookie = [c for c in callback.headers.get_list("set-cookie") if c.startswith("maas_studio=")]
    assert len(studio_cookie) == 1
    attributes = {part.strip().split("=")[0].lower() for part in studio_cookie[0].split(";")}
    assert {"httponly", "path"} <= attributes and "secure" not in attributes
    assert "samesite=lax" in studio_cookie[0].lower() and "max-age" not in attributes
    assert len(studio_cookie[0].split(";")[0].removeprefix("maas_studio=")) == 43  # opaque, 32 bytes

    secure = settings.model_copy(update={"public_url": "https://testserver"})
    with TestClient(create_server_app(secure), base_url="https://testserver") as tls:
        signin = tls.get("/studio/signin", follow_redirects=False)
        state_cookie = signin.headers["set-cookie"].lower()
        assert "maas_studio_state=" in state_cookie and "secure" in state_cookie
        assert "max-age=600" in state_cookie and "httponly" in state_cookie
        assert (
            "redirect_uri=https%3A%2F%2Ftestserver%2Fstudio%2Fauth%2Fcallback" in signin.headers["location"]
        )


def test_a_callback_whose_state_is_not_this_browsers_is_refused(client: TestClient) -> None:
    page, _ = start_sign_in(client)
    form = read_page(page.text)
    answer = client.post(
        form.action, data=form.fields | {"username": "admin", "password": ADMIN_TOKEN}, follow_redirects=False
    )
    callback = urlsplit(answer.headers["location"])
    query = {k: v[0] for k, v in parse_qs(callback.query).items()}

    forged = client.get(
        "/studio/auth/callback", params=query | {"state": "someone-elses.L3N0dWRpbw"}, follow_redirects=False
    )
    assert forged.status_code == 400
    assert "did not start in this browser" in " ".join(parse(forged.text).alerts)
    assert "maas_studio=" not in forged.headers.get("set-cookie", "")

    state_cookie = client.cookies.get("maas_studio_state")
    client.cookies.delete("maas_studio_state")
    assert client.get("/studio/auth/callback", params=query).status_code == 400  # no cookie: refused
    client.cookies.set("maas_studio_state", state_cookie or "")

    good = client.get("/studio/auth/callback", params=query, follow_redirects=False)
    assert good.status_code == 302 and good.headers["location"] == "/studio"
    replayed = client.get("/studio/auth/callback", params=query, follow_redirects=False)
    assert replayed.status_code == 400 and "could not be completed" in replayed.text  # a code works once

    assert client.get("/studio", follow_redirects=False).status_code == 200


def test_an_error_from_authorize_is_shown_in_words(client: TestClient) -> None:
    _, hops = start_sign_in(client)
    state = parse_qs(urlsplit(hops[-1].location).query)["state"][0]
    answer = client.get(
        "/studio/auth/callback",
        params={
            "state": state,
            "error": "login_required",
            "error_description": "No user is <b>signed</b> in.",
        },
    )
    assert answer.status_code == 400
    assert "No user is <b>signed</b> in." in parse(answer.text).alerts[0]
    assert "<b>" not in answer.text  # escaped


def test_a_wrong_password_shows_the_alert_and_signs_in_no_one(client: TestClient) -> None:
    page, _ = start_sign_in(client)
    form = read_page(page.text)
    answer = client.post(form.action, data=form.fields | {"username": "admin", "password": "wrong"})
    assert answer.status_code == 400
    assert "Your account or password is incorrect." in read_page(answer.text).alert
    _signed_out(client, "/studio")


def test_next_never_leaves_studio(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/studio", "/docs", "/studio/signin", "/studio\\x"):
        _, hops = start_sign_in(client, f"/studio/signin?next={target}")
        state = parse_qs(urlsplit(hops[-1].location).query)["state"][0]
        client.cookies.clear()
        assert state.endswith(".L3N0dWRpbw"), target  # base64url("/studio")


@pytest.mark.parametrize(
    "url",
    [
        "/studio",
        "/studio/",
        "/studio/catalog",
        "/studio/nonexistent",
        "/studio/catalog/azureml/x",
        "/studio/deploy",
    ],
)
def test_every_studio_url_leads_to_sign_in_first(client: TestClient, url: str) -> None:
    _signed_out(client, url)


def test_a_post_without_a_session_leads_to_sign_in_too(client: TestClient) -> None:
    answer = client.post("/studio/nonexistent", data={"x": "1"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/studio/signin")
    answer = client.post("/studio/signout", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/studio/signin")


def test_sign_out_ends_both_sessions_and_every_url_asks_to_sign_in_again(client: TestClient) -> None:
    landed = sign_in(client, "admin", ADMIN_TOKEN)
    token = csrf_of(landed.text)
    out = client.post("/studio/signout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    logout = urlsplit(out.headers["location"])
    assert logout.path.endswith("/oauth2/v2.0/logout")
    assert parse_qs(logout.query)["post_logout_redirect_uri"] == ["http://testserver/studio"]
    assert "maas_studio=" in out.headers["set-cookie"]  # cleared

    page, hops = follow(client, out.headers["location"])
    assert [urlsplit(h.location).path for h in hops][:2] == ["/studio", "/studio/signin"]
    assert "password" in read_page(page.text).fields  # the sign-in page's own session ended too
    for url in ("/studio", "/studio/catalog", "/studio/nonexistent", "/studio/workspace"):
        _signed_out(client, url)


def test_sign_out_and_other_posts_need_the_csrf_token(client: TestClient) -> None:
    landed = sign_in(client, "admin", ADMIN_TOKEN)
    refused = client.post("/studio/signout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    assert "did not come from your Studio session" in " ".join(parse(refused.text).alerts)
    assert client.post("/studio/signout", follow_redirects=False).status_code == 403
    assert client.post("/studio/workspace", data={"sub": "x"}, follow_redirects=False).status_code == 403
    assert client.get("/studio", follow_redirects=False).status_code == 200  # still signed in
    # The htmx way: the token in the X-CSRF-Token header (hx-headers on <body>).
    header = {"X-CSRF-Token": csrf_of(landed.text), "HX-Request": "true"}
    answer = client.post("/studio/signout", headers=header, follow_redirects=False)
    assert answer.status_code == 200 and "/oauth2/v2.0/logout" in answer.headers["HX-Redirect"]
    _signed_out(client, "/studio")


def test_a_disabled_user_is_stopped_at_once(client: TestClient, api: Api) -> None:
    _alice(api)
    landed = sign_in(client, ALICE, PASSWORD)
    assert ALICE in landed.text
    api.ok(api.put(f"{USERS}/{ALICE}", {"properties": {"accountEnabled": False}}), 200)
    _signed_out(client, "/studio")
    api.ok(api.put(f"{USERS}/{ALICE}", {"properties": {"accountEnabled": True}}), 200)
    _signed_out(client, "/studio")  # enabling again does not revive the session


def test_a_studio_cookie_does_not_open_the_sign_in_pages_session(client: TestClient) -> None:
    sign_in(client, "admin", ADMIN_TOKEN)
    studio_value = client.cookies.get("maas_studio")
    client.cookies.clear()
    client.cookies.set("maas_session", studio_value or "")
    page, _ = start_sign_in(client)
    assert "password" in read_page(page.text).fields


def test_the_authorize_endpoint_accepts_studio_only_with_its_own_redirect_uri(client: TestClient) -> None:
    _, hops = start_sign_in(client)
    parts = urlsplit(hops[-1].location)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    for bad in (
        "http://localhost:8400",
        "http://testserver/studio/other",
        "https://evil.example/studio/auth/callback",
    ):
        answer = client.get(parts.path, params=query | {"redirect_uri": bad})
        assert answer.status_code == 400 and "AADSTS50011" in answer.text, bad


def test_unknown_pages_after_sign_in_are_studio_not_found_pages(client: TestClient) -> None:
    sign_in(client, "admin", ADMIN_TOKEN)
    for url in ("/studio/nonexistent", "/studio/no/such/page?model=x"):
        answer = client.get(url)
        assert answer.status_code == 404
        page = parse(answer.text)
        assert "Model catalog" in page.links and "Page not found" in page.text
        assert answer.headers["content-type"].startswith("text/html")


def test_the_root_sends_browsers_to_studio_and_json_clients_keep_their_404(client: TestClient) -> None:
    browser = client.get("/", headers={"Accept": "text/html,application/xhtml+xml"}, follow_redirects=False)
    assert browser.status_code == 302 and browser.headers["location"] == "/studio"
    api = client.get("/", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.json()["error"]["code"] == "NotFound"


def test_signing_in_works_on_a_fresh_server_with_a_loopback_base(settings: Settings) -> None:
    """With a loopback base URL, a browser on localhost comes back to localhost (its cookies
    are there), and the first-start admin signs in with the admin token as password."""
    loopback = settings.model_copy(update={"public_url": "http://127.0.0.1:8000"})
    prepare(loopback)
    with TestClient(create_server_app(loopback), base_url="http://localhost:8000") as browser:
        _, hops = start_sign_in(browser)
        redirect = parse_qs(urlsplit(hops[-1].location).query)["redirect_uri"][0]
        assert redirect == "http://localhost:8000/studio/auth/callback"
        browser.cookies.clear()
        assert "admin" in sign_in(browser, "admin", ADMIN_TOKEN).text
