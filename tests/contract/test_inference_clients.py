"""Contract: the real inference client libraries against each endpoint's Target URI.

One plain-HTTP `maas serve` per module (see `inference_world.py`), with three serverless endpoints:
a tiny random-init Llama served by the `transformers` engine (`tiny-chat`), a chat model relayed to
a fake OpenAI upstream in this process (`upstream-chat`), and the default wordllama embeddings
model (`wordllama-embed`). Clients are used as their documentation shows, pointed at the Target URI.

What the clients send, as observed through their request hooks (and asserted below):
- openai (httpx2 inside): `Authorization: Bearer <key>` only; routes `{base_url}/chat/completions`,
  `/completions`, `/embeddings`, `GET /models` — so with `base_url=uri` the gateway is hit without
  `/v1`, and with `base_url=uri + "/v1"` under `/v1/`. `embeddings.create` without
  `encoding_format` sends `"encoding_format": "base64"` and decodes to floats itself; with an
  explicit `"base64"` it hands back the raw string.
- azure-ai-inference 1.0.0b9: both `api-key: <key>` and `Authorization: Bearer <key>` on every
  request, `?api-version=2024-05-01-preview`, `Accept: application/json` (also when streaming);
  `model_extras` adds `extra-parameters: pass-through`; `load_client` and `get_model_info` call
  `GET {endpoint}/info`.
- langchain-openai (ChatOpenAI): through the openai client, `Authorization: Bearer`, POST
  `{base_url}/chat/completions`; `stream_usage=True` adds `stream_options.include_usage`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import struct
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from azure.ai.inference import ChatCompletionsClient, EmbeddingsClient, load_client
from azure.ai.inference.aio import ChatCompletionsClient as AsyncChatCompletionsClient
from azure.ai.inference.models import (
    ChatCompletionsToolDefinition,
    CompletionsFinishReason,
    EmbeddingEncodingFormat,
    EmbeddingInputType,
    FunctionDefinition,
    ModelType,
    SystemMessage,
    UserMessage,
)
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_openai import ChatOpenAI

from contract.inference_world import (
    EMBED,
    TINY,
    UPSTREAM,
    UPSTREAM_WIRE_MODEL,
    Endpoint,
    InferenceWorld,
    inference_world,
)

pytestmark = pytest.mark.contract

DIMS = 256  # wordllama's embedding size
MAX_TOKENS = 8  # the tiny model is random: keep every generation short
CHAT_ENDPOINTS = [TINY, UPSTREAM]
PREFIXES = ["", "/v1"]
FAKE_TEXT = "Hello from the fake upstream."
FINISH = {"stop", "length"}
AZURE_FINISH = {CompletionsFinishReason.STOPPED, CompletionsFinishReason.TOKEN_LIMIT_REACHED}
TOOL = {
    "type": "function",
    "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InferenceWorld]:
    with inference_world(tmp_path_factory.mktemp("maas-inference")) as built:
        yield built


# -- recording what the clients send -------------------------------------------------------------
class Sent:
    """Requests a client sent: method, path (with query), lower-cased headers, JSON body."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def add(self, method: str, url: str, headers: dict[str, str], body: bytes | str | None) -> None:
        parsed = json.loads(body) if body else None
        self.requests.append(
            {
                "method": method,
                "url": url,
                "headers": {k.lower(): v for k, v in headers.items()},
                "body": parsed,
            }
        )

    # openai / langchain: an event hook on the openai client's own HTTP client (httpx2 in openai 3.x)
    def httpx_hook(self, request: Any) -> None:
        self.add(request.method, str(request.url), dict(request.headers), request.content)

    def httpx_client(self) -> Any:
        return openai.DefaultHttpxClient(event_hooks={"request": [self.httpx_hook]})

    # azure-ai-inference: azure-core's raw_request_hook
    def azure_hook(self, request: PipelineRequest[Any]) -> None:
        http = request.http_request
        body = http.body if isinstance(http.body, bytes | str) else None
        self.add(http.method, http.url, dict(http.headers), body)

    @property
    def last(self) -> dict[str, Any]:
        return self.requests[-1]

    def paths(self, endpoint: Endpoint) -> list[str]:
        return [r["method"] + " " + r["url"].removeprefix(endpoint.uri) for r in self.requests]


