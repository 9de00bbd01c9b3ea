"""A user's interactive sign-in (issue 13 item 2): the sign-in page, the authorization code with
PKCE, the refresh token and their errors, through the HTTP API as MSAL drives them."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from fastapi.testclient import TestClient
from sqlalchemy import select

from maas.controlplane.store import tables as t
from maas.controlplane.store.database import Database
from maas.core.settings import Settings
from maas.server.app import create_server_app
from support.api import Api
from support.signin_page import read_page

USERS = "/providers/Microsoft.MaaS/users"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
REDIRECT = "http://localhost:8400"
SCOPE = "https://management.azure.com/.default offline_access openid profile"
PASSWORD = "correct horse battery"


def _tenant(api: Api) -> str:
    return str(api.ok(api.get("/tenants"), 200)["value"][0]["tenantId"])


def _user(api: Api, upn: str = "alice@contoso.example") -> str:
    body = {"properties": {"displayName": "Alice", "passwordProfile": {"password": PASSWORD}}}
    object_id = str(api.ok(api.put(f"{USERS}/{upn}", body), 201)["properties"]["principalId"])
    api.ok(api.assign("", object_id, READER), 201)
    return object_id


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def _params(challenge: str, **extra: str) -> dict[str, str]:
    return {
        "client_id": CLI,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "client_info": "1",
        "prompt": "select_account",
    } | extra


def _sign_in(client: TestClient, tenant: str, params: dict[str, str], password: str = PASSWORD) -> Any:
    """A fresh browser (no cookies, so no session) opens the page and signs in."""
    client.cookies.clear()
    page = client.get(f"/{tenant}/oauth2/v2.0/authorize", params=params)
    assert page.status_code == 200, page.text
    form = read_page(page.text)
    assert form.method == "post" and "password" in form.fields
    fields = form.fields | {"username": "Alice@contoso.example", "password": password}
    return client.post(form.action, data=fields, follow_redirects=False)


def _code(client: TestClient, tenant: str, challenge: str, **extra: str) -> str:
    answer = _sign_in(client, tenant, _params(challenge, **extra))
    assert answer.status_code == 302, answer.text
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert answer.headers["location"].startswith(REDIRECT + "?") and query["state"] == ["st-1"]
    return query["code"][0]


def _redeem(client: TestClient, tenant: str, code: str, verifier: str, **extra: str) -> Any:
    form = {
        "grant_type": "authorization_code",
        "client_id": CLI,
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "scope": SCOPE,
        "client_info": "1",
    }
    return client.post(f"/{tenant}/oauth2/v2.0/token", data=form | extra)


def _refresh(client: TestClient, tenant: str, token: str) -> Any:
    form = {"grant_type": "refresh_token", "client_id": CLI, "refresh_token": token, "scope": SCOPE}
    return client.post(f"/{tenant}/oauth2/v2.0/token", data=form)


def _sign_ins(settings: Settings) -> list[tuple[str, str, str]]:
    """(caller, principal id, status) of the activity log's sign-in events."""
    database = Database(settings.resolved_database_url)
    try:
        with database.read() as connection:
            log = t.activity_log.c
            query = select(log.caller, log.principal_id, log.status).where(
                log.action == "Microsoft.MaaS/signIn/action"
            )
            return [(row[0], row[1], row[2]) for row in connection.execute(query)]
    finally:
        database.dispose()


def _codes(answer: Any) -> list[int]:
    assert answer.status_code == 400, answer.text
    return list(answer.json()["error_codes"])


def test_code_with_pkce_gives_the_tokens_msal_reads(api: Api, client: TestClient, settings: Settings) -> None:
    tenant, object_id = _tenant(api), _user(api)
    verifier, challenge = _pkce()
    code = _code(client, tenant, challenge)
    answer = _redeem(client, tenant, code, verifier)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://management.azure.com" and claims["oid"] == object_id
    assert claims["tid"] == tenant and claims["appid"] == CLI and claims["idtyp"] == "user"
    id_claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert id_claims["aud"] == CLI and id_claims["nonce"] == "n-1" and id_claims["oid"] == object_id
    assert id_claims["preferred_username"] == "alice@contoso.example" and id_claims["name"] == "Alice"
    assert id_claims["iss"] == f"http://testserver/{tenant}/v2.0"
    info = json.loads(base64.urlsafe_b64decode(body["client_info"] + "=="))
    assert info == {"uid": object_id, "utid": tenant}
    assert body["refresh_token"] and body["expires_in"] == 3600
    # the access token is the user's: their role (Reader at /) applies
    as_user = api.as_token(body["access_token"])
    api.ok(as_user.get("/subscriptions"), 200)
    assert as_user.put(f"{USERS}/bob@contoso.example", {"properties": {}}).status_code == 403
    # a code works once
    assert _codes(_redeem(client, tenant, code, verifier)) == [70008]
    # the sign-in is in the activity log
    assert ("Alice@contoso.example", object_id, "Succeeded") in _sign_ins(settings)


