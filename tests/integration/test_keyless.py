"""Keyless calls to endpoints (issue 13 item 6): a Target URI also takes `Authorization: Bearer
<access token>` of a principal whose roles hold the endpoint's data action at the endpoint or
above; on SQLite and PostgreSQL, through the HTTP API, against a fake OpenAI upstream.

- the token endpoint issues tokens for the data-plane resources (`https://ml.azure.com`, what
  azure-ai-inference asks for, and `https://cognitiveservices.azure.com`), to service principals
  and to signed-in users; management and data-plane tokens each open only their own side;
- Azure AI Developer and AzureML Data Scientist at the workspace, resource group, subscription or
  `/` call; no role, Reader, Owner and Contributor (control-plane `*`) get 403 naming the data
  action; a custom role with exactly that data action calls, one with it only in `actions` does not;
- expired, foreign, garbage and management tokens are 401 and reach no model; a disabled principal
  or a removed role assignment is refused on its next call;
- a keyless call is metered, counted against the quota and billed exactly as a key call.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from maas.controlplane.domain.authz import SCORE_DATA_ACTION
from maas.controlplane.domain.tokens import LoadedKey, new_signing_key, sign
from maas.controlplane.services import signing_keys
from maas.controlplane.store import tables as t
from maas.controlplane.store.database import Database
from maas.core.clock import utcnow
from maas.core.settings import Settings
from support.api import Api, World
from support.fake_upstream import FakeUpstream, fake_upstream
from support.gateway import UPSTREAM_MODEL, Deployed, deploy, put_model, upstream_artifact
from support.signin_page import read_page

SPS = "/providers/Microsoft.MaaS/servicePrincipals"
RD = "/providers/Microsoft.Authorization/roleDefinitions"
ML_SCOPE = "https://ml.azure.com/.default"  # azure-ai-inference's default credential scope
COGNITIVE_SCOPE = "https://cognitiveservices.azure.com/.default"
MANAGEMENT_SCOPE = "https://management.azure.com/.default"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
AI_DEVELOPER = "64702f94-c441-49e6-a78b-ef80e0188fee"
DATA_SCIENTIST = "f6c7c914-8db3-469d-8ca1-694a8f32e121"
CHAT = {"messages": [{"role": "user", "content": "hi"}]}
PRICES = [
    {"meterId": "paygo-inference-input-tokens", "pricePer1K": 0.0003, "currency": "USD"},
    {"meterId": "paygo-inference-output-tokens", "pricePer1K": 0.0006, "currency": "USD"},
]


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream() as running:
        yield running


@pytest.fixture
def world(api: Api, upstream: FakeUpstream) -> World:
    world = api.world(catalog=False)
    put_model(api, UPSTREAM_MODEL, upstream_artifact(upstream.url))
    properties = {"modelId": UPSTREAM_MODEL, "publisherId": "test", "kind": "Marketplace", "meters": PRICES}
    api.ok(api.put("/providers/Microsoft.MaaS/offers/fake-upstream-chat", {"properties": properties}))
    return world


@pytest.fixture
def chat(api: Api, world: World) -> Deployed:
    """A paid marketplace model's endpoint (its workspace subscribed to the offer)."""
    api.ok(api.subscribe(world, "chat-sub", UPSTREAM_MODEL), 201)
    return deploy(api, world, "chat", UPSTREAM_MODEL)


@pytest.fixture
def tenant(api: Api) -> str:
    return str(api.ok(api.get("/tenants"), 200)["value"][0]["tenantId"])


class Principal:
    """A service principal with a client secret, and the tokens it gets from the token endpoint."""

    def __init__(self, api: Api, tenant: str) -> None:
        self.api = api
        self.tenant = tenant
        self.app_id = str(uuid.uuid4())
        created = api.ok(api.put(f"{SPS}/{self.app_id}", {"properties": {"displayName": "keyless"}}), 201)
        self.object_id = str(created["properties"]["principalId"])
        self.secret = api.ok(api.post(f"{SPS}/{self.app_id}/addPassword", {}), 200)["secretText"]

    def assign(self, scope: str, role: str) -> str:
        """A role at a scope; the assignment's id (to delete it)."""
        return str(self.api.ok(self.api.assign(scope, self.object_id, role), 201)["id"])

    def token_answer(self, scope: str = ML_SCOPE) -> httpx.Response:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.app_id,
            "client_secret": self.secret,
            "scope": scope,
        }
        return self.api.client.post(f"/{self.tenant}/oauth2/v2.0/token", data=form)

    def token(self, scope: str = ML_SCOPE) -> str:
        answer = self.token_answer(scope)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])


