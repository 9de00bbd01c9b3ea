"""Who may call a Target URI: api-key or Bearer, primary or secondary key, a key opens only its own
endpoint, rotation and deletion take effect at once, Unhealthy endpoints answer 403, and
host-based routing ({endpoint}.{region}.{domain}) when the operator configures a domain."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

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