def test_a_code_is_bound_to_its_verifier_redirect_uri_and_client(api: Api, client: TestClient) -> None:
    tenant = _tenant(api)
    _user(api)
    verifier, challenge = _pkce()
    wrong_verifier, _ = _pkce()
    assert _codes(_redeem(client, tenant, _code(client, tenant, challenge), wrong_verifier)) == [50148]
    other = "http://localhost:8401"
    assert _codes(
        _redeem(client, tenant, _code(client, tenant, challenge), verifier, redirect_uri=other)
    ) == [50011]
    app = str(uuid.uuid4())
    assert _codes(_redeem(client, tenant, _code(client, tenant, challenge), verifier, client_id=app)) == [
        70008
    ]
    # a failed redemption spends the code too
    code = _code(client, tenant, challenge)
    _redeem(client, tenant, code, wrong_verifier)
    assert _codes(_redeem(client, tenant, code, verifier)) == [70008]
    assert _codes(_redeem(client, tenant, "made-up", verifier)) == [70008]


def test_a_refresh_token_rotates_and_stops_with_the_user(api: Api, client: TestClient) -> None:
    tenant = _tenant(api)
    _user(api)
    verifier, challenge = _pkce()
    first = _redeem(client, tenant, _code(client, tenant, challenge), verifier).json()["refresh_token"]
    renewed = _refresh(client, tenant, first)
    assert renewed.status_code == 200, renewed.text
    body = renewed.json()
    second = body["refresh_token"]
    assert second != first and body["access_token"] and body["client_info"]
    assert _codes(_refresh(client, tenant, first)) == [700082]  # the used one is gone
    api.ok(api.put(f"{USERS}/alice@contoso.example", {"properties": {"accountEnabled": False}}), 200)
    assert _codes(_refresh(client, tenant, second)) == [50057]


def test_a_wrong_password_re_renders_the_page_with_an_alert(
    api: Api, client: TestClient, settings: Settings
) -> None:
    tenant = _tenant(api)
    _user(api)
    _, challenge = _pkce()
    answer = _sign_in(client, tenant, _params(challenge), password="not the password")
    assert answer.status_code == 400 and "location" not in answer.headers
    page = read_page(answer.text)
    assert "password is incorrect" in page.alert and "password" in page.fields
    assert page.fields["username"] == "Alice@contoso.example"
    assert ("Alice@contoso.example", "unknown", "Failed") in _sign_ins(settings)
    # ten failures in a minute lock the user name (and the address) out, even with the password
    for _ in range(9):
        _sign_in(client, tenant, _params(challenge), password="not the password")
    locked = _sign_in(client, tenant, _params(challenge))
    assert locked.status_code == 429 and "location" not in locked.headers
    assert "Too many failed sign-ins" in read_page(locked.text).alert and locked.headers["retry-after"]


def test_a_post_must_come_from_a_page_this_server_rendered(api: Api, client: TestClient) -> None:
    tenant = _tenant(api)
    _user(api)
    _, challenge = _pkce()
    page = read_page(client.get(f"/{tenant}/oauth2/v2.0/authorize", params=_params(challenge)).text)
    forged = page.fields | {"username": "alice@contoso.example", "password": PASSWORD, "state": "swapped"}
    answer = client.post(page.action, data=forged, follow_redirects=False)
    assert answer.status_code == 400 and "location" not in answer.headers
    assert "expired" in read_page(answer.text).alert


def test_form_post_mode_posts_the_code_to_the_redirect_uri(api: Api, client: TestClient) -> None:
    tenant = _tenant(api)
    _user(api)
    verifier, challenge = _pkce()
    answer = _sign_in(client, tenant, _params(challenge, response_mode="form_post"))
    assert answer.status_code == 200, answer.text
    form = read_page(answer.text)
    assert form.action == REDIRECT and form.method == "post" and form.fields["state"] == "st-1"
    assert _redeem(client, tenant, form.fields["code"], verifier).status_code == 200


