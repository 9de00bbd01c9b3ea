"""Who may call a Target URI: api-key or Bearer, primary or secondary key, a key opens only its own
endpoint, rotation and deletion take effect at once, Unhealthy endpoints answer 403, host-based
routing ({endpoint}.{region}.{domain}) when the operator configures a domain, wrong keys throttled
per client address (never the keys that address was using), and key digests written before they
were scoped to their endpoint still accepted."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from maas.controlplane.domain.keys import key_digest
from maas.controlplane.store import tables
from maas.core.settings import Settings
from maas.server.app import create_server_app
from maas.server.bootstrap import prepare
from support.api import MODEL, Api, World
from support.fake_upstream import FakeUpstream, fake_upstream
from support.gateway import (
    UPSTREAM_MODEL,
    Deployed,
    deploy,
    put_model,
    upstream_artifact,
)

CHAT = {"messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream() as running:
        yield running


@pytest.fixture
def world(api: Api, upstream: FakeUpstream) -> World:
    world = api.world()
    put_model(api, UPSTREAM_MODEL, upstream_artifact(upstream.url))
    return world


def _error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["x-ms-error-code"] == code
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and error["status"] == status and error["message"]
    assert float(response.headers["x-maas-overhead-ms"]) >= 0
    return dict(error)


def _info(api: Api, endpoint: Deployed, headers: dict[str, str]) -> httpx.Response:
    return api.client.get(endpoint.route + "/info", headers=headers)


def test_primary_and_secondary_keys_in_either_header(api: Api, world: World) -> None:
    phi = deploy(api, world, "phi", UPSTREAM_MODEL)
    for key in (phi.key, phi.secondary_key):
        for headers in (
            {"api-key": key},
            {"Authorization": f"Bearer {key}"},
            {"authorization": f"bearer   {key}  "},
        ):
            response = _info(api, phi, headers)
            assert response.status_code == 200, (headers, response.text)
            assert response.json()["model_name"] == "fake-upstream-chat"
        chat = api.client.post(phi.route + "/chat/completions", json=CHAT, headers={"api-key": key})
        assert chat.status_code == 200, chat.text


def test_missing_or_wrong_keys_are_401(api: Api, world: World, upstream: FakeUpstream) -> None:
    phi = deploy(api, world, "phi", UPSTREAM_MODEL)
    _error(_info(api, phi, {}), 401, "missing_key")
    _error(_info(api, phi, {"api-key": ""}), 401, "missing_key")
    _error(_info(api, phi, {"Authorization": f"Basic {phi.key}"}), 401, "missing_key")
    _error(_info(api, phi, {"Authorization": "Bearer"}), 401, "missing_key")
    _error(_info(api, phi, {"api-key": "wrong"}), 401, "invalid_key")
    _error(_info(api, phi, {"api-key": phi.key[:-1]}), 401, "invalid_key")
    _error(_info(api, phi, {"Authorization": f"Bearer {phi.key}x"}), 401, "invalid_key")
    # the admin's platform token is not an endpoint key
    _error(_info(api, phi, {"Authorization": f"Bearer {api.token}"}), 401, "invalid_key")
    before = len(upstream.requests)
    response = api.client.post(phi.route + "/chat/completions", json=CHAT, headers={"api-key": "wrong"})
    _error(response, 401, "invalid_key")
    assert len(upstream.requests) == before  # nothing reached the model


def test_a_key_opens_only_its_own_endpoint(api: Api, world: World) -> None:
    a = deploy(api, world, "endpoint-a", UPSTREAM_MODEL)
    other = World(ws="ws2")
    api.ok(api.put(other.ws_path, {"location": other.location}))
    b = deploy(api, other, "endpoint-b", UPSTREAM_MODEL)
    assert _info(api, a, {"api-key": a.key}).status_code == 200
    assert _info(api, b, {"api-key": b.key}).status_code == 200
    _error(_info(api, b, {"api-key": a.key}), 401, "invalid_key")
    _error(_info(api, a, {"api-key": b.secondary_key}), 401, "invalid_key")
    response = api.client.post(b.route + "/chat/completions", json=CHAT, headers={"api-key": a.key})
    _error(response, 401, "invalid_key")


def test_regenerated_key_stops_working_at_once(api: Api, world: World) -> None:
    phi = deploy(api, world, "phi", UPSTREAM_MODEL)
    assert _info(api, phi, {"api-key": phi.key}).status_code == 200
    rotated = api.ok(api.post(world.endpoint("phi") + "/regenerateKeys", {"keyType": "Primary"}), 200)
    _error(_info(api, phi, {"api-key": phi.key}), 401, "invalid_key")
    assert _info(api, phi, {"api-key": rotated["primaryKey"]}).status_code == 200
    assert _info(api, phi, {"api-key": phi.secondary_key}).status_code == 200
    api.ok(api.post(world.endpoint("phi") + "/regenerateKeys", {"keyType": "Secondary"}), 200)
    _error(_info(api, phi, {"Authorization": f"Bearer {phi.secondary_key}"}), 401, "invalid_key")


def test_deleted_subscription_makes_the_endpoint_403(api: Api, world: World) -> None:
    api.ok(api.subscribe(world), 201)
    llama = deploy(api, world, "llama", MODEL)
    assert _info(api, llama, {"api-key": llama.key}).status_code == 200
    assert api.delete(world.subscription("Meta-Llama-3-8B-Instruct")).status_code == 204
    _error(_info(api, llama, {"api-key": llama.key}), 403, "endpoint_unhealthy")
    response = api.client.post(llama.route + "/chat/completions", json=CHAT, headers={"api-key": llama.key})
    _error(response, 403, "endpoint_unhealthy")
    # a wrong key is still a 401, not a hint that the endpoint exists and is unhealthy
    _error(_info(api, llama, {"api-key": "wrong"}), 401, "invalid_key")


def test_deleted_and_unknown_endpoints_are_404(api: Api, world: World) -> None:
    phi = deploy(api, world, "phi", UPSTREAM_MODEL)
    deleting = api.delete(world.endpoint("phi"))
    assert deleting.status_code == 202
    assert api.wait_operation(deleting)["status"] == "Succeeded"
    _error(_info(api, phi, {"api-key": phi.key}), 404, "endpoint_not_found")
    response = api.client.post(phi.route + "/chat/completions", json=CHAT, headers={"api-key": phi.key})
    _error(response, 404, "endpoint_not_found")
    _error(
        api.client.get("/endpoints/eastus2/never-was/info", headers={"api-key": "x"}),
        404,
        "endpoint_not_found",
    )
    _error(api.client.get(phi.route.replace("eastus2", "westus3") + "/info"), 404, "endpoint_not_found")
    # a new endpoint of the same name has new keys: the old ones do not open it
    again = deploy(api, world, "phi", UPSTREAM_MODEL)
    assert again.route == phi.route and again.key != phi.key
    _error(_info(api, again, {"api-key": phi.key}), 401, "invalid_key")
    assert _info(api, again, {"api-key": again.key}).status_code == 200


def test_host_based_target_uris(settings: Settings, upstream: FakeUpstream) -> None:
    domain_settings = settings.model_copy(update={"inference_domain": "models.test"})
    prepare(domain_settings)
    with TestClient(create_server_app(domain_settings), raise_server_exceptions=False) as client:
        assert settings.admin_token is not None
        api = Api(client, settings.admin_token.get_secret_value())
        world = api.world()
        put_model(api, UPSTREAM_MODEL, upstream_artifact(upstream.url))
        phi = deploy(api, world, "phi", UPSTREAM_MODEL)
        assert phi.uri == "http://phi.eastus2.models.test"
        with TestClient(client.app, base_url=phi.uri, raise_server_exceptions=False) as hosted:
            info = hosted.get("/info", headers={"api-key": phi.key})
            assert info.status_code == 200, info.text
            assert info.json()["model_name"] == "fake-upstream-chat"
            chat = hosted.post("/v1/chat/completions", json=CHAT, headers={"api-key": phi.secondary_key})
            assert chat.status_code == 200, chat.text
            assert chat.json()["choices"][0]["message"]["content"] == "Hello from the fake upstream."
            assert hosted.get("/v1/models", headers={"api-key": phi.key}).json()["data"][0]["id"]
            _error(hosted.get("/info", headers={"api-key": "wrong"}), 401, "invalid_key")
            _error(hosted.get("/nowhere", headers={"api-key": phi.key}), 404, "route_not_found")
        # the Host header decides, with or without a port, in any case
        for host in ("PHI.EastUS2.models.test", "phi.eastus2.models.test:8443"):
            response = client.get("/info", headers={"host": host, "api-key": phi.key})
            assert response.status_code == 200, (host, response.text)
        unknown = client.get("/info", headers={"host": "nope.eastus2.models.test", "api-key": phi.key})
        _error(unknown, 404, "endpoint_not_found")
        # another host is the control plane, and the path-based form still reaches the endpoint
        assert api.get(world.ws_path).status_code == 200
        assert client.get("/endpoints/eastus2/phi/info", headers={"api-key": phi.key}).status_code == 200


# -- throttling wrong keys ------------------------------------------------------------------------
THROTTLED = "too_many_failed_auth_attempts"


def test_wrong_keys_are_throttled_per_address_without_slowing_the_keys_it_uses(
    api: Api, world: World, upstream: FakeUpstream
) -> None:
    phi = deploy(api, world, "phi", UPSTREAM_MODEL)
    assert _info(api, phi, {"api-key": phi.key}).status_code == 200  # this address uses the primary
    # 20 wrong keys a minute (the default) are judged; X-Forwarded-For is not trusted by default
    for n in range(20):
        wrong = {"api-key": f"wrong-{n}", "x-forwarded-for": f"198.51.100.{n}"}
        _error(_info(api, phi, wrong), 401, "invalid_key")
    refused = _info(api, phi, {"api-key": "wrong-20", "x-forwarded-for": "198.51.100.20"})
    error = _error(refused, 429, THROTTLED)
    assert error["type"] == "rate_limit_error"
    assert refused.headers["retry-after"] == "3"  # one more attempt every 60/20 s
    before = len(upstream.requests)
    chat = api.client.post(phi.route + "/chat/completions", json=CHAT, headers={"api-key": "wrong"})
    _error(chat, 429, THROTTLED)
    assert len(upstream.requests) == before  # nothing reached the model

    # the key this address was using keeps working, every route
    assert _info(api, phi, {"api-key": phi.key}).status_code == 200
    chat = api.client.post(phi.route + "/chat/completions", json=CHAT, headers={"api-key": phi.key})
    assert chat.status_code == 200, chat.text
    # a right key this address never used is answered exactly like a wrong one: no oracle
    unknown = _info(api, phi, {"Authorization": f"Bearer {phi.secondary_key}"})
    assert unknown.status_code == 429
    assert unknown.json() == _info(api, phi, {"api-key": "wrong"}).json()
    assert unknown.headers["retry-after"] == "3"
    _error(_info(api, phi, {}), 401, "missing_key")  # no key is no guess

    # another address is not throttled, and its right keys pass
    elsewhere = TestClient(api.client.app, client=("203.0.113.7", 50000), raise_server_exceptions=False)
    _error(elsewhere.get(phi.route + "/info", headers={"api-key": "wrong"}), 401, "invalid_key")
    response = elsewhere.get(phi.route + "/info", headers={"api-key": phi.secondary_key})
    assert response.status_code == 200, response.text


def test_behind_a_trusted_proxy_the_forwarded_address_counts(
    settings: Settings, upstream: FakeUpstream
) -> None:
    proxied = settings.model_copy(update={"trust_forwarded_for": True, "auth_failures_per_minute": 2})
    prepare(proxied)
    with TestClient(create_server_app(proxied), raise_server_exceptions=False) as client:
        assert settings.admin_token is not None
        api = Api(client, settings.admin_token.get_secret_value())
        world = api.world()
        put_model(api, UPSTREAM_MODEL, upstream_artifact(upstream.url))
        phi = deploy(api, world, "phi", UPSTREAM_MODEL)

        def info(forwarded: str, key: str = "wrong") -> httpx.Response:
            return _info(api, phi, {"api-key": key, "x-forwarded-for": forwarded})

        # the last entry is the one the proxy appended; the ones before it are the client's
        for spoofed in ("1.1.1.1, 192.0.2.10", "2.2.2.2, 192.0.2.10"):
            _error(info(spoofed), 401, "invalid_key")
        _error(info("3.3.3.3, 192.0.2.10"), 429, THROTTLED)
        _error(info("192.0.2.11"), 401, "invalid_key")
        # an IPv6 client counts per /64
        _error(info("2001:db8:1:2::1"), 401, "invalid_key")
        _error(info("2001:db8:1:2::ffff"), 401, "invalid_key")
        _error(info("2001:db8:1:2:aaaa::3"), 429, THROTTLED)
        assert info("2001:db8:1:3::1", phi.key).status_code == 200


# -- digests written before they were scoped to their endpoint ------------------------------------
def test_keys_with_unscoped_digests_keep_working_until_their_next_rotation(api: Api, world: World) -> None:
    phi = deploy(api, world, "phi", UPSTREAM_MODEL)
    services = api.client.app.state.process.services  # type: ignore[attr-defined]
    vault = services.vault
    old_secondary = "legacy-key-12345"  # allowed before, shorter than a chosen key may be now
    with services.db.write() as connection:
        connection.execute(
            update(tables.endpoint_keys).values(
                primary_digest=vault.digest(phi.key),
                secondary_ciphertext=vault.encrypt(old_secondary),
                secondary_digest=vault.digest(old_secondary),
            )
        )
    services.endpoints_changed()
    for key in (phi.key, old_secondary):
        assert _info(api, phi, {"api-key": key}).status_code == 200, key
    _error(_info(api, phi, {"api-key": phi.secondary_key}), 401, "invalid_key")

    # azure-ai-ml regenerates by sending the key being replaced, even one the rule would refuse
    body = {"keyType": "Secondary", "keyValue": old_secondary}
    rotated = api.ok(api.post(world.endpoint("phi") + "/regenerateKeys", body), 200)
    assert rotated["primaryKey"] == phi.key and len(rotated["secondaryKey"]) == 64
    _error(_info(api, phi, {"api-key": old_secondary}), 401, "invalid_key")
    for key in rotated.values():
        assert _info(api, phi, {"api-key": key}).status_code == 200
    # the rotation rewrote both digests, scoped to the endpoint
    with services.db.read() as connection:
        row = connection.execute(select(tables.endpoint_keys)).mappings().one()
    endpoint_id = world.endpoint("phi")
    assert row["primary_digest"] == key_digest(vault, endpoint_id, phi.key) != vault.digest(phi.key)
    assert row["secondary_digest"] == key_digest(vault, endpoint_id, rotated["secondaryKey"])
