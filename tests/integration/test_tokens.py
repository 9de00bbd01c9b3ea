"""The token endpoint (issue 13 item 2): discovery, JWKS, client credentials, signed JWTs that
`authenticate` accepts beside static tokens, Entra-shaped errors, throttling and key rotation;
on SQLite and PostgreSQL, through the HTTP API."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from typing import Any

import jwt
from fastapi.testclient import TestClient
from sqlalchemy import update

from maas.controlplane.domain.tokens import RETAIN_AFTER_RETIRED
from maas.controlplane.store import tables as t
from maas.controlplane.store.database import Database
from maas.core.clock import utcnow
from maas.core.settings import Settings
from support.api import Api

SPS = "/providers/Microsoft.MaaS/servicePrincipals"
KEYS = "/providers/Microsoft.MaaS/signingKeys"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
SCOPE = "https://management.azure.com/.default"
BASE = "http://testserver"


def _tenant(api: Api) -> str:
    return str(api.ok(api.get("/tenants"), 200)["value"][0]["tenantId"])


def _service_principal(api: Api, role: str | None = READER) -> tuple[str, str, str]:
    """A service principal with a client secret (and a role at `/`): app id, secret, object id."""
    app_id = str(uuid.uuid4())
    created = api.ok(api.put(f"{SPS}/{app_id}", {"properties": {"displayName": "bot"}}), 201)
    object_id = created["properties"]["principalId"]
    secret = api.ok(api.post(f"{SPS}/{app_id}/addPassword", {}), 200)["secretText"]
    if role is not None:
        api.ok(api.assign("", object_id, role), 201)
    return app_id, secret, object_id


def _token(client: TestClient, tenant: str, **form: str) -> Any:
    return client.post(f"/{tenant}/oauth2/v2.0/token", data=form)


def _credentials(client: TestClient, tenant: str, app_id: str, secret: str) -> Any:
    return _token(
        client, tenant, grant_type="client_credentials", client_id=app_id, client_secret=secret, scope=SCOPE
    )


def _jwks(client: TestClient, tenant: str) -> dict[str, Any]:
    keys = client.get(f"/{tenant}/discovery/v2.0/keys").json()["keys"]
    return {key["kid"]: key for key in keys}


def test_discovery_names_the_endpoints_msal_reads(api: Api, client: TestClient) -> None:
    tenant = _tenant(api)
    for segment in (tenant, tenant.upper(), "organizations"):
        doc = client.get(f"/{segment}/v2.0/.well-known/openid-configuration")
        assert doc.status_code == 200, doc.text
        body = doc.json()
        assert body["issuer"] == f"{BASE}/{tenant}/v2.0"
        assert body["token_endpoint"] == f"{BASE}/{tenant}/oauth2/v2.0/token"
        assert body["authorization_endpoint"] == f"{BASE}/{tenant}/oauth2/v2.0/authorize"
        assert body["jwks_uri"] == f"{BASE}/{tenant}/discovery/v2.0/keys"
    unknown = client.get(f"/{uuid.uuid4()}/v2.0/.well-known/openid-configuration")
    assert unknown.status_code == 400 and unknown.json()["error_codes"] == [90002]
    keys = list(_jwks(client, tenant).values())
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256"
    assert "d" not in keys[0]  # public half only


def test_client_credentials_give_a_signed_jwt_that_management_calls_accept(
    api: Api, client: TestClient
) -> None:
    tenant = _tenant(api)
    app_id, secret, object_id = _service_principal(api)
    answer = _credentials(client, tenant, app_id, secret)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    token = body["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    public = jwt.PyJWK(_jwks(client, tenant)[kid])
    claims = jwt.decode(
        token,
        public,
        algorithms=["RS256"],
        audience="https://management.azure.com",
        issuer=f"{BASE}/{tenant}/v2.0",
    )
    assert claims["tid"] == tenant and claims["oid"] == object_id == claims["sub"]
    assert claims["appid"] == app_id and claims["exp"] - claims["iat"] == 3600
    # the token is a bearer token for management calls, with the principal's role (Reader at /)
    as_sp = api.as_token(token)
    api.ok(as_sp.get("/subscriptions"), 200)
    assert as_sp.put(f"{SPS}/{uuid.uuid4()}", {"properties": {"displayName": "x"}}).status_code == 403
    # HTTP Basic client authentication works too
    basic = base64.b64encode(f"{app_id}:{secret}".encode()).decode()
    by_basic = client.post(
        f"/{tenant}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": SCOPE},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert by_basic.status_code == 200, by_basic.text
    # disabling the service principal stops its token at once
    api.ok(api.put(f"{SPS}/{app_id}", {"properties": {"accountEnabled": False}}), 200)
    refused = as_sp.get("/subscriptions")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert _credentials(client, tenant, app_id, secret).status_code == 401
    # static tokens keep working
    api.ok(api.get("/subscriptions"), 200)


def test_bad_requests_get_entra_errors(api: Api, client: TestClient) -> None:
    tenant = _tenant(api)
    app_id, secret, _ = _service_principal(api, role=None)
    wrong = _credentials(client, tenant, app_id, secret + "x")
    assert wrong.status_code == 401
    body = wrong.json()
    assert body["error"] == "invalid_client" and body["error_codes"] == [7000215]
    assert body["error_description"].startswith("AADSTS7000215: ")
    assert secret not in wrong.text
    unknown = _credentials(client, tenant, str(uuid.uuid4()), secret)
    assert unknown.status_code == 401 and unknown.json()["error_codes"] == [7000215]
    scope = _token(
        client, tenant, grant_type="client_credentials", client_id=app_id, client_secret=secret, scope="x"
    )
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"
    other = _token(
        client,
        tenant,
        grant_type="client_credentials",
        client_id=app_id,
        client_secret=secret,
        scope="https://graph.microsoft.com/.default",
    )
    assert other.status_code == 400 and other.json()["error_codes"] == [500011]
    grant = _token(client, tenant, grant_type="password", client_id=app_id)
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    missing = _token(client, tenant, grant_type="client_credentials", scope=SCOPE)
    assert missing.status_code == 400 and missing.json()["error_codes"] == [900144]
    json_body = client.post(f"/{tenant}/oauth2/v2.0/token", json={"grant_type": "client_credentials"})
    assert json_body.status_code == 400 and json_body.json()["error"] == "invalid_request"
    long_id = _credentials(client, tenant, "x" * 65, secret)
    assert long_id.status_code == 400 and long_id.json()["error_codes"] == [700016]
    forged = api.as_token("eyJhbGciOiJub25lIn0.eyJvaWQiOiJ4In0.")
    assert forged.get("/subscriptions").status_code == 401


def test_failed_secrets_are_throttled_per_client_id(api: Api, client: TestClient) -> None:
    tenant = _tenant(api)
    app_id, secret, _ = _service_principal(api)
    for _ in range(10):
        assert _credentials(client, tenant, app_id, "wrong").status_code == 401
    throttled = _credentials(client, tenant, app_id, secret)  # even the right secret, for now
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
    other_id, other_secret, _ = _service_principal(api)
    assert _credentials(client, tenant, other_id, other_secret).status_code == 200


def test_rotation_keeps_old_tokens_valid_until_their_key_is_dropped(
    api: Api, client: TestClient, settings: Settings
) -> None:
    tenant = _tenant(api)
    app_id, secret, _ = _service_principal(api)
    old = _credentials(client, tenant, app_id, secret).json()["access_token"]
    old_kid = jwt.get_unverified_header(old)["kid"]
    rotated = api.ok(api.post(f"{KEYS}/rotate"), 200)
    new_kid = rotated["name"]
    assert new_kid != old_kid and rotated["properties"]["active"] is True
    assert set(_jwks(client, tenant)) == {old_kid, new_kid}
    listed = api.ok(api.get(KEYS), 200)["value"]
    assert [(k["name"], k["properties"]["active"]) for k in listed] == [(new_kid, True), (old_kid, False)]
    new = _credentials(client, tenant, app_id, secret).json()["access_token"]
    assert jwt.get_unverified_header(new)["kid"] == new_kid
    api.ok(api.as_token(old).get("/subscriptions"), 200)  # the retired key still verifies
    # once its tokens must have expired, the next rotation drops the old key
    database = Database(settings.resolved_database_url)
    try:
        with database.write() as connection:
            long_ago = utcnow() - RETAIN_AFTER_RETIRED - timedelta(minutes=1)
            connection.execute(
                update(t.signing_keys).where(t.signing_keys.c.kid == old_kid).values(retired_at=long_ago)
            )
    finally:
        database.dispose()
    third = api.ok(api.post(f"{KEYS}/rotate"), 200)["name"]
    assert set(_jwks(client, tenant)) == {new_kid, third}
    assert api.as_token(old).get("/subscriptions").status_code == 401
    api.ok(api.as_token(new).get("/subscriptions"), 200)
    # a reader may not rotate
    assert api.as_token(new).post(f"{KEYS}/rotate").status_code == 403