def test_a_bad_authorize_request_shows_an_error_page(api: Api, client: TestClient) -> None:
    tenant = _tenant(api)
    _, challenge = _pkce()
    cases = {
        "AADSTS50011": {"redirect_uri": "https://evil.example/cb"},
        "AADSTS700016": {"client_id": str(uuid.uuid4())},
        "AADSTS50148": {"code_challenge_method": "plain"},
        "AADSTS90002": {},
    }
    for expected, change in cases.items():
        segment = str(uuid.uuid4()) if expected == "AADSTS90002" else tenant
        answer = client.get(f"/{segment}/oauth2/v2.0/authorize", params=_params(challenge, **change))
        assert answer.status_code == 400 and "location" not in answer.headers
        page = read_page(answer.text)
        assert page.alert.startswith(expected) and "password" not in page.fields, page.alert
    assert (
        client.get(
            f"/{tenant}/oauth2/v2.0/authorize", params=_params(challenge, redirect_uri="http://127.0.0.1:9/x")
        ).status_code
        == 200
    )
    unsupported = client.post(f"/{tenant}/oauth2/v2.0/token", data={"grant_type": "password"})
    assert _codes(unsupported) == [70003]


# -- sessions and cookies (issue 13 item 8) ------------------------------------------------------
SESSION, BROWSER = "maas_session", "maas_browser"


def _set_cookies(answer: Any) -> dict[str, dict[str, str]]:
    """The response's Set-Cookie headers: name -> {"value", and each attribute in lower case}."""
    found: dict[str, dict[str, str]] = {}
    for header in answer.headers.get_list("set-cookie"):
        first, *attributes = [part.strip() for part in header.split(";")]
        name, _, value = first.partition("=")
        found[name] = {"value": value.strip('"')} | {
            key.lower(): rest for key, _, rest in (a.partition("=") for a in attributes)
        }
    return found


def _authorize(client: TestClient, tenant: str, challenge: str, **extra: str) -> Any:
    return client.get(
        f"/{tenant}/oauth2/v2.0/authorize", params=_params(challenge, **extra), follow_redirects=False
    )


def _sso_code(answer: Any) -> str:
    """The code of an authorize answer that skipped the page (a 302 to the redirect URI)."""
    assert answer.status_code == 302, answer.text
    assert answer.headers["location"].startswith(REDIRECT + "?")
    return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]


def _present(client: TestClient, session: str) -> None:
    """Make the browser send this session cookie value (instead of any it has)."""
    client.cookies.delete(SESSION)
    client.cookies.set(SESSION, session)


def _shows_page(answer: Any) -> bool:
    return answer.status_code == 200 and "password" in read_page(answer.text).fields


def test_cookies_are_http_only_lax_and_secure_only_under_tls(
    api: Api, client: TestClient, settings: Settings
) -> None:
    tenant = _tenant(api)
    _user(api)
    _, challenge = _pkce()
    page = _authorize(client, tenant, challenge)
    signed_in = _sign_in(client, tenant, _params(challenge))
    for answer, name in ((page, BROWSER), (signed_in, SESSION)):
        cookie = _set_cookies(answer)[name]
        assert len(cookie["value"]) == 43 and cookie["path"] == "/", cookie
        assert "httponly" in cookie and cookie["samesite"].lower() == "lax", cookie
        assert "secure" not in cookie and "domain" not in cookie and "max-age" not in cookie, cookie
    # the session cookie is opaque: the store keeps its keyed digest, never the value
    value = _set_cookies(signed_in)[SESSION]["value"]
    database = Database(settings.resolved_database_url)
    try:
        with database.read() as connection:
            rows = [dict(row) for row in connection.execute(select(t.signin_sessions)).mappings()]
    finally:
        database.dispose()
    assert len(rows) == 1 and value not in str(rows) and len(rows[0]["digest"]) == 64
    # over https (a proxy in front, or the request's own scheme) the cookies are Secure too
    https = TestClient(client.app, base_url="https://testserver")
    secure_page = _authorize(https, tenant, challenge)
    assert "secure" in _set_cookies(secure_page)[BROWSER]
    form = read_page(secure_page.text)
    fields = form.fields | {"username": "alice@contoso.example", "password": PASSWORD}
    secure_session = _set_cookies(https.post(form.action, data=fields, follow_redirects=False))[SESSION]
    assert "secure" in secure_session and "httponly" in secure_session
    # and under `maas serve --tls` (settings.tls) even when the request reached it as http
    tls = settings.model_copy(update={"tls": True})
    with TestClient(create_server_app(tls)) as tls_client:
        assert "secure" in _set_cookies(_authorize(tls_client, tenant, challenge))[BROWSER]


