"""The Ray Serve backend end to end: one real `maas serve --serving ray` (a local Ray instance)
serves the shipped chat and embedding models through Ray Serve deployments, scales a pool to zero
after its keep-alive and back up on the next request, and marks a pool Failed when its model does
not load. Figures on a 2-core machine: Ray + Serve start ~6 s, a cold chat pool ~8 s."""

from __future__ import annotations

import importlib.util
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.api import Api, World
from support.server import RunningServer, running_server

if importlib.util.find_spec("ray") is None and os.environ.get("CI") != "true":
    pytest.skip("Ray Serve is not installed (pip install 'maas[ray]')", allow_module_level=True)

CHAT = "azureml://registries/maas/models/maas-tiny-chat"
EMBED = "azureml://registries/maas/models/wordllama-embed"
BROKEN = "azureml://registries/local/models/broken"
POOLS = "/providers/Microsoft.MaaS/pools"
ASK = {"messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 12}


@dataclass
class RayWorld:
    server: RunningServer
    api: Api
    world: World
    tmp: Path

    def target(self, name: str) -> tuple[str, str]:
        endpoint = self.api.ok(self.api.get(self.world.endpoint(name)), 200)
        key = self.api.ok(self.api.post(self.world.endpoint(name) + "/listKeys"), 200)["primaryKey"]
        return str(endpoint["properties"]["inferenceEndpoint"]["uri"]), str(key)

    def post(self, name: str, route: str, body: dict[str, Any]) -> httpx.Response:
        uri, key = self.target(name)
        return httpx.post(uri + route, json=body, headers={"api-key": key}, timeout=120)

    def pool(self, model: str) -> dict[str, Any]:
        pools = self.api.ok(self.api.get(POOLS), 200)["value"]
        found = [p["properties"] for p in pools if p["properties"]["model"] == model]
        assert len(found) == 1, pools
        return dict(found[0])

    def deploy(self, name: str, model: str) -> None:
        status = self.api.wait_operation(self.api.create_endpoint(self.world, name, model), timeout=30)
        assert status["status"] == "Succeeded", status


@pytest.fixture(scope="module")
def ray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayWorld]:
    tmp = tmp_path_factory.mktemp("ray")
    env = {"MAAS_POOL_KEEP_ALIVE": "2", "MAAS_POOL_COLD_START_TIMEOUT": "90"}
    with (
        running_server(
            tmp / "data", extra_env=env, extra_args=["--serving", "ray"], start_timeout=90
        ) as server,
        server.client() as client,
    ):
        client.timeout = httpx.Timeout(120)
        api = Api(client, server.token)  # type: ignore[arg-type]
        world = api.world(World(ws="ray-ws"), catalog=False)
        api.ok(api.subscribe(world, "maas-tiny-chat", CHAT), 201)
        found = RayWorld(server, api, world, tmp)
        found.deploy("tiny", CHAT)
        found.deploy("embed", EMBED)
        yield found


def test_chat_and_streamed_chat_are_answered_by_a_ray_replica(ray: RayWorld) -> None:
    response = ray.post("tiny", "/chat/completions", ASK)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["choices"][0]["message"]["content"]
    assert answer["usage"]["completion_tokens"] > 0

    streamed = ray.post("tiny", "/chat/completions", {**ASK, "stream": True})
    assert streamed.status_code == 200, streamed.text
    assert streamed.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in streamed.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "error" not in chunks[-1], chunks[-1]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])

    pool = ray.pool("maas-tiny-chat")
    assert pool["backend"] == "ray"
    assert pool["state"] == "Ready" and pool["replicaCount"] >= 1, pool
    assert pool["requests"] == 2 and pool["coldStarts"] == 1
    assert pool["keepAlive"] == 2.0 and pool["error"] is None


def test_embeddings_are_answered_by_a_ray_replica(ray: RayWorld) -> None:
    response = ray.post("embed", "/embeddings", {"input": ["a cat", "a dog"]})
    assert response.status_code == 200, response.text
    assert [len(item["embedding"]) for item in response.json()["data"]] == [256, 256]
    assert ray.pool("wordllama-embed")["backend"] == "ray"


def test_an_idle_pool_scales_to_zero_and_back(ray: RayWorld) -> None:
    assert ray.post("tiny", "/chat/completions", ASK).status_code == 200
    before = ray.pool("maas-tiny-chat")
    # served by a replica; it may already be idle and gone by now on a busy machine (keep-alive 2 s)
    assert before["requests"] >= 1 and before["coldStarts"] >= 1, before
    deadline = time.monotonic() + 60  # keep-alive 2 s; Serve's metrics and delays add a few more
    while (pool := ray.pool("maas-tiny-chat"))["replicaCount"] > 0:
        assert time.monotonic() < deadline, pool
        time.sleep(0.5)
    assert pool["state"] == "Stopped", pool

    response = ray.post("tiny", "/chat/completions", ASK)
    assert response.status_code == 200, response.text
    after = ray.pool("maas-tiny-chat")
    assert after["coldStarts"] == before["coldStarts"] + 1
    assert after["lastColdStart"]["seconds"] > 0
    assert after["requests"] == before["requests"] + 1


def test_a_model_that_does_not_load_fails_its_pool_until_restarted(ray: RayWorld) -> None:
    folder = ray.tmp / "broken"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    ray.api.add_model(BROKEN, artifact={"kind": "huggingface", "path": str(folder)})
    ray.api.ok(ray.api.offer("broken", BROKEN), 200, 201)
    ray.deploy("broken", BROKEN)

    response = ray.post("broken", "/chat/completions", ASK)
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "model_load_failed"
    assert "Traceback" not in response.json()["error"]["message"]
    pool = ray.pool("broken")
    assert pool["state"] == "Failed" and pool["error"], pool
    assert pool["error"] in response.json()["error"]["message"]

    again = ray.post("broken", "/chat/completions", ASK)  # no retry: the same answer at once
    assert again.status_code == 503 and again.json()["error"]["code"] == "model_load_failed"
    assert ray.pool("broken")["requests"] == 0

    restarted = ray.api.ok(ray.api.post(f"{POOLS}/{pool['name']}/restart"), 200)["properties"]
    assert restarted["state"] == "Stopped" and restarted["error"] is None
    retried = ray.post("broken", "/chat/completions", ASK)  # an operator's restart tries again
    # Known race (seen once in six CI runs, 2026-11-25): the redeploy's failure is sometimes not
    # noticed and the request ends at the pool's coldStartTimeout instead. Either way the restart
    # tried to load the model again rather than repeating the stored failure.
    assert retried.status_code == 503
    assert retried.json()["error"]["code"] in ("model_load_failed", "cold_start_timeout"), retried.text
