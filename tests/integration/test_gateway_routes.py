"""The routes under a Target URI: /info, /v1/models, the /v1/ aliases, 404 'modality not supported'
for a route the model cannot serve, unknown routes and methods, request ids, and the overhead
header on every response (errors included)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from support.api import Api
from support.fake_upstream import FakeUpstream, fake_upstream
from support.gateway import (
    UPSTREAM_EMBED_MODEL,
    UPSTREAM_MODEL,
    WORDLLAMA_MODEL,
    Deployed,
    deploy,
    put_model,
    upstream_artifact,
)

CHAT = {"messages": [{"role": "user", "content": "hi"}]}
EMBED = {"input": "hello"}


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream() as running:
        yield running


@pytest.fixture
def endpoints(api: Api, upstream: FakeUpstream) -> dict[str, Deployed]:
    world = api.world()
    put_model(api, UPSTREAM_MODEL, upstream_artifact(upstream.url), provider="Fake Labs")
    put_model(api, UPSTREAM_EMBED_MODEL, upstream_artifact(upstream.url), task="embeddings")
    put_model(api, WORDLLAMA_MODEL, {"kind": "wordllama"}, task="embeddings", provider="wordllama")
    return {
        "chat": deploy(api, world, "chat", UPSTREAM_MODEL),
        "embed": deploy(api, world, "embed", UPSTREAM_EMBED_MODEL),
        "wordllama": deploy(api, world, "wl", WORDLLAMA_MODEL),
    }


def _error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["x-ms-error-code"] == code
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["status"] == status


def test_info_and_models_under_both_prefixes(api: Api, endpoints: dict[str, Deployed]) -> None:
    chat, embed = endpoints["chat"], endpoints["embed"]
    for prefix in ("", "/v1"):
        info = api.client.get(f"{chat.route}{prefix}/info", headers=chat.headers())
        assert info.status_code == 200, info.text
        assert info.json() == {
            "model_name": "fake-upstream-chat",
            "model_type": "chat_completion",
            "model_provider_name": "Fake Labs",
        }
        assert (
            api.client.get(f"{embed.route}{prefix}/info", headers=embed.headers()).json()["model_type"]
            == "embeddings"
        )
        models = api.client.get(f"{chat.route}{prefix}/models", headers=chat.headers())
        assert models.status_code == 200, models.text
        body = models.json()
        assert body["object"] == "list"
        assert [(m["id"], m["object"], m["owned_by"]) for m in body["data"]] == [
            ("fake-upstream-chat", "model", "Fake Labs")
        ]
    # a trailing slash is the same route
    assert api.client.get(f"{chat.route}/v1/info/", headers=chat.headers()).status_code == 200


def test_chat_and_completions_under_both_prefixes(
    api: Api, endpoints: dict[str, Deployed], upstream: FakeUpstream
) -> None:
    chat = endpoints["chat"]
    for prefix in ("", "/v1"):
        response = api.client.post(
            f"{chat.route}{prefix}/chat/completions", json=CHAT, headers=chat.headers()
        )
        assert response.status_code == 200, response.text
        assert response.json()["model"] == "fake-upstream-chat"
        assert upstream.requests[-1]["path"] == "/v1/chat/completions"
        text = api.client.post(
            f"{chat.route}{prefix}/completions", json={"prompt": "hi"}, headers=chat.headers()
        )
        assert text.status_code == 200, text.text
        assert upstream.requests[-1]["path"] == "/v1/completions"
    embed = endpoints["embed"]
    for prefix in ("", "/v1"):
        response = api.client.post(f"{embed.route}{prefix}/embeddings", json=EMBED, headers=embed.headers())
        assert response.status_code == 200, response.text
        assert upstream.requests[-1]["path"] == "/v1/embeddings"


def test_a_route_the_model_cannot_serve_is_404_modality(
    api: Api, endpoints: dict[str, Deployed], upstream: FakeUpstream
) -> None:
    chat, embed, wordllama = endpoints["chat"], endpoints["embed"], endpoints["wordllama"]
    before = len(upstream.requests)
    cases = [
        (chat, "/embeddings", EMBED),
        (chat, "/v1/embeddings", EMBED),
        (chat, "/images/embeddings", {"input": [{"image": "data:image/png;base64,AAAA"}]}),
        (embed, "/chat/completions", CHAT),
        (embed, "/completions", {"prompt": "hi"}),
        (embed, "/images/embeddings", {"input": [{"image": "data:image/png;base64,AAAA"}]}),
        (wordllama, "/chat/completions", CHAT),
        (wordllama, "/v1/chat/completions", {**CHAT, "stream": True}),
        (wordllama, "/completions", {"prompt": "hi"}),
        (wordllama, "/images/embeddings", {"input": [{"image": "data:image/png;base64,AAAA"}]}),
    ]
    for endpoint, route, body in cases:
        response = api.client.post(endpoint.route + route, json=body, headers=endpoint.headers())
        _error(response, 404, "modality_not_supported")
        assert "not support" in response.json()["error"]["message"], (route, response.text)
    assert len(upstream.requests) == before  # the upstream was never asked


def test_unknown_routes_and_wrong_methods(api: Api, endpoints: dict[str, Deployed]) -> None:
    chat = endpoints["chat"]
    for method, route in [
        ("GET", "/chat/completions"),
        ("PUT", "/chat/completions"),
        ("DELETE", "/info"),
        ("POST", "/info"),
        ("POST", "/v1/models"),
        ("GET", ""),
        ("GET", "/v1"),
        ("POST", "/v2/chat/completions"),
        ("POST", "/chat"),
        ("GET", "/v1/models/fake-upstream-chat"),
    ]:
        response = api.client.request(method, chat.route + route, headers=chat.headers())
        _error(response, 404, "route_not_found")
        assert "x-maas-overhead-ms" in response.headers


def test_request_ids(api: Api, endpoints: dict[str, Deployed]) -> None:
    chat = endpoints["chat"]
    seen = set()
    for route, body, key in [
        ("/chat/completions", CHAT, chat.key),
        ("/chat/completions", {**CHAT, "stream": True}, chat.key),
        ("/chat/completions", CHAT, "wrong"),
        ("/nowhere", CHAT, chat.key),
    ]:
        response = api.client.post(
            chat.route + route,
            json=body,
            headers={"api-key": key, "x-ms-client-request-id": f"client-{len(seen)}"},
        )
        assert response.headers["x-ms-client-request-id"] == f"client-{len(seen)}"
        request_id = response.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)
        seen.add(request_id)
    assert len(seen) == 4  # a fresh id for every request
    response = api.client.get(chat.route + "/info", headers=chat.headers())
    assert "x-ms-client-request-id" not in response.headers
    assert response.headers["x-request-id"]


def test_overhead_header_on_every_response(api: Api, endpoints: dict[str, Deployed]) -> None:
    chat, wordllama = endpoints["chat"], endpoints["wordllama"]
    responses = [
        api.client.get(chat.route + "/info", headers=chat.headers()),
        api.client.get(chat.route + "/v1/models", headers=chat.headers()),
        api.client.post(chat.route + "/chat/completions", json=CHAT, headers=chat.headers()),
        api.client.post(
            chat.route + "/chat/completions", json={**CHAT, "stream": True}, headers=chat.headers()
        ),
        api.client.post(wordllama.route + "/embeddings", json=EMBED, headers=wordllama.headers()),
        api.client.post(chat.route + "/chat/completions", json=CHAT),  # 401
        api.client.post(chat.route + "/embeddings", json=EMBED, headers=chat.headers()),  # 404
        api.client.post(chat.route + "/chat/completions", content=b"{", headers=chat.headers()),  # 400
        api.client.post(chat.route + "/chat/completions", json={"messages": []}, headers=chat.headers()),
        api.client.get("/endpoints/eastus2/never-was/info"),  # 404
    ]
    for response in responses:
        value = response.headers.get("x-maas-overhead-ms")
        assert value is not None, (response.status_code, response.text)
        assert re.fullmatch(r"\d+\.\d{3}", value), value
        assert float(value) >= 0
