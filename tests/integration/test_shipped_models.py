"""The shipped models are in the catalog on first start and serve the seed's whole flow:
the chat model as a paid marketplace offer (subscribe, deploy, call), the embeddings for free."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from maas.core.settings import Settings
from maas.server.app import create_server_app
from maas.server.bootstrap import prepare
from support.api import Api, World

CHAT = "azureml://registries/maas/models/maas-tiny-chat"
EMBED = "azureml://registries/maas/models/wordllama-embed"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    data = tmp_path_factory.mktemp("shipped")
    settings = Settings(
        data_dir=data,
        secret=SecretStr("s" * 40),
        admin_token=SecretStr("admin-token-shipped"),
        public_url="http://testserver",
    )
    prepare(settings)
    with TestClient(create_server_app(settings), raise_server_exceptions=False) as client:
        yield Api(client, "admin-token-shipped")


def _call(api: Api, world: World, name: str, route: str, body: dict[str, object]) -> dict[str, object]:
    endpoint = api.ok(api.get(world.endpoint(name)), 200)
    uri = str(endpoint["properties"]["inferenceEndpoint"]["uri"]).removeprefix("http://testserver")
    key = api.ok(api.post(world.endpoint(name) + "/listKeys"), 200)["primaryKey"]
    response = api.client.post(uri + route, json=body, headers={"api-key": key})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_catalog_has_both_models_with_their_offers(api: Api) -> None:
    names = {m["name"] for m in api.ok(api.get("/registries/maas/models"), 200)["value"]}
    assert names == {"maas-tiny-chat", "wordllama-embed"}
    chat = api.ok(api.get("/providers/Microsoft.MaaS/offers/maas-tiny-chat"), 200)["properties"]
    assert chat["kind"] == "Marketplace" and chat["terms"]
    assert {m["meterId"]: m["pricePer1K"] > 0 for m in chat["meters"]} == {
        "paygo-inference-input-tokens": True,
        "paygo-inference-output-tokens": True,
    }
    embed = api.ok(api.get("/providers/Microsoft.MaaS/offers/wordllama-embed"), 200)["properties"]
    assert embed["kind"] == "FirstParty" and embed["meters"] == []
    version = api.ok(api.get("/registries/maas/models/maas-tiny-chat/versions/1"), 200)["properties"]
    assert version["artifact"] == {"kind": "huggingface", "path": "shipped:maas-tiny-chat"}
    assert Path(__file__).exists()


def test_seed_flow_on_the_shipped_models(api: Api) -> None:
    world = api.world(World(ws="shipped-ws"), catalog=False)
    assert api.create_endpoint(world, "tiny", CHAT).status_code == 400  # marketplace: subscribe first
    api.ok(api.subscribe(world, "maas-tiny-chat", CHAT), 201)
    assert api.wait_operation(api.create_endpoint(world, "tiny", CHAT))["status"] == "Succeeded"
    assert api.wait_operation(api.create_endpoint(world, "embed", EMBED))["status"] == "Succeeded"

    ask = {"messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 30}
    first = _call(api, world, "tiny", "/chat/completions", ask)
    second = _call(api, world, "tiny", "/chat/completions", ask)
    text = first["choices"][0]["message"]["content"]  # type: ignore[index]
    # The model's generation_config asks for greedy decoding: without a temperature, answers repeat.
    assert text == second["choices"][0]["message"]["content"]  # type: ignore[index]
    assert "model" in text.lower()
    assert first["usage"]["prompt_tokens"] > 0  # type: ignore[index]

    vectors = _call(api, world, "embed", "/embeddings", {"input": ["a cat", "a dog"]})
    assert [len(item["embedding"]) for item in vectors["data"]] == [256, 256]  # type: ignore[union-attr]