def test_a_session_signs_in_again_without_the_password(
    api: Api, client: TestClient, settings: Settings
) -> None:
    tenant, object_id = _tenant(api), _user(api)
    _user(api, "bob@contoso.example")
    verifier, challenge = _pkce()
    first = _sign_in(client, tenant, _params(challenge))
    assert first.status_code == 302 and SESSION in _set_cookies(first)
    # the same browser: the code comes at once, no page, and it is the same user's
    code = _sso_code(_authorize(client, tenant, challenge))
    tokens = _redeem(client, tenant, code, verifier).json()
    assert jwt.decode(tokens["access_token"], options={"verify_signature": False})["oid"] == object_id
    assert _sign_ins(settings).count(("alice@contoso.example", object_id, "Succeeded")) == 1  # the SSO one
    # form_post mode and prompt=none take the session too
    posted = read_page(_authorize(client, tenant, challenge, response_mode="form_post").text)
    assert posted.action == REDIRECT and posted.fields["code"] and posted.fields["state"] == "st-1"
    _sso_code(_authorize(client, tenant, challenge, prompt="none"))
    # prompt=login, or a login_hint naming someone else, shows the page
    assert _shows_page(_authorize(client, tenant, challenge, prompt="login"))
    assert _shows_page(_authorize(client, tenant, challenge, login_hint="bob@contoso.example"))
    _sso_code(_authorize(client, tenant, challenge, login_hint="ALICE@contoso.example"))
    # a fresh browser has no session; prompt=none then answers login_required to the redirect URI
    client.cookies.clear()
    assert _shows_page(_authorize(client, tenant, challenge))
    silent = _authorize(client, tenant, challenge, prompt="none")
    assert silent.status_code == 302 and "password" not in silent.text
    query = parse_qs(urlsplit(silent.headers["location"]).query)
    assert query["error"] == ["login_required"] and query["state"] == ["st-1"] and "code" not in query
    assert query["error_description"][0].startswith("AADSTS50058")


def test_signing_in_again_replaces_the_session(api: Api, client: TestClient) -> None:
    tenant = _tenant(api)
    _user(api)
    _, challenge = _pkce()
    old = _set_cookies(_sign_in(client, tenant, _params(challenge)))[SESSION]["value"]
    page = read_page(_authorize(client, tenant, challenge, prompt="login").text)
    fields = page.fields | {"username": "alice@contoso.example", "password": PASSWORD}
    new = _set_cookies(client.post(page.action, data=fields, follow_redirects=False))[SESSION]["value"]
    assert new != old
    _present(client, old)
    assert _shows_page(_authorize(client, tenant, challenge))  # the old one ended


def test_sign_out_ends_the_session_and_clears_the_cookie(api: Api, client: TestClient) -> None:
    tenant = _tenant(api)
    _user(api)
    _, challenge = _pkce()
    session = _set_cookies(_sign_in(client, tenant, _params(challenge)))[SESSION]["value"]
    out = client.get(
        f"/{tenant}/oauth2/v2.0/logout",
        params={"post_logout_redirect_uri": "http://localhost:8400/done", "state": "s-2"},
        follow_redirects=False,
    )
    assert out.status_code == 302 and out.headers["location"] == "http://localhost:8400/done?state=s-2"
    cleared = _set_cookies(out)[SESSION]
    assert cleared["value"] == "" and cleared["max-age"] == "0" and "httponly" in cleared
    assert _shows_page(_authorize(client, tenant, challenge))
    # the server forgot it: the old value, presented again, signs in no one
    _present(client, session)
    assert _shows_page(_authorize(client, tenant, challenge))
    # a redirect URI that is not loopback is not followed: a plain "signed out" page
    _sign_in(client, tenant, _params(challenge))
    elsewhere = client.post(
        f"/{tenant}/oauth2/v2.0/logout",
        data={"post_logout_redirect_uri": "https://evil.example/"},
        follow_redirects=False,
    )
    assert elsewhere.status_code == 200 and "location" not in elsewhere.headers
    assert "Signed out" in elsewhere.text and "not an allowed" in elsewhere.text
    assert _shows_page(_authorize(client, tenant, challenge))
    # with no session at all sign-out still answers; an unknown tenant is Entra's error page
    assert client.get(f"/{tenant}/oauth2/v2.0/logout").status_code == 200
    unknown = client.get(f"/{uuid.uuid4()}/oauth2/v2.0/logout")
    assert unknown.status_code == 400 and read_page(unknown.text).alert.startswith("AADSTS90002")
    discovery = client.get(f"/{tenant}/v2.0/.well-known/openid-configuration").json()
    assert discovery["end_session_endpoint"] == f"http://testserver/{tenant}/oauth2/v2.0/logout"


