"""The openai-upstream engine behind a Target URI: what reaches the upstream under each
extra-parameters mode, fields relayed untouched (tools), the upstream's own key, upstream
failures mapped to our envelope, and upstream embeddings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from support.api import Api
from support.fake_upstream import FakeUpstream, fake_upstream
from support.gateway import (
    UPSTREAM_EMBED_MODEL,
    UPSTREAM_MODEL,
    Deployed,
    deploy,
    free_port,
    put_model,
    upstream_artifact,
)

UNREACHABLE_MODEL = "azureml://registries/local/models/unreachable"
KEYED_MODEL = "azureml://registries/local/models/keyed-upstream"
MESSAGES = [{"role": "user", "content": "hi"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream() as running:
        yield running


@pytest.fixture
def endpoints(api: Api, upstream: FakeUpstream) -> dict[str, Deployed]:
    world = api.world()
    put_model(api, UPSTREAM_MODEL, upstream_artifact(upstream.url))
    put_model(api, UPSTREAM_EMBED_MODEL, upstream_artifact(upstream.url), task="embeddings")
    put_model(api, KEYED_MODEL, upstream_artifact(upstream.url, apiKey="sk-upstream-secret"))
    put_model(api, UNREACHABLE_MODEL, upstream_artifact(f"http://127.0.0.1:{free_port()}/v1"))
    return {
        "chat": deploy(api, world, "chat", UPSTREAM_MODEL),
        "embed": deploy(api, world, "embed", UPSTREAM_EMBED_MODEL),
        "keyed": deploy(api, world, "keyed", KEYED_MODEL),
        "down": deploy(api, world, "down", UNREACHABLE_MODEL),
    }


def _post(
    api: Api, endpoint: Deployed, body: Any, route: str = "/chat/completions", **headers: str
) -> httpx.Response:
    return api.client.post(endpoint.route + route, json=body, headers=endpoint.headers(**headers))


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["x-ms-error-code"] == code
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["status"] == status
    return error


def test_the_relayed_body(api: Api, endpoints: dict[str, Deployed], upstream: FakeUpstream) -> None:
    body = {
        "messages": MESSAGES,
        "model": "whatever-the-client-says",
        "temperature": 0.2,
        "max_tokens": 5,
        "seed": 3,
    }
    response = _post(api, endpoints["chat"], body)
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "fake-upstream-chat"  # our name, not the upstream's
    sent = upstream.requests[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"] == {
        "messages": MESSAGES,
        "model": "up-model",
        "temperature": 0.2,
        "max_tokens": 5,
        "seed": 3,
        "stream": False,
    }


def test_extra_parameters_modes(api: Api, endpoints: dict[str, Deployed], upstream: FakeUpstream) -> None:
    chat = endpoints["chat"]
    body = {"messages": MESSAGES, "safe_prompt": True, "top_k": 5}
    before = len(upstream.requests)
    for headers in ({}, {"extra-parameters": "error"}, {"extra-parameters": "ERROR"}):
        error = _error(_post(api, chat, body, **headers), 422, "extra_parameters_not_allowed")
        assert error["param"] in ("safe_prompt", "top_k")
        assert "safe_prompt" in error["message"] and "top_k" in error["message"]
    assert len(upstream.requests) == before  # refused before the upstream saw anything

    for mode in ("pass-through", "allow", " Pass-Through "):
        assert _post(api, chat, body, **{"extra-parameters": mode}).status_code == 200, mode
        sent = upstream.requests[-1]["body"]
        assert sent["safe_prompt"] is True and sent["top_k"] == 5
    for mode in ("drop", "ignore"):
        assert _post(api, chat, body, **{"extra-parameters": mode}).status_code == 200, mode
        sent = upstream.requests[-1]["body"]
        assert "safe_prompt" not in sent and "top_k" not in sent
        assert sent["messages"] == MESSAGES
    # extras inside a message are the message's own business, not top-level extra parameters
    nested = {"messages": [{"role": "user", "content": "hi", "cache_control": {"type": "ephemeral"}}]}
    assert _post(api, chat, nested).status_code == 200
    bad = _error(_post(api, chat, body, **{"extra-parameters": "sometimes"}), 400, "invalid_header")
    assert bad["param"] == "extra-parameters"


def test_streams_are_relayed_with_extras(
    api: Api, endpoints: dict[str, Deployed], upstream: FakeUpstream
) -> None:
    body = {"messages": MESSAGES, "stream": True, "top_k": 5, "stream_options": {"include_usage": False}}
    response = _post(api, endpoints["chat"], body, **{"extra-parameters": "pass-through"})
    assert response.status_code == 200
    assert response.text.endswith("data: [DONE]\n\n")
    sent = upstream.requests[-1]["body"]
    assert sent["top_k"] == 5 and sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}  # every stream is metered


def test_tools_and_response_format_reach_the_upstream(
    api: Api, endpoints: dict[str, Deployed], upstream: FakeUpstream
) -> None:
    body = {
        "messages": MESSAGES,
        "tools": TOOLS,
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "response_format": {"type": "json_object"},
        "n": 2,
        "logprobs": True,
        "top_logprobs": 2,
    }
    response = _post(api, endpoints["chat"], body)
    assert response.status_code == 200, response.text
    sent = upstream.requests[-1]["body"]
    for field in (
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "n",
        "logprobs",
        "top_logprobs",
    ):
        assert sent[field] == body[field], field


def test_the_upstream_key_is_sent_and_the_endpoint_key_is_not(
    api: Api, endpoints: dict[str, Deployed], upstream: FakeUpstream
) -> None:
    keyed, chat = endpoints["keyed"], endpoints["chat"]
    assert _post(api, keyed, {"messages": MESSAGES}).status_code == 200
    headers = {k.lower(): v for k, v in upstream.requests[-1]["headers"].items()}
    assert headers["authorization"] == "Bearer sk-upstream-secret"
    assert "api-key" not in headers
    assert keyed.key not in str(upstream.requests[-1])
    response = api.client.post(
        chat.route + "/chat/completions",
        json={"messages": MESSAGES},
        headers={"Authorization": f"Bearer {chat.key}"},
    )
    assert response.status_code == 200
    headers = {k.lower(): v for k, v in upstream.requests[-1]["headers"].items()}
    assert "authorization" not in headers and "api-key" not in headers
    # the upstream key never shows in the catalog
    model = api.ok(api.get(KEYED_MODEL.removeprefix("azureml:/") + "/versions/1"), 200)
    assert "sk-upstream-secret" not in str(model)


def test_upstream_failures_in_our_envelope(api: Api, endpoints: dict[str, Deployed]) -> None:
    chat = endpoints["chat"]
    failed = _error(
        _post(api, chat, {"messages": [{"role": "user", "content": "FAIL500"}]}), 502, "UpstreamError"
    )
    assert "500" in failed["message"] and "upstream exploded" in failed["message"]
    rejected = _error(
        _post(api, chat, {"messages": [{"role": "user", "content": "FAIL400"}]}), 400, "upstream_rejected"
    )
    assert "bad upstream request" in rejected["message"]
    for body in ({"messages": MESSAGES}, {"messages": MESSAGES, "stream": True}):
        down = _post(api, endpoints["down"], body)
        _error(down, 503, "upstream_unreachable")
        assert down.headers["retry-after"]
    down = _post(api, endpoints["down"], {"prompt": "hi"}, "/completions")
    _error(down, 503, "upstream_unreachable")
    # and the endpoint that works still works
    assert _post(api, chat, {"messages": MESSAGES}).status_code == 200


def test_upstream_embeddings(api: Api, endpoints: dict[str, Deployed], upstream: FakeUpstream) -> None:
    body = {"input": ["a", "b"], "dimensions": 3, "encoding_format": "float", "input_type": "query"}
    response = _post(api, endpoints["embed"], body, "/v1/embeddings")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model"] == "fake-upstream-embed"
    assert [d["index"] for d in answer["data"]] == [0, 1]
    sent = upstream.requests[-1]
    assert sent["path"] == "/v1/embeddings"
    assert sent["body"] == {**body, "model": "up-model"}  # no `stream`: embeddings do not stream