def call(api: Api, endpoint: Deployed, token: str, route: str = "chat/completions") -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if route == "info":
        return api.client.get(f"{endpoint.route}/info", headers=headers)
    return api.client.post(f"{endpoint.route}/{route}", json=CHAT, headers=headers)


def error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["x-ms-error-code"] == code
    body = response.json()["error"]
    assert body["code"] == code and body["status"] == status
    return str(body["message"])


def claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def services(api: Api) -> Any:
    return api.client.app.process.services  # type: ignore[attr-defined]


# -- tokens for the data plane ---------------------------------------------------------------------
def test_data_plane_tokens_and_management_tokens_each_open_only_their_side(
    api: Api, tenant: str, world: World, chat: Deployed, upstream: FakeUpstream
) -> None:
    sp = Principal(api, tenant)
    sp.assign(world.sub_path, AI_DEVELOPER)
    ml = sp.token(ML_SCOPE)
    assert claims(ml)["aud"] == "https://ml.azure.com" and claims(ml)["oid"] == sp.object_id
    cognitive = sp.token("https://CognitiveServices.azure.com/.default")
    assert claims(cognitive)["aud"] == "https://cognitiveservices.azure.com"
    management = sp.token(MANAGEMENT_SCOPE)
    assert claims(management)["aud"] == "https://management.azure.com"
    for token in (ml, cognitive):
        answer = call(api, chat, token)
        assert answer.status_code == 200, answer.text
        assert answer.json()["choices"][0]["message"]["content"] == "Hello from the fake upstream."
        assert call(api, chat, token, "info").json()["model_name"] == "fake-upstream-chat"
        # ... but a data-plane token is no management token
        refused = api.as_token(token).get(world.ws_path)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "InvalidAuthenticationToken"
    # a management token opens management calls, and no endpoint
    api.ok(api.as_token(management).get(world.endpoint("chat")), 200)
    before = len(upstream.requests)
    message = error(call(api, chat, management), 401, "invalid_token")
    assert "Audience" in message and "https://ml.azure.com/.default" in message
    assert len(upstream.requests) == before
    # discovery names the data-plane scopes; other resources stay refused
    doc = api.client.get(f"/{tenant}/v2.0/.well-known/openid-configuration").json()
    assert {ML_SCOPE, COGNITIVE_SCOPE, MANAGEMENT_SCOPE} <= set(doc["scopes_supported"])
    graph = sp.token_answer("https://graph.microsoft.com/.default")
    assert graph.status_code == 400 and graph.json()["error_codes"] == [500011]
    assert "https://ml.azure.com" in graph.json()["error_description"]