def test_a_disabled_user_or_a_new_password_ends_the_session(
    api: Api, client: TestClient, settings: Settings
) -> None:
    tenant = _tenant(api)
    _user(api)
    _, challenge = _pkce()
    user = f"{USERS}/alice@contoso.example"
    _sign_in(client, tenant, _params(challenge))
    api.ok(api.put(user, {"properties": {"accountEnabled": False}}), 200)
    refused = _authorize(client, tenant, challenge)
    assert _shows_page(refused) and _set_cookies(refused)[SESSION]["max-age"] == "0"
    api.ok(api.put(user, {"properties": {"accountEnabled": True}}), 200)
    assert _shows_page(_authorize(client, tenant, challenge))  # enabling again does not revive it
    session = _set_cookies(_sign_in(client, tenant, _params(challenge)))[SESSION]["value"]
    api.ok(api.put(user, {"properties": {"passwordProfile": {"password": "a new password 42"}}}), 200)
    _present(client, session)
    assert _shows_page(_authorize(client, tenant, challenge))
    # deleting the user ends it too
    session = _set_cookies(_sign_in(client, tenant, _params(challenge), password="a new password 42"))[
        SESSION
    ]["value"]
    api.ok(api.delete(user), 204)
    _user(api)  # the same name again is someone new
    _present(client, session)
    assert _shows_page(_authorize(client, tenant, challenge))
    # and an expired session signs in no one (and is deleted)
    session = _set_cookies(_sign_in(client, tenant, _params(challenge)))[SESSION]["value"]
    _sso_code(_authorize(client, tenant, challenge))
    database = Database(settings.resolved_database_url)
    try:
        with database.write() as connection:
            connection.execute(t.signin_sessions.update().values(expires_at=datetime.now(UTC) - timedelta(1)))
        _present(client, session)
        assert _shows_page(_authorize(client, tenant, challenge))
        with database.read() as connection:
            assert connection.execute(select(t.signin_sessions)).first() is None
    finally:
        database.dispose()


def test_a_post_needs_the_browser_cookie_its_page_was_rendered_for(api: Api, client: TestClient) -> None:
    """Login CSRF: a cross-site form post carries no SameSite=Lax cookie, and a page the forger
    fetched himself is bound to his own browser cookie, not the victim's."""
    tenant = _tenant(api)
    _user(api)
    _, challenge = _pkce()
    client.cookies.clear()
    page = read_page(_authorize(client, tenant, challenge).text)
    fields = page.fields | {"username": "alice@contoso.example", "password": PASSWORD}
    client.cookies.clear()  # no cookie: what a cross-site post sends
    missing = client.post(page.action, data=fields, follow_redirects=False)
    assert missing.status_code == 400 and "location" not in missing.headers
    assert "sent no sign-in cookie" in read_page(missing.text).alert
    assert SESSION not in _set_cookies(missing) and BROWSER in _set_cookies(missing)  # a retry works
    client.cookies.clear()
    client.cookies.set(BROWSER, "someone-elses-browser-cookie-0123456789abcdef")
    wrong = client.post(page.action, data=fields, follow_redirects=False)
    assert wrong.status_code == 400 and "location" not in wrong.headers
    assert "expired" in read_page(wrong.text).alert and SESSION not in _set_cookies(wrong)
    # the re-rendered page is bound to the cookie this browser has now, so a retry signs in
    retry = read_page(wrong.text)
    done = client.post(retry.action, data=retry.fields | {"password": PASSWORD}, follow_redirects=False)
    assert done.status_code == 302 and SESSION in _set_cookies(done)
