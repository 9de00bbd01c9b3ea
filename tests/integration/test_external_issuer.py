"""Trusting an external OpenID Connect issuer (issue 13 item 3), against an issuer the test runs:
a real HTTP server on 127.0.0.1 serving its discovery document and JWKS (RSA keys made here),
whose RS256 tokens are signed here with PyJWT. The server fetches both documents over HTTP, as
it would from Entra ID or Keycloak; nothing in the server is patched. On SQLite and PostgreSQL,
through the HTTP API."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from maas.controlplane.services import external_issuer
from maas.controlplane.services.context import Services
from maas.core.settings import Settings
from maas.server.app import create_server_app
from maas.server.bootstrap import prepare
from support.api import Api, World

USERS = "/providers/Microsoft.MaaS/users"
SPS = "/providers/Microsoft.MaaS/servicePrincipals"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
MANAGEMENT = "https://management.azure.com"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ADMIN_TOKEN = "test-admin-token-0123456789"


@cache
def _key(name: str) -> rsa.RSAPrivateKey:
    """RSA keys made once per test run (the issuer's kids are these names)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(kid: str) -> dict[str, Any]:
    public = jwt.algorithms.RSAAlgorithm.to_jwk(_key(kid).public_key(), as_dict=True)
    return {"kty": "RSA", "use": "sig", "kid": kid, "n": public["n"], "e": public["e"]}


class Issuer:
    """An OpenID Connect issuer on 127.0.0.1: `/{tenant}/v2.0/.well-known/openid-configuration`
    and `/{tenant}/discovery/v2.0/keys`, as Entra ID lays them out. `published` is the kids its
    JWKS lists; `mode` makes it misbehave; `hits` counts requests per path."""

    def __init__(self) -> None:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.hits[self.path] += 1
                status, headers, body = issuer.answer(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.root = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = f"{self.root}/{TENANT}/v2.0"
        self.discovery_path = f"/{TENANT}/v2.0/.well-known/openid-configuration"
        self.keys_path = f"/{TENANT}/discovery/v2.0/keys"
        self.published = ["k1"]
        self.mode = "ok"
        self.hits: Counter[str] = Counter()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        json_type = {"Content-Type": "application/json"}
        if path == self.discovery_path:
            if self.mode == "slow":
                time.sleep(1.5)
            if self.mode == "redirect":
                return 302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""
            if self.mode == "broken":
                return 500, {}, b"oops"
            document = {
                "issuer": self.url if self.mode != "other-issuer" else "https://elsewhere.example/v2.0",
                "jwks_uri": self.root + self.keys_path,
                "id_token_signing_alg_values_supported": ["RS256"],
            }
            if self.mode == "metadata-keys":
                document["jwks_uri"] = "http://169.254.169.254/keys"
            return 200, json_type, json.dumps(document).encode()
        if path == self.keys_path:
            return 200, json_type, json.dumps({"keys": [_jwk(kid) for kid in self.published]}).encode()
        return 404, {}, b""

    def token(
        self, kid: str = "k1", *, key: str | None = None, headers: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        """An RS256 token of this issuer: a user's (Entra's claims) unless `claims` say otherwise
        (a claim given as None is left out)."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.url,
            "aud": MANAGEMENT,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "oid": str(uuid.uuid4()),
            "tid": TENANT,
            "name": "Ada Lovelace",
            "preferred_username": "ada@contoso.example",
            "idtyp": "user",
        }
        body |= claims
        body = {name: value for name, value in body.items() if value is not None}
        body["sub"] = body.get("sub", body.get("oid", "subject"))
        return jwt.encode(body, _key(key or kid), algorithm="RS256", headers={"kid": kid, **(headers or {})})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    running = Issuer()
    try:
        yield running
    finally:
        running.close()


@contextmanager
def _server(settings: Settings, **trust: Any) -> Iterator[Api]:
    """The MaaS app with `trust` (trusted_issuer=…, …) added to the test's settings."""
    configured = Settings.model_validate({**settings.model_dump(), **trust})
    prepare(configured)
    with TestClient(create_server_app(configured), raise_server_exceptions=False) as client:
        yield Api(client, ADMIN_TOKEN)


@pytest.fixture
def trusting(settings: Settings, issuer: Issuer) -> Iterator[Api]:
    with _server(settings, trusted_issuer=issuer.url) as api:
        yield api


def _services(api: Api) -> Services:
    services: Services = api.client.app.state.process.services  # type: ignore[attr-defined]
    return services


def _as_if_a_minute_passed(api: Api) -> None:
    """The fetch throttle's clock, moved on (instead of waiting out a minute)."""
    _services(api).issuer_keys.attempted_at -= external_issuer.UNKNOWN_KID_REFETCH_S + 1


def _refused(response: Any, *words: str) -> str:
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    for word in words:
        assert word in error["message"], error["message"]
    return str(error["message"])


def test_a_token_of_the_trusted_issuer_is_a_principal_that_gets_roles_like_local_ones(
    trusting: Api, issuer: Issuer
) -> None:
    world = trusting.world(World(), catalog=False)
    oid = str(uuid.uuid4())
    as_ada = trusting.as_token(issuer.token(oid=oid))
    # a valid token with no role: authenticated, then refused by RBAC
    denied = as_ada.get(world.ws_path)
    assert denied.status_code == 403, denied.text
    assert denied.json()["error"]["code"] == "AuthorizationFailed" and oid in denied.text
    # it was recorded as an external user, listed with its issuer
    users = {u["name"]: u for u in trusting.ok(trusting.get(USERS), 200)["value"]}
    ada = users[oid]["properties"]
    assert ada["principalId"] == oid and ada["issuer"] == issuer.url
    assert ada["displayName"] == "Ada Lovelace" and ada["userPrincipalName"] == "ada@contoso.example"
    assert ada["accountEnabled"] is True and ada["passwordSet"] is False
    assert users["admin"]["properties"]["issuer"] is None
    # a role assigned to its object id applies at once
    trusting.ok(trusting.assign(world.ws_path, oid, READER), 201)
    shown = trusting.ok(as_ada.get(world.ws_path), 200)
    assert shown["name"] == world.ws
    assert as_ada.put(world.ws_path, {"location": world.location}).status_code == 403
    # the keys were fetched once over HTTP and kept
    assert issuer.hits[issuer.discovery_path] == 1 and issuer.hits[issuer.keys_path] == 1
    # a changed name at the issuer shows at the next sign-in
    renamed = trusting.as_token(issuer.token(oid=oid, name="Ada King"))
    trusting.ok(renamed.get(world.ws_path), 200)
    assert trusting.ok(trusting.get(f"{USERS}/{oid}"), 200)["properties"]["displayName"] == "Ada King"


def test_an_application_assigned_a_role_before_its_first_sign_in_has_it_at_once(
    trusting: Api, issuer: Issuer
) -> None:
    world = trusting.world(World(), catalog=False)
    oid, app_id = str(uuid.uuid4()), str(uuid.uuid4())
    role = f"/providers/Microsoft.Authorization/roleDefinitions/{READER}"
    body = {"properties": {"roleDefinitionId": role, "principalId": oid, "principalType": "ServicePrincipal"}}
    assigned = trusting.put(
        f"{world.ws_path}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}", body
    )
    assert trusting.ok(assigned, 201)["properties"]["principalType"] == "ServicePrincipal"
    # an app-only token (Entra: idtyp app, appid, no user name)
    token = issuer.token(oid=oid, idtyp="app", appid=app_id, preferred_username=None, name=None)
    trusting.ok(trusting.as_token(token).get(world.ws_path), 200)
    listed = {sp["name"]: sp for sp in trusting.ok(trusting.get(SPS), 200)["value"]}
    props = listed[oid]["properties"]
    assert props["appId"] == app_id and props["issuer"] == issuer.url
    assert props["appOwnerOrganizationId"] == TENANT and props["passwordCredentials"] == []
    # it signs in at its issuer: no client secrets here
    refused = trusting.post(f"{SPS}/{oid}/addPassword", {})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "ExternalPrincipal"
    # an assignment to an id that cannot be an object id is still refused
    bad = {"properties": {"roleDefinitionId": role, "principalId": "not an id!"}}
    refused = trusting.put(
        f"{world.ws_path}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}", bad
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "PrincipalNotFound"


def _unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    part = lambda value: base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")  # noqa: E731
    return f"{part(header)}.{part(claims)}."


def test_bad_tokens_are_refused_with_401_in_arms_envelope(trusting: Api, issuer: Issuer) -> None:
    world = trusting.world(World(), catalog=False)
    oid = str(uuid.uuid4())
    trusting.ok(trusting.assign("", oid, READER), 201)

    def call(token: str) -> Any:
        return trusting.as_token(token).get(world.ws_path)

    trusting.ok(call(issuer.token(oid=oid)), 200)
    now = int(time.time())
    _refused(call(issuer.token(oid=oid, aud="https://graph.microsoft.com")), "audience")
    _refused(call(issuer.token(oid=oid, iss="https://login.example/other/v2.0")), "not accepted")
    _refused(call(issuer.token(oid=oid, exp=now - 300, iat=now - 4000, nbf=now - 4000)), "expired")
    _refused(call(issuer.token(oid=oid, nbf=now + 600)), "not valid yet")
    _refused(call(issuer.token(oid=oid, key="rogue")), "signature")  # kid k1, another key
    _refused(call(issuer.token(oid=oid, exp=None)), "'exp'")
    none = _unsigned(
        {"iss": issuer.url, "aud": MANAGEMENT, "oid": oid, "exp": now + 60}, {"alg": "none", "kid": "k1"}
    )
    _refused(call(none), "'none'")
    hmac = jwt.encode(
        {"iss": issuer.url, "aud": MANAGEMENT, "oid": oid, "exp": now + 60}, "s" * 32, "HS256", {"kid": "k1"}
    )
    _refused(call(hmac), "'HS256'")
    _refused(call(issuer.token(oid="a b")), "object id")
    # a token of the external issuer claiming this server's own iss is checked with this
    # server's keys only, and fails
    tenant = trusting.ok(trusting.get("/tenants"), 200)["value"][0]["tenantId"]
    own = f"http://testserver/{tenant}/v2.0"
    _refused(call(issuer.token(oid=oid, iss=own, tid=tenant)), "not valid or has expired")
    # external tokens cannot act as a principal of this directory
    admin_oid = trusting.ok(trusting.get(f"{USERS}/admin"), 200)["properties"]["principalId"]
    _refused(call(issuer.token(oid=admin_oid)), "principal of this directory")
    # the keys were fetched once for all of these
    assert issuer.hits[issuer.keys_path] == 1
    # the server's own tokens keep working beside the issuer's
    app_id = str(uuid.uuid4())
    created = trusting.ok(trusting.put(f"{SPS}/{app_id}", {"properties": {"displayName": "bot"}}), 201)
    trusting.ok(trusting.assign("", created["properties"]["principalId"], READER), 201)
    secret = trusting.ok(trusting.post(f"{SPS}/{app_id}/addPassword", {}), 200)["secretText"]
    form = {
        "grant_type": "client_credentials",
        "client_id": app_id,
        "client_secret": secret,
        "scope": MANAGEMENT + "/.default",
    }
    local = trusting.client.post(f"/{tenant}/oauth2/v2.0/token", data=form).json()["access_token"]
    trusting.ok(call(local), 200)


def test_a_key_rotated_at_the_issuer_is_picked_up_with_at_most_one_fetch_a_minute(
    trusting: Api, issuer: Issuer
) -> None:
    oid = str(uuid.uuid4())
    trusting.ok(trusting.assign("", oid, READER), 201)
    trusting.ok(trusting.as_token(issuer.token("k1", oid=oid)).get("/subscriptions"), 200)
    assert issuer.hits[issuer.keys_path] == 1
    issuer.published = ["k2", "k1"]  # the issuer rotates: new tokens carry k2
    rotated = trusting.as_token(issuer.token("k2", oid=oid))
    # within a minute of the last fetch an unknown kid fetches nothing (made-up kids are cheap)
    _refused(rotated.get("/subscriptions"), "'k2'", "not one the trusted issuer publishes")
    _refused(trusting.as_token(issuer.token("k3", oid=oid)).get("/subscriptions"), "'k3'")
    assert issuer.hits[issuer.keys_path] == 1
    # a minute on, the unknown kid fetches the keys again, once
    _as_if_a_minute_passed(trusting)
    trusting.ok(rotated.get("/subscriptions"), 200)
    trusting.ok(trusting.as_token(issuer.token("k1", oid=oid)).get("/subscriptions"), 200)
    assert issuer.hits[issuer.keys_path] == 2
    _refused(trusting.as_token(issuer.token("k3", oid=oid)).get("/subscriptions"), "'k3'")
    assert issuer.hits[issuer.keys_path] == 2
    # the issuer drops k1: a minute on, its tokens stop once a fetch has happened
    issuer.published = ["k3", "k2"]
    _as_if_a_minute_passed(trusting)
    trusting.ok(trusting.as_token(issuer.token("k3", oid=oid)).get("/subscriptions"), 200)
    assert issuer.hits[issuer.keys_path] == 3
    _refused(trusting.as_token(issuer.token("k1", oid=oid)).get("/subscriptions"), "'k1'")
    trusting.ok(rotated.get("/subscriptions"), 200)


def test_an_issuer_that_cannot_be_reached_gives_401_saying_why(settings: Settings, issuer: Issuer) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    down = f"http://127.0.0.1:{port}/{TENANT}/v2.0"
    with _server(settings, trusted_issuer=down) as api:
        token = issuer.token(iss=down)
        message = _refused(api.as_token(token).get("/subscriptions"), "could not be fetched", down)
        assert "try again" in message
        # the next try waits: the same answer, without another connection attempt
        assert _refused(api.as_token(token).get("/subscriptions")) == message
        api.ok(api.get("/subscriptions"), 200)  # static tokens are unaffected


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("slow", ("did not answer within 0.3 s",)),
        ("broken", ("HTTP 500",)),
        ("redirect", ("redirect", "not followed")),
        ("other-issuer", ("names the issuer 'https://elsewhere.example/v2.0'",)),
        ("metadata-keys", ("169.254.169.254", "metadata")),
    ],
)
def test_an_issuer_that_misbehaves_gives_401_saying_why(
    settings: Settings, issuer: Issuer, mode: str, words: tuple[str, ...]
) -> None:
    issuer.mode = mode
    with _server(settings, trusted_issuer=issuer.url, trusted_issuer_timeout=0.3) as api:
        _refused(
            api.as_token(issuer.token()).get("/subscriptions"), "signing keys could not be fetched", *words
        )
        assert issuer.hits[issuer.keys_path] == 0
        # once it behaves, the next try (ten seconds on) succeeds
        issuer.mode = "ok"
        _services(api).issuer_keys.attempted_at -= external_issuer.RETRY_AFTER_FAILURE_S + 1
        oid = str(uuid.uuid4())
        assert api.as_token(issuer.token(oid=oid)).get("/subscriptions").status_code == 200


def test_without_a_trusted_issuer_external_tokens_are_refused(api: Api, issuer: Issuer) -> None:
    oid = str(uuid.uuid4())
    _refused(api.as_token(issuer.token(oid=oid)).get("/subscriptions"))
    assert issuer.hits[issuer.discovery_path] == 0
    role = f"/providers/Microsoft.Authorization/roleDefinitions/{READER}"
    body = {"properties": {"roleDefinitionId": role, "principalId": oid}}
    refused = api.put(f"/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}", body)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "PrincipalNotFound"


def test_disabling_an_external_principal_stops_its_tokens_at_once(trusting: Api, issuer: Issuer) -> None:
    oid = str(uuid.uuid4())
    trusting.ok(trusting.assign("", oid, READER), 201)
    as_ada = trusting.as_token(issuer.token(oid=oid))
    trusting.ok(as_ada.get("/subscriptions"), 200)
    disabled = trusting.ok(trusting.put(f"{USERS}/{oid}", {"properties": {"accountEnabled": False}}), 200)
    assert disabled["properties"]["accountEnabled"] is False and disabled["name"] == oid
    _refused(as_ada.get("/subscriptions"), "disabled")
    _refused(trusting.as_token(issuer.token(oid=oid)).get("/subscriptions"), "disabled")  # new ones too
    # its name and credentials are the issuer's
    password = {"properties": {"passwordProfile": {"password": "correct horse 1"}}}
    refused = trusting.put(f"{USERS}/{oid}", password)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "ExternalPrincipal"
    # GET-modify-PUT works
    shown = trusting.ok(trusting.get(f"{USERS}/{oid}"), 200)
    shown["properties"]["accountEnabled"] = True
    trusting.ok(trusting.put(f"{USERS}/{oid}", shown), 200)
    trusting.ok(as_ada.get("/subscriptions"), 200)
    # deleting forgets the record (its next token makes it again, with its role assignments)
    assert trusting.delete(f"{USERS}/{oid}").status_code == 204
    assert trusting.get(f"{USERS}/{oid}").status_code == 404
    trusting.ok(as_ada.get("/subscriptions"), 200)
    assert trusting.get(f"{USERS}/{oid}").status_code == 200