@pytest.fixture
def sent() -> Sent:
    return Sent()


def oai(endpoint: Endpoint, prefix: str = "", sent: Sent | None = None, **kwargs: Any) -> openai.OpenAI:
    if sent is not None:
        kwargs["http_client"] = sent.httpx_client()
    return openai.OpenAI(base_url=endpoint.uri + prefix, api_key=endpoint.key, max_retries=0, **kwargs)


def azure_chat(endpoint: Endpoint, sent: Sent | None = None, key: str | None = None) -> ChatCompletionsClient:
    hooks: dict[str, Any] = {"raw_request_hook": sent.azure_hook} if sent else {}
    return ChatCompletionsClient(
        endpoint=endpoint.uri, credential=AzureKeyCredential(key or endpoint.key), retry_total=0, **hooks
    )


def delta_texts(stream: Any) -> Iterator[str]:
    for chunk in stream:
        if chunk.choices:
            yield chunk.choices[0].delta.content or ""


def norm(vector: list[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


# -- openai ------------------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("name", CHAT_ENDPOINTS)
def test_openai_chat_completion(world: InferenceWorld, sent: Sent, name: str, prefix: str) -> None:
    endpoint = world[name]
    with oai(endpoint, prefix, sent) as client:
        response = client.chat.completions.create(
            model="anything",
            messages=[
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Hello there"},
            ],
            max_tokens=MAX_TOKENS,
        )
    assert response.object == "chat.completion"
    assert response.model == endpoint.model_name
    choice = response.choices[0]
    assert isinstance(choice.message.content, str)
    assert choice.message.role == "assistant"
    assert choice.finish_reason in FINISH
    assert response.usage is not None
    assert response.usage.prompt_tokens > 0
    assert 0 < response.usage.completion_tokens <= MAX_TOKENS
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens
    if name == UPSTREAM:
        assert choice.message.content == FAKE_TEXT
        assert world.upstream.requests[-1]["body"]["model"] == UPSTREAM_WIRE_MODEL
    # The openai client authenticates with a bearer token only, at {base_url}/chat/completions.
    assert sent.paths(endpoint) == [f"POST {prefix}/chat/completions"]
    assert sent.last["headers"]["authorization"] == f"Bearer {endpoint.key}"
    assert "api-key" not in sent.last["headers"]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("name", CHAT_ENDPOINTS)
def test_openai_chat_stream(world: InferenceWorld, sent: Sent, name: str, prefix: str) -> None:
    endpoint = world[name]
    with oai(endpoint, prefix, sent) as client:
        stream = client.chat.completions.create(
            model="anything",
            messages=[{"role": "user", "content": "Hello"}],
            max_tokens=MAX_TOKENS,
            stream=True,
        )
        chunks = list(stream)
    assert chunks
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert isinstance(text, str)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finishes) == 1
    assert finishes[0] in FINISH
    # Usage comes in the last chunk even without stream_options (the gateway meters every stream).
    with_usage = [chunk for chunk in chunks if chunk.usage is not None]
    assert with_usage
    assert with_usage[-1] is chunks[-1]
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens > 0
    if name == UPSTREAM:
        assert text == FAKE_TEXT
    assert "stream_options" not in sent.last["body"]


@pytest.mark.parametrize("name", CHAT_ENDPOINTS)
def test_openai_chat_stream_include_usage(world: InferenceWorld, sent: Sent, name: str) -> None:
    endpoint = world[name]
    with oai(endpoint, "/v1", sent) as client:
        stream = client.chat.completions.create(
            model="anything",
            messages=[{"role": "user", "content": "Hello"}],
            max_tokens=MAX_TOKENS,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    assert sent.last["body"]["stream_options"] == {"include_usage": True}
    last = chunks[-1]
    assert last.usage is not None
    assert last.usage.prompt_tokens > 0
    assert 0 < last.usage.completion_tokens <= MAX_TOKENS
    assert sum(chunk.usage is not None for chunk in chunks) == 1


@pytest.mark.parametrize("prefix", PREFIXES)
def test_openai_completions(world: InferenceWorld, sent: Sent, prefix: str) -> None:
    endpoint = world[TINY]
    with oai(endpoint, prefix, sent) as client:
        response = client.completions.create(model="anything", prompt="the cat sat", max_tokens=MAX_TOKENS)
        streamed = list(
            client.completions.create(model="anything", prompt="the cat", max_tokens=MAX_TOKENS, stream=True)
        )
    assert response.object == "text_completion"
    assert isinstance(response.choices[0].text, str)
    assert response.choices[0].finish_reason in FINISH
    assert response.usage is not None
    assert response.usage.prompt_tokens > 0
    assert streamed
    assert all(isinstance(chunk.choices[0].text, str) for chunk in streamed)
    assert streamed[-1].usage is not None
    assert streamed[-1].usage.prompt_tokens > 0
    assert sent.paths(endpoint) == [f"POST {prefix}/completions"] * 2


def test_openai_embeddings_default_decodes_base64(world: InferenceWorld, sent: Sent) -> None:
    endpoint = world[EMBED]
    with oai(endpoint, "", sent) as client:
        response = client.embeddings.create(model="anything", input=["hello world", "the cat sat"])
    # Without encoding_format the client asks for base64 and decodes the floats itself.
    assert sent.last["body"]["encoding_format"] == "base64"
    assert sent.paths(endpoint) == ["POST /embeddings"]
    assert [item.index for item in response.data] == [0, 1]
    for item in response.data:
        assert isinstance(item.embedding, list)
        assert len(item.embedding) == DIMS
        assert all(isinstance(x, float) for x in item.embedding)
        assert norm(item.embedding) == pytest.approx(1.0, abs=1e-4)
    assert response.data[0].embedding != response.data[1].embedding
    assert response.model == endpoint.model_name
    assert response.usage.prompt_tokens > 0


def test_openai_embeddings_float_and_explicit_base64(world: InferenceWorld, sent: Sent) -> None:
    endpoint = world[EMBED]
    with oai(endpoint, "/v1", sent) as client:
        floats = client.embeddings.create(model="anything", input="hello world", encoding_format="float")
        raw = client.embeddings.create(model="anything", input="hello world", encoding_format="base64")
    assert [r["body"]["encoding_format"] for r in sent.requests] == ["float", "base64"]
    vector = floats.data[0].embedding
    assert isinstance(vector, list)
    assert len(vector) == DIMS
    # Asked for base64 explicitly, the client returns the string untouched: little-endian float32.
    encoded = raw.data[0].embedding
    assert isinstance(encoded, str)
    decoded = struct.unpack(f"<{DIMS}f", base64.b64decode(encoded))
    assert decoded == pytest.approx(vector, abs=1e-6)


def test_openai_embeddings_dimensions(world: InferenceWorld, sent: Sent) -> None:
    endpoint = world[EMBED]
    with oai(endpoint, "", sent) as client:
        response = client.embeddings.create(model="anything", input="hello world", dimensions=64)
        with pytest.raises(openai.UnprocessableEntityError) as too_many:
            client.embeddings.create(model="anything", input="hello world", dimensions=DIMS + 1)
    assert sent.requests[0]["body"]["dimensions"] == 64
    assert len(response.data[0].embedding) == 64
    assert norm(response.data[0].embedding) == pytest.approx(1.0, abs=1e-4)
    assert too_many.value.status_code == 422
    assert too_many.value.code == "invalid_parameter"


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("name", [TINY, UPSTREAM, EMBED])
def test_openai_models_list(world: InferenceWorld, sent: Sent, name: str, prefix: str) -> None:
    endpoint = world[name]
    with oai(endpoint, prefix, sent) as client:
        models = list(client.models.list())
    assert [model.id for model in models] == [endpoint.model_name]
    assert models[0].object == "model"
    assert models[0].owned_by == endpoint.provider
    assert sent.paths(endpoint) == [f"GET {prefix}/models"]


@pytest.mark.parametrize("name", CHAT_ENDPOINTS)
def test_async_openai_chat(world: InferenceWorld, name: str) -> None:
    endpoint = world[name]

    async def call() -> tuple[Any, list[Any]]:
        async with openai.AsyncOpenAI(
            base_url=endpoint.uri + "/v1", api_key=endpoint.key, max_retries=0
        ) as client:
            messages: Any = [{"role": "user", "content": "Hello"}]
            response = await client.chat.completions.create(
                model="anything", messages=messages, max_tokens=MAX_TOKENS
            )
            stream = await client.chat.completions.create(
                model="anything", messages=messages, max_tokens=MAX_TOKENS, stream=True
            )
            return response, [chunk async for chunk in stream]

    response, chunks = asyncio.run(call())
    assert isinstance(response.choices[0].message.content, str)
    assert response.choices[0].finish_reason in FINISH
    assert response.usage.prompt_tokens > 0
    assert chunks[-1].usage is not None
    if name == UPSTREAM:
        assert response.choices[0].message.content == FAKE_TEXT
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == FAKE_TEXT


def test_openai_wrong_key_is_authentication_error(world: InferenceWorld) -> None:
    endpoint = world[TINY]
    messages: Any = [{"role": "user", "content": "Hello"}]
    wrong = openai.OpenAI(base_url=endpoint.uri, api_key="not-the-key", max_retries=0)
    with wrong, pytest.raises(openai.AuthenticationError) as caught:
        wrong.chat.completions.create(model="anything", messages=messages)
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_key"
    assert caught.value.response.headers["x-ms-error-code"] == "invalid_key"
    # A key opens only its own endpoint: the upstream endpoint's key is wrong here.
    other = openai.OpenAI(base_url=endpoint.uri, api_key=world[UPSTREAM].key, max_retries=0)
    with other, pytest.raises(openai.AuthenticationError):
        other.chat.completions.create(model="anything", messages=messages)
    # The secondary key works as well as the primary.
    secondary = openai.OpenAI(base_url=endpoint.uri, api_key=endpoint.secondary_key, max_retries=0)
    with secondary:
        assert secondary.chat.completions.create(model="anything", messages=messages, max_tokens=2).choices


def test_openai_api_key_header_takes_precedence(world: InferenceWorld) -> None:
    # The Azure-style `api-key` header is read first: a wrong bearer token next to it does not matter.
    endpoint = world[UPSTREAM]
    with openai.OpenAI(
        base_url=endpoint.uri, api_key="not-the-key", default_headers={"api-key": endpoint.key}, max_retries=0
    ) as client:
        response = client.chat.completions.create(
            model="anything", messages=[{"role": "user", "content": "Hi"}]
        )
    assert response.choices[0].message.content == FAKE_TEXT


def test_openai_tools_on_tiny_model_is_422(world: InferenceWorld) -> None:
    with oai(world[TINY]) as client, pytest.raises(openai.UnprocessableEntityError) as caught:
        client.chat.completions.create(
            model="anything", messages=[{"role": "user", "content": "Hello"}], tools=[TOOL]
        )
    error = caught.value
    assert error.status_code == 422
    assert error.code == "parameter_not_supported"
    assert error.param == "tools"
    assert error.response.headers["x-ms-error-code"] == "parameter_not_supported"
    assert isinstance(error.body, dict)
    assert error.body["status"] == 422


def test_openai_unsupported_route_is_not_found(world: InferenceWorld) -> None:
    with oai(world[EMBED]) as client, pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="anything", messages=[{"role": "user", "content": "Hello"}])
    assert caught.value.code == "modality_not_supported"
    with oai(world[TINY]) as client, pytest.raises(openai.NotFoundError) as caught:
        client.embeddings.create(model="anything", input="hello")
    assert caught.value.code == "modality_not_supported"


def test_openai_upstream_errors(world: InferenceWorld) -> None:
    with oai(world[UPSTREAM]) as client:
        with pytest.raises(openai.BadRequestError) as rejected:
            client.chat.completions.create(
                model="anything", messages=[{"role": "user", "content": "FAIL400"}]
            )
        with pytest.raises(openai.InternalServerError) as failed:
            client.chat.completions.create(
                model="anything", messages=[{"role": "user", "content": "FAIL500"}]
            )
    assert rejected.value.status_code == 400
    assert rejected.value.code == "upstream_rejected"
    assert failed.value.status_code == 502


def test_openai_stream_broken_midway_raises_api_error(world: InferenceWorld) -> None:
    # After the headers are sent, a failure becomes one final `data: {"error": ...}` event then
    # [DONE]; the openai client raises APIError on that event, after the chunks before it.
    texts: list[str] = []
    with oai(world[UPSTREAM]) as client:
        stream = client.chat.completions.create(
            model="anything", messages=[{"role": "user", "content": "BREAK"}], stream=True
        )
        with pytest.raises(openai.APIError) as caught:
            texts.extend(delta_texts(stream))  # the error surfaces while iterating
    assert texts == ["Hello", " from"]
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["status"] == 502


def test_openai_request_ids(world: InferenceWorld) -> None:
    with oai(world[UPSTREAM]) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="anything",
            messages=[{"role": "user", "content": "Hello"}],
            extra_headers={"x-ms-client-request-id": "client-id-123"},
        )
    assert raw.status_code == 200
    assert raw.headers["x-ms-client-request-id"] == "client-id-123"
    assert raw.headers["x-request-id"]
    assert raw.parse().choices[0].message.content == FAKE_TEXT


