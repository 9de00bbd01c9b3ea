"""Operations as they cross to a replica: named by a StrEnum whose values are the engine's method
names (the wire never changed), dispatched explicitly, and the `(chunk, usage)` pairs of a stream
framed and read back unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from maas.protocol.inference.chat import ChatCompletionsRequest, CompletionsRequest
from maas.protocol.inference.embeddings import EmbeddingsRequest
from maas.serving.engines.base import Engine, Unsupported
from maas.serving.engines.usage import StreamChunk, Usage
from maas.serving.pool import operations
from maas.serving.pool.frames import chunk_frame, read_chunk
from maas.serving.pool.operations import Operation


class Echo(Unsupported):
    """Answers with the name of the method that was called."""

    async def chat(self, request: Any, body: Any) -> dict[str, Any]:
        return {"called": "chat"}

    async def completion(self, request: Any, body: Any) -> dict[str, Any]:
        return {"called": "completion"}

    async def embed(self, request: Any, body: Any) -> dict[str, Any]:
        return {"called": "embed"}

    async def chat_stream(self, request: Any, body: Any) -> AsyncIterator[StreamChunk]:  # type: ignore[override]
        yield {"called": "chat_stream"}, Usage(3, 1)

    async def completion_stream(self, request: Any, body: Any) -> AsyncIterator[StreamChunk]:  # type: ignore[override]
        yield {"called": "completion_stream"}, None


def test_each_operation_is_the_engine_method_of_its_name() -> None:
    engine: Engine = Echo()  # type: ignore[assignment]

    async def run() -> dict[str, Any]:
        called = {}
        for op in Operation:
            if op.streams:
                [(chunk, _)] = [item async for item in operations.stream(engine, op, None, {})]
            else:
                chunk = await operations.answer(engine, op, None, {})
            called[op.value] = chunk["called"]
        return called

    assert asyncio.run(run()) == {op.value: op.value for op in Operation}
    assert {op for op in Operation if op.streams} == {Operation.CHAT_STREAM, Operation.COMPLETION_STREAM}
    assert [Operation.CHAT.request_type, Operation.COMPLETION_STREAM.request_type] == [
        ChatCompletionsRequest,
        CompletionsRequest,
    ]
    assert Operation.EMBED.request_type is EmbeddingsRequest


def test_an_operation_dispatched_the_wrong_way_or_unknown_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown operation 'chat_completions'"):
        operations.operation("chat_completions")
    with pytest.raises(ValueError, match="streams"):
        asyncio.run(operations.answer(Echo(), Operation.CHAT_STREAM, None, {}))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="does not stream"):
        operations.stream(Echo(), Operation.EMBED, None, {})  # type: ignore[arg-type]


def test_a_payload_carries_what_the_client_set_and_the_tenant() -> None:
    request = ChatCompletionsRequest.model_validate({"messages": [{"role": "user", "content": "hi"}]})
    sent = orjson.loads(orjson.dumps(operations.payload(request, {"messages": []}, "sub-1")))
    assert sent["request"] == {"messages": [{"role": "user", "content": "hi"}]}
    again, body, tenant = operations.unpack(Operation.CHAT, sent)
    assert again == request and body == {"messages": []} and tenant == "sub-1"


def test_a_streamed_chunk_and_its_usage_cross_a_frame_unchanged() -> None:
    for item in (({"choices": []}, Usage(7, 2)), ({"choices": []}, None)):
        frame = orjson.loads(orjson.dumps({"id": "1", **chunk_frame(item)}))
        assert read_chunk(frame) == item
    assert "usage" not in chunk_frame(({"choices": []}, None))
