"""A user's interactive sign-in (issue 13 item 2): the sign-in page, the authorization code with
PKCE, the refresh token and their errors, through the HTTP API as MSAL drives them."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from fastapi.testclient import TestClient
from sqlalchemy import select

from maas.controlplane.store import tables as t
from maas.controlplane.store.database import Database
from maas.core.settings import Settings
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
