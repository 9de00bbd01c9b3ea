from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.api import FREE_MODEL, Api
from support.fake_upstream import FakeUpstream, fake_upstream


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream() as running:
        yield running


def test_chat_through_an_upstream_endpoint(api: Api, upstream: FakeUpstream) -> None:
    world = api.world()
    path = FREE_MODEL.removeprefix("azureml:/") + "/versions/2"
    api.ok(
        api.put(
            path,
            {
                "properties": {
                    "artifact": {"kind": "openai-upstream", "url": upstream.url, "upstreamModel": "up-model"}
                }
            },
        )
    )
    created = api.create_endpoint(world, "phi", FREE_MODEL)
    assert api.wait_operation(created)["status"] == "Succeeded"
    uri = api.ok(api.get(world.endpoint("phi")), 200)["properties"]["inferenceEndpoint"]["uri"]
    key = api.ok(api.post(world.endpoint("phi") + "/listKeys"), 200)["primaryKey"]
    route = uri.removeprefix("http://testserver")
    body = {"messages": [{"role": "user", "content": "hi"}]}
    response = api.client.post(route + "/chat/completions", json=body, headers={"api-key": key})
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Hello from the fake upstream."
    assert upstream.requests[-1]["body"]["model"] == "up-model"
    assert float(response.headers["x-maas-overhead-ms"]) >= 0
    streamed = api.client.post(
        route + "/v1/chat/completions",
        json={**body, "stream": True},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert streamed.status_code == 200
    events = [line for line in streamed.text.split("\n\n") if line]
    assert events[-1] == "data: [DONE]"
    assert all(e.startswith("data: ") for e in events)
    assert (
        api.client.post(route + "/chat/completions", json=body, headers={"api-key": "wrong"}).status_code
        == 401
    )