# -- azure-ai-inference ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", CHAT_ENDPOINTS)
def test_azure_chat_complete(world: InferenceWorld, sent: Sent, name: str) -> None:
    endpoint = world[name]
    with azure_chat(endpoint, sent) as client:
        response = client.complete(
            messages=[SystemMessage("You are terse."), UserMessage("Hello there")], max_tokens=MAX_TOKENS
        )
    assert isinstance(response.choices[0].message.content, str)
    assert response.choices[0].finish_reason in AZURE_FINISH
    assert response.model == endpoint.model_name
    assert response.usage.prompt_tokens > 0
    assert response.usage.completion_tokens > 0
    if name == UPSTREAM:
        assert response.choices[0].message.content == FAKE_TEXT
        assert [m["role"] for m in world.upstream.requests[-1]["body"]["messages"]] == ["system", "user"]
    # azure-ai-inference sends the key twice: `api-key: <key>` and `Authorization: Bearer <key>`,
    # and always an api-version query parameter (which the gateway accepts whatever its value).
    request = sent.last
    assert request["headers"]["api-key"] == endpoint.key
    assert request["headers"]["authorization"] == f"Bearer {endpoint.key}"
    assert request["url"] == endpoint.uri + "/chat/completions?api-version=2024-05-01-preview"
    assert "extra-parameters" not in request["headers"]