def test_allowed_roles_at_every_scope_call_keylessly(
    api: Api, tenant: str, world: World, chat: Deployed
) -> None:
    scopes = {
        "endpoint": world.endpoint("chat"),
        "workspace": world.ws_path,
        "resource group": world.rg_path,
        "subscription": world.sub_path,
        "root": "",
    }
    roles = [DATA_SCIENTIST, AI_DEVELOPER, DATA_SCIENTIST, AI_DEVELOPER, DATA_SCIENTIST]
    for (where, scope), role in zip(scopes.items(), roles, strict=True):
        sp = Principal(api, tenant)
        sp.assign(scope, role)
        token = sp.token()
        answer = call(api, chat, token)
        assert answer.status_code == 200, (where, role, answer.text)
        assert answer.headers["x-ratelimit-remaining-requests"]
        stream = api.client.post(
            f"{chat.route}/chat/completions",
            json={**CHAT, "stream": True},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert stream.status_code == 200 and stream.text.endswith("data: [DONE]\n\n"), (where, stream.text)
    # the same role on another workspace opens nothing here
    other = World(ws="ws-other")
    api.ok(api.put(other.ws_path, {"location": other.location}))
    stranger = Principal(api, tenant)
    stranger.assign(other.ws_path, AI_DEVELOPER)
    error(call(api, chat, stranger.token()), 403, "permission_denied")


@pytest.mark.parametrize(
    "role", [None, READER, OWNER, CONTRIBUTOR], ids=["no role", "Reader", "Owner", "Contributor"]
)
def test_roles_without_the_data_action_are_403_naming_it(
    api: Api, tenant: str, world: World, chat: Deployed, upstream: FakeUpstream, role: str | None
) -> None:
    sp = Principal(api, tenant)
    if role is not None:
        sp.assign("" if role == OWNER else world.sub_path, role)
    before = len(upstream.requests)
    for route in ("chat/completions", "info"):
        message = error(call(api, chat, sp.token(), route), 403, "permission_denied")
        assert SCORE_DATA_ACTION in message and sp.object_id in message
        assert chat.uri.rsplit("/", 1)[-1] in message
    assert len(upstream.requests) == before  # nothing reached the model
    if role in (OWNER, CONTRIBUTOR):
        # they manage the endpoint, keys included: a key they list opens it, as before
        management = api.as_token(sp.token(MANAGEMENT_SCOPE))
        key = api.ok(management.post(world.endpoint("chat") + "/listKeys"), 200)["primaryKey"]
        keyed = api.client.post(f"{chat.route}/chat/completions", json=CHAT, headers={"api-key": key})
        assert keyed.status_code == 200, keyed.text


def test_a_custom_role_with_exactly_the_data_action_calls(
    api: Api, tenant: str, world: World, chat: Deployed
) -> None:
    def role(name: str, actions: list[str], data_actions: list[str]) -> str:
        guid = str(uuid.uuid4())
        permissions = {
            "actions": actions,
            "notActions": [],
            "dataActions": data_actions,
            "notDataActions": [],
        }
        body = {
            "properties": {
                "roleName": name,
                "description": name,
                "permissions": [permissions],
                "assignableScopes": [world.sub_path],
            }
        }
        api.ok(api.put(f"{world.sub_path}{RD}/{guid}", body), 201)
        return guid

    scorer = Principal(api, tenant)
    scorer.assign(world.ws_path, role("Endpoint scorer", [], [SCORE_DATA_ACTION]))
    token = scorer.token()
    assert call(api, chat, token).status_code == 200
    # a data-plane token of a principal with no control-plane action manages nothing
    assert api.as_token(scorer.token(MANAGEMENT_SCOPE)).get(world.endpoint("chat")).status_code == 403
    # the seed's control-plane wildcard is not a data action
    seed_like = Principal(api, tenant)
    seed_like.assign(
        world.ws_path,
        role("Endpoint manager", ["Microsoft.MachineLearningServices/workspaces/serverlessEndpoints/*"], []),
    )
    error(call(api, chat, seed_like.token()), 403, "permission_denied")


# -- refusals ---------------------------------------------------------------------------------------
def test_expired_foreign_and_garbage_tokens_are_401_and_reach_no_model(
    api: Api, tenant: str, world: World, chat: Deployed, upstream: FakeUpstream
) -> None:
    sp = Principal(api, tenant)
    sp.assign(world.ws_path, AI_DEVELOPER)
    good = claims(sp.token())
    ours = signing_keys.active_key(services(api))
    past = utcnow() - timedelta(hours=2)
    then = int(past.timestamp())
    expired = sign(ours, good | {"iat": then, "nbf": then, "exp": then + 3600})
    made = new_signing_key()
    foreign_key = LoadedKey.parse(made.kid, json.dumps(made.jwk), utcnow(), None, made.private_pem)
    foreign = sign(foreign_key, good)  # right claims, a key this server never had
    impostor = sign(LoadedKey(ours.kid, foreign_key.public, {}, utcnow(), None, foreign_key.private), good)
    other_issuer = sign(ours, good | {"iss": "https://login.microsoftonline.com/x/v2.0"})
    other_tenant = sign(ours, good | {"tid": str(uuid.uuid4())})
    before = len(upstream.requests)
    for name, token, reason in [
        ("expired", expired, "expired"),
        ("foreign key", foreign, "signing key"),
        ("wrong signature", impostor, "Signature verification failed"),
        ("another issuer", other_issuer, "issuer"),
        ("another tenant", other_tenant, "tenant"),
        ("garbage", "eyJhbGciOi.not-a.jwt", "not a JWT"),
    ]:
        message = error(call(api, chat, token), 401, "invalid_token")
        assert reason.lower() in message.lower(), (name, message)
    # a JWT in api-key is a key (a wrong one), and the static tokens of principals are no tokens here
    error(
        api.client.post(f"{chat.route}/chat/completions", json=CHAT, headers={"api-key": sp.token()}),
        401,
        "invalid_key",
    )
    error(call(api, chat, api.token), 401, "invalid_key")
    assert len(upstream.requests) == before


def test_a_disabled_principal_or_a_removed_role_is_refused_on_the_next_call(
    api: Api, tenant: str, world: World, chat: Deployed
) -> None:
    sp = Principal(api, tenant)
    assignment = sp.assign(world.ws_path, DATA_SCIENTIST)
    token = sp.token()
    assert call(api, chat, token).status_code == 200
    api.ok(api.put(f"{SPS}/{sp.app_id}", {"properties": {"accountEnabled": False}}), 200)
    assert "disabled" in error(call(api, chat, token), 401, "invalid_token")
    api.ok(api.put(f"{SPS}/{sp.app_id}", {"properties": {"accountEnabled": True}}), 200)
    assert call(api, chat, token).status_code == 200  # the token itself is still good
    assert api.delete(assignment).status_code in (200, 204)
    error(call(api, chat, token), 403, "permission_denied")
    api.ok(api.delete(f"{SPS}/{sp.app_id}"), 200, 204)
    error(call(api, chat, token), 401, "invalid_token")


def test_a_remembered_token_still_needs_its_signing_key(
    api: Api, tenant: str, settings: Settings, world: World, chat: Deployed
) -> None:
    """Verified signatures are remembered, but a token whose key was deleted (rotate, then delete
    the row: docs/security.md's way to cut a leaked key's tokens off) stops as it would uncached."""
    sp = Principal(api, tenant)
    sp.assign(world.ws_path, AI_DEVELOPER)
    token = sp.token()
    assert call(api, chat, token).status_code == 200
    assert call(api, chat, token).status_code == 200  # the second time from memory
    old_kid = jwt.get_unverified_header(token)["kid"]
    api.ok(api.post("/providers/Microsoft.MaaS/signingKeys/rotate"), 200)
    assert call(api, chat, token).status_code == 200  # a retired key keeps verifying its tokens
    assert call(api, chat, sp.token()).status_code == 200  # and new tokens have the new key
    database = Database(settings.resolved_database_url)
    try:
        with database.write() as connection:
            connection.execute(delete(t.signing_keys).where(t.signing_keys.c.kid == old_kid))
    finally:
        database.dispose()
    services(api).keyring.loaded_at = float("-inf")  # as the 30 s reload would
    assert "signing key" in error(call(api, chat, token), 401, "invalid_token")


def test_an_endpoints_state_is_checked_after_a_token_as_after_a_key(
    api: Api, tenant: str, world: World, chat: Deployed
) -> None:
    sp = Principal(api, tenant)
    sp.assign(world.sub_path, AI_DEVELOPER)
    token = sp.token()
    nowhere = api.client.get("/endpoints/eastus2/nowhere/info", headers={"Authorization": f"Bearer {token}"})
    error(nowhere, 404, "endpoint_not_found")
    api.account(world.sub, payment="None")
    error(call(api, chat, token), 403, "endpoint_suspended")
    api.account(world.sub, payment="CreditCard")
    assert call(api, chat, token).status_code == 200
    assert api.delete(world.subscription("chat-sub")).status_code == 204
    error(call(api, chat, token), 403, "endpoint_unhealthy")


# -- metering and billing ---------------------------------------------------------------------------
def test_keyless_usage_is_metered_counted_and_billed_as_a_key_calls(
    api: Api, tenant: str, settings: Settings, world: World, chat: Deployed
) -> None:
    sp = Principal(api, tenant)
    sp.assign(world.ws_path, AI_DEVELOPER)
    token = sp.token()
    keyed = api.client.post(f"{chat.route}/chat/completions", json=CHAT, headers=chat.headers())
    keyless = call(api, chat, token)
    assert keyed.status_code == keyless.status_code == 200
    # one quota for the endpoint, whoever calls
    remaining = [int(r.headers["x-ratelimit-remaining-requests"]) for r in (keyed, keyless)]
    assert remaining[1] == remaining[0] - 1
    assert keyless.headers["x-ratelimit-limit-tokens"] == keyed.headers["x-ratelimit-limit-tokens"]
    assert api.client.app.process.gateway().metering.ledger.flush(30)  # type: ignore[attr-defined]
    database = Database(settings.resolved_database_url)
    try:
        with database.read() as connection:
            rows = {r["request_id"]: dict(r) for r in connection.execute(select(t.usage_records)).mappings()}
            totals = {
                r["meter_id"]: (r["quantity"], r["records"])
                for r in connection.execute(select(t.usage_totals)).mappings()
            }
    finally:
        database.dispose()
    by_key, by_token = rows[keyed.headers["x-request-id"]], rows[keyless.headers["x-request-id"]]
    same = (
        "endpoint_id",
        "billed_resource_id",
        "subscription",
        "resource_group",
        "workspace",
        "meters",
        "status",
    )
    assert {k: by_key[k] for k in same} == {k: by_token[k] for k in same}
    assert by_token["endpoint_id"].lower() == world.endpoint("chat").lower()
    assert "Microsoft.SaaS/resources" in by_token["billed_resource_id"]  # the marketplace subscription's
    usage = [r.json()["usage"] for r in (keyed, keyless)]
    assert (by_token["input_tokens"], by_token["output_tokens"]) == (
        usage[1]["prompt_tokens"],
        usage[1]["completion_tokens"],
    )
    assert totals == {
        "paygo-inference-input-tokens": (usage[0]["prompt_tokens"] + usage[1]["prompt_tokens"], 2),
        "paygo-inference-output-tokens": (usage[0]["completion_tokens"] + usage[1]["completion_tokens"], 2),
    }


# -- signed-in users --------------------------------------------------------------------------------
CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
REDIRECT = "http://localhost:8400"
PASSWORD = "correct horse battery"


def _user_tokens(client: TestClient, tenant: str, scope: str) -> dict[str, Any]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    params = {
        "client_id": CLI,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    form = read_page(client.get(f"/{tenant}/oauth2/v2.0/authorize", params=params).text)
    fields = form.fields | {"username": "carol@contoso.example", "password": PASSWORD}
    signed_in = client.post(form.action, data=fields, follow_redirects=False)
    assert signed_in.status_code == 302, signed_in.text
    code = parse_qs(urlsplit(signed_in.headers["location"]).query)["code"][0]
    redeem = {
        "grant_type": "authorization_code",
        "client_id": CLI,
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "scope": scope,
    }
    answer = client.post(f"/{tenant}/oauth2/v2.0/token", data=redeem)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_signed_in_user_gets_data_plane_tokens_too(
    api: Api, client: TestClient, tenant: str, world: World, chat: Deployed
) -> None:
    body = {"properties": {"displayName": "Carol", "passwordProfile": {"password": PASSWORD}}}
    object_id = api.ok(api.put("/providers/Microsoft.MaaS/users/carol@contoso.example", body), 201)[
        "properties"
    ]["principalId"]
    api.ok(api.assign(world.rg_path, object_id, DATA_SCIENTIST), 201)
    first = _user_tokens(client, tenant, f"{ML_SCOPE} offline_access openid")
    assert claims(first["access_token"])["aud"] == "https://ml.azure.com"
    assert claims(first["access_token"])["idtyp"] == "user"
    assert call(api, chat, first["access_token"]).status_code == 200
    # MSAL gets a token for another resource with the refresh token, as az does
    form = {
        "grant_type": "refresh_token",
        "client_id": CLI,
        "refresh_token": first["refresh_token"],
        "scope": f"{MANAGEMENT_SCOPE} offline_access",
    }
    management = client.post(f"/{tenant}/oauth2/v2.0/token", data=form)
    assert management.status_code == 200, management.text
    assert claims(management.json()["access_token"])["aud"] == "https://management.azure.com"
    api.ok(api.as_token(management.json()["access_token"]).get(world.endpoint("chat")), 200)
    error(call(api, chat, management.json()["access_token"]), 401, "invalid_token")
    # one token is for one resource
    form = {
        "grant_type": "refresh_token",
        "client_id": CLI,
        "refresh_token": management.json()["refresh_token"],
        "scope": f"{MANAGEMENT_SCOPE} {ML_SCOPE}",
    }
    both = client.post(f"/{tenant}/oauth2/v2.0/token", data=form)
    assert both.status_code == 400 and both.json()["error_codes"] == [28000]
