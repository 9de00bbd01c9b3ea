"""The serverless pool through the API: per-model serving settings in the catalog, the operator's
pool view and restart, Prometheus /metrics, and the gateway's answers while a pool cold-starts
(503 + Retry-After past the timeout) or cannot load its model (503 with the loader's message)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from maas.core.settings import Settings
from maas.server.app import create_server_app
from support.api import Api, World
from support.gateway import deploy, put_model

CHAT_MODEL = "azureml://registries/pool-tests/models/tiny-chat"
SHIPPED = {"kind": "huggingface", "path": "shipped:maas-tiny-chat"}
POOLS = "/providers/Microsoft.MaaS/pools"


def _chat(client: TestClient, route: str, key: str) -> Any:
    return client.post(
        route + "/chat/completions",
        headers={"api-key": key},
        json={"messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 4, "temperature": 0},
    )


def _pool(api: Api, model: str = "tiny-chat") -> dict[str, Any]:
    pools = api.ok(api.get(POOLS))["value"]
    matches = [p for p in pools if p["properties"]["model"] == model]
    assert len(matches) == 1, pools
    return matches[0]


@pytest.mark.parametrize(
    ("serving", "field"),
    [
        ({"keepAlive": -1}, "keepAlive"),
        ({"keepAlive": "forever"}, "keepAlive"),
        ({"maxReplicas": 0}, "maxReplicas"),
        ({"coldStartTimeout": 0}, "coldStartTimeout"),
        ({"replicas": 2}, "replicas"),
    ],
)
def test_bad_serving_settings_are_refused_clearly(api: Api, serving: dict[str, Any], field: str) -> None:
    body = {"properties": {"artifact": SHIPPED, "serving": serving}}
    response = api.put("/registries/pool-tests/models/bad/versions/1", body)
    assert response.status_code == 400, response.text
    assert field in response.text


def test_pool_view_metrics_scale_to_zero_and_restart(api: Api, client: TestClient) -> None:
    put_model(api, CHAT_MODEL, SHIPPED, serving={"keepAlive": 0, "maxReplicas": 3})
    version = api.ok(api.get("/registries/pool-tests/models/tiny-chat/versions/1"))
    assert version["properties"]["serving"] == {"keepAlive": 0, "maxReplicas": 3}
    world = api.world()
    endpoint = deploy(api, world, "pooled", CHAT_MODEL)

    answered = _chat(client, endpoint.route, endpoint.key)
    assert answered.status_code == 200, answered.text
    pool = _pool(api)
    props = pool["properties"]
    assert pool["type"] == "Microsoft.MaaS/pools" and pool["id"] == f"{POOLS}/{pool['name']}"
    assert props["backend"] == "local" and props["keepAlive"] == 0 and props["maxReplicas"] == 3
    assert props["coldStarts"] == 1 and props["lastColdStart"]["seconds"] > 0
    assert props["requests"] == 1 and props["generatedTokens"] > 0

    deadline = time.monotonic() + 30
    while _pool(api)["properties"]["replicaCount"] != 0:
        assert time.monotonic() < deadline, "the pool did not scale to zero"
        time.sleep(0.05)
    assert _pool(api)["properties"]["state"] == "Stopped"

    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    labels = f'pool="{pool["name"]}",model="tiny-chat"'
    assert f"maas_pool_cold_starts_total{{{labels}" in text
    assert f"maas_pool_replicas{{{labels}" in text
    assert "maas_pool_queue_depth{" in text and "maas_tokens_per_second{" in text
    assert (
        "maas_pool_cold_start_seconds_bucket{" in text and "maas_time_to_first_token_seconds_count{" in text
    )

    one = api.ok(api.get(f"{POOLS}/{pool['name']}"))
    assert one["name"] == pool["name"]
    restarted = api.ok(api.post(f"{POOLS}/{pool['name']}/restart"))
    assert restarted["properties"]["state"] == "Stopped"
    missing = api.get(f"{POOLS}/no-such-pool")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "PoolNotFound"
    # and after all that the endpoint still answers (a cold start again)
    assert _chat(client, endpoint.route, endpoint.key).status_code == 200
    assert _pool(api)["properties"]["coldStarts"] == 2


def test_pools_are_for_operators(api: Api) -> None:
    world = api.world()
    principal_id, token = api.principal("ws-owner")
    owner_role = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
    api.ok(api.assign(world.ws_path, principal_id, owner_role), 201)
    user = api.as_token(token)
    assert user.get(POOLS).status_code == 403
    assert user.post(f"{POOLS}/x/restart").status_code == 403


def test_cold_start_timeout_answers_503_with_retry_after(api: Api, client: TestClient) -> None:
    put_model(api, CHAT_MODEL, SHIPPED, serving={"coldStartTimeout": 0.001})
    endpoint = deploy(api, api.world(), "slowstart", CHAT_MODEL)
    refused = _chat(client, endpoint.route, endpoint.key)
    assert refused.status_code == 503, refused.text
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ms-error-code"] == "cold_start_timeout"
    assert "still starting" in refused.json()["error"]["message"]


def test_model_that_cannot_load_is_503_and_the_pool_shows_why(
    api: Api, client: TestClient, tmp_path: Any
) -> None:
    folder = tmp_path / "broken-model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama"}')  # no tokenizer, no weights
    put_model(api, CHAT_MODEL, {"kind": "huggingface", "path": str(folder)})
    endpoint = deploy(api, api.world(World()), "broken", CHAT_MODEL)
    messages = set()
    for _ in range(2):
        refused = _chat(client, endpoint.route, endpoint.key)
        assert refused.status_code == 503
        error = refused.json()["error"]
        assert error["code"] == "model_load_failed"
        assert error["message"].startswith("The model 'tiny-chat' could not be loaded: ")
        messages.add(error["message"])
    assert len(messages) == 1  # the second request got the recorded failure, not a new attempt
    props = _pool(api)["properties"]
    assert props["state"] == "Failed" and props["error"] and props["error"] in messages.pop()
    assert props["replicaCount"] == 0 and props["coldStarts"] == 0


def test_pinned_models_with_endpoints_start_with_the_server(api: Api, settings: Settings) -> None:
    put_model(api, CHAT_MODEL, SHIPPED, serving={"keepAlive": "pinned"})
    put_model(api, "azureml://registries/pool-tests/models/lazy", SHIPPED)  # not pinned
    world = api.world()
    deploy(api, world, "pinned", CHAT_MODEL)
    deploy(api, world, "lazy", "azureml://registries/pool-tests/models/lazy")
    # another server process on the same store: no request reaches it, yet the pinned pool runs
    with TestClient(create_server_app(settings), raise_server_exceptions=False) as second:
        other = Api(second, api.token)
        deadline = time.monotonic() + 30
        while True:
            pools = {p["properties"]["model"]: p["properties"] for p in other.ok(other.get(POOLS))["value"]}
            if pools.get("tiny-chat", {}).get("replicaCount") == 1:
                break
            assert time.monotonic() < deadline, pools
            time.sleep(0.05)
        assert pools["tiny-chat"]["keepAlive"] == "pinned"
        assert pools["tiny-chat"]["coldStarts"] == 0 and pools["tiny-chat"]["requests"] == 0
        assert "lazy" not in pools