@pytest.mark.parametrize("name", CHAT_ENDPOINTS)
def test_azure_chat_stream(world: InferenceWorld, sent: Sent, name: str) -> None:
    endpoint = world[name]
    with azure_chat(endpoint, sent) as client:
        updates = list(
            client.complete(
                messages=[SystemMessage("You are terse."), UserMessage("Hello")],
                max_tokens=MAX_TOKENS,
                stream=True,
            )
        )
    assert sent.last["body"]["stream"] is True
    text = "".join(update.choices[0].delta.content or "" for update in updates if update.choices)
    assert isinstance(text, str)
    finishes = [u.choices[0].finish_reason for u in updates if u.choices and u.choices[0].finish_reason]
    assert finishes
    assert finishes[-1] in AZURE_FINISH
    usages = [update.usage for update in updates if update.usage]
    assert usages
    assert usages[-1].prompt_tokens > 0
    if name == UPSTREAM:
        assert text == FAKE_TEXT


def test_azure_async_chat(world: InferenceWorld) -> None:
    endpoint = world[UPSTREAM]

    async def call() -> tuple[Any, list[Any]]:
        credential = AzureKeyCredential(endpoint.key)
        async with AsyncChatCompletionsClient(endpoint=endpoint.uri, credential=credential) as client:
            response = await client.complete(messages=[UserMessage("Hello")])
            stream = await client.complete(messages=[UserMessage("Hello")], stream=True)
            return response, [update async for update in stream]

    response, updates = asyncio.run(call())
    assert response.choices[0].message.content == FAKE_TEXT
    assert "".join(u.choices[0].delta.content or "" for u in updates if u.choices) == FAKE_TEXT


def test_azure_embed(world: InferenceWorld, sent: Sent) -> None:
    endpoint = world[EMBED]
    seen: list[dict[str, str]] = []

    def on_response(response: PipelineResponse[Any, Any]) -> None:
        seen.append(dict(response.http_response.headers))

    with EmbeddingsClient(
        endpoint=endpoint.uri,
        credential=AzureKeyCredential(endpoint.key),
        raw_request_hook=sent.azure_hook,
        raw_response_hook=on_response,
        retry_total=0,
    ) as client:
        response = client.embed(input=["hello world", "the cat sat"])
        short = client.embed(input=["hello world"], dimensions=64, input_type=EmbeddingInputType.QUERY)
        encoded = client.embed(
            input=["hello world"],
            encoding_format=EmbeddingEncodingFormat.BASE64,
            headers={"x-ms-client-request-id": "azure-client-id"},
        )
    assert len(response.data) == 2
    assert all(len(item.embedding) == DIMS for item in response.data)
    assert response.model == endpoint.model_name
    assert response.usage.prompt_tokens > 0
    assert len(short.data[0].embedding) == 64
    assert sent.requests[1]["body"] == {"input": ["hello world"], "dimensions": 64, "input_type": "query"}
    assert isinstance(encoded.data[0].embedding, str)
    decoded = struct.unpack(f"<{DIMS}f", base64.b64decode(encoded.data[0].embedding))
    assert decoded == pytest.approx(response.data[0].embedding, abs=1e-6)
    assert all(r["url"].startswith(endpoint.uri + "/embeddings?api-version=") for r in sent.requests)
    assert seen[-1]["x-ms-client-request-id"] == "azure-client-id"
    assert seen[-1]["x-request-id"]


@pytest.mark.parametrize(
    ("name", "client_type", "model_type"),
    [
        (TINY, ChatCompletionsClient, ModelType.CHAT_COMPLETION),
        (UPSTREAM, ChatCompletionsClient, ModelType.CHAT_COMPLETION),
        (EMBED, EmbeddingsClient, ModelType.EMBEDDINGS),
    ],
)
def test_azure_load_client_and_model_info(
    world: InferenceWorld, sent: Sent, name: str, client_type: type, model_type: ModelType
) -> None:
    endpoint = world[name]
    client = load_client(
        endpoint=endpoint.uri, credential=AzureKeyCredential(endpoint.key), raw_request_hook=sent.azure_hook
    )
    with client:
        assert type(client) is client_type
        info = client.get_model_info()  # cached by load_client: no second GET /info
    assert info.model_name == endpoint.model_name
    assert info.model_type == model_type
    assert info.model_provider_name == endpoint.provider
    assert sent.paths(endpoint) == ["GET /info?api-version=2024-05-01-preview"]
    assert sent.last["headers"]["api-key"] == endpoint.key
    # A fresh client asks the server itself.
    with azure_chat(endpoint) as fresh:
        assert fresh.get_model_info().model_name == endpoint.model_name


def test_azure_model_extras_pass_through(world: InferenceWorld, sent: Sent) -> None:
    endpoint = world[UPSTREAM]
    with azure_chat(endpoint, sent) as client:
        response = client.complete(messages=[UserMessage("Hello")], model_extras={"foo": 1})
    assert response.choices[0].message.content == FAKE_TEXT
    assert sent.last["headers"]["extra-parameters"] == "pass-through"
    assert sent.last["body"]["foo"] == 1
    relayed = world.upstream.requests[-1]
    assert relayed["body"]["foo"] == 1
    assert relayed["body"]["model"] == UPSTREAM_WIRE_MODEL
    # The endpoint's key is ours: it is never forwarded to the upstream.
    assert endpoint.key not in json.dumps(relayed["headers"])


def test_azure_unknown_parameter_without_model_extras(world: InferenceWorld, sent: Sent) -> None:
    endpoint = world[UPSTREAM]
    before = len(world.upstream.requests)
    body = {"messages": [{"role": "user", "content": "Hello"}], "foo": 1}
    with azure_chat(endpoint, sent) as client:
        with pytest.raises(HttpResponseError) as caught:
            client.complete(body=body)
        assert len(world.upstream.requests) == before
        dropped = client.complete(body=body, headers={"extra-parameters": "drop"})
    assert "extra-parameters" not in sent.requests[0]["headers"]
    assert caught.value.status_code == 422
    assert caught.value.error is not None
    assert caught.value.error.code == "extra_parameters_not_allowed"
    assert dropped.choices[0].message.content == FAKE_TEXT
    assert "foo" not in world.upstream.requests[-1]["body"]


def test_azure_wrong_key(world: InferenceWorld) -> None:
    with (
        azure_chat(world[TINY], key="not-the-key") as client,
        pytest.raises(ClientAuthenticationError) as caught,
    ):
        client.complete(messages=[UserMessage("Hello")])
    assert caught.value.status_code == 401
    assert caught.value.error is not None
    assert caught.value.error.code == "invalid_key"


def test_azure_tools_on_tiny_model_is_422(world: InferenceWorld) -> None:
    tool = ChatCompletionsToolDefinition(
        function=FunctionDefinition(name="lookup", parameters={"type": "object", "properties": {}})
    )
    with azure_chat(world[TINY]) as client, pytest.raises(HttpResponseError) as caught:
        client.complete(messages=[UserMessage("Hello")], tools=[tool])
    assert caught.value.status_code == 422
    assert caught.value.error is not None
    assert caught.value.error.code == "parameter_not_supported"


def test_azure_stream_broken_midway_ends_quietly(world: InferenceWorld) -> None:
    # azure-ai-inference 1.0.0b9 drops SSE events that have neither `choices` nor `usage`, so the
    # gateway's final `{"error": ...}` event is invisible to it: the stream just ends, with no
    # finish_reason. (The openai client raises APIError on the same stream.)
    with azure_chat(world[UPSTREAM]) as client:
        updates = list(client.complete(messages=[UserMessage("BREAK")], stream=True))
    assert [u.choices[0].delta.content for u in updates] == ["Hello", " from"]
    assert all(u.choices[0].finish_reason is None for u in updates)


# -- langchain-openai ------------------------------------------------------------------------------
def chat_model(endpoint: Endpoint, sent: Sent, **kwargs: Any) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=endpoint.uri,
        api_key=endpoint.key,  # type: ignore[arg-type]
        model="anything",
        max_tokens=MAX_TOKENS,  # type: ignore[call-arg]
        max_retries=0,
        http_client=sent.httpx_client(),
        **kwargs,
    )


@pytest.mark.parametrize("name", CHAT_ENDPOINTS)
def test_langchain_invoke(world: InferenceWorld, sent: Sent, name: str) -> None:
    endpoint = world[name]
    message = chat_model(endpoint, sent).invoke("Hello")
    assert isinstance(message, AIMessage)
    assert isinstance(message.content, str)
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_tokens"] > 0
    assert message.response_metadata["finish_reason"] in FINISH
    assert message.response_metadata["model_name"] == endpoint.model_name
    if name == UPSTREAM:
        assert message.content == FAKE_TEXT
    assert sent.paths(endpoint) == ["POST /chat/completions"]
    assert sent.last["headers"]["authorization"] == f"Bearer {endpoint.key}"


@pytest.mark.parametrize("name", CHAT_ENDPOINTS)
def test_langchain_stream(world: InferenceWorld, sent: Sent, name: str) -> None:
    endpoint = world[name]
    chunks = list(chat_model(endpoint, sent).stream("Hello"))
    assert chunks
    assert all(isinstance(chunk, AIMessageChunk) for chunk in chunks)
    text = "".join(str(chunk.content) for chunk in chunks)
    if name == UPSTREAM:
        assert text == FAKE_TEXT
    assert sent.last["body"]["stream"] is True
    # Without stream_usage ChatOpenAI (custom base_url) does not ask for usage; the gateway sends it anyway.
    assert "stream_options" not in sent.last["body"]
    assert any(chunk.usage_metadata for chunk in chunks)


@pytest.mark.parametrize("name", CHAT_ENDPOINTS)
def test_langchain_stream_usage(world: InferenceWorld, sent: Sent, name: str) -> None:
    endpoint = world[name]
    chunks = list(chat_model(endpoint, sent, stream_usage=True).stream("Hello"))
    assert sent.last["body"]["stream_options"] == {"include_usage": True}
    total: Any = None
    for chunk in chunks:
        total = chunk if total is None else total + chunk
    assert total.usage_metadata is not None
    assert total.usage_metadata["input_tokens"] > 0
    assert total.usage_metadata["output_tokens"] > 0
    assert [c for c in chunks if c.usage_metadata], "some chunk carries usage_metadata"
