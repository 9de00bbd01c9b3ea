"""The engine operations a pool serves, named once, dispatched explicitly.

An `Operation` names one method of the engine protocol; its value is the name on the wire (the
`op` of a replica frame, the first argument of a Ray replica's `call`/`stream`), so the values
never change. `answer` and `stream` call the engine's method for an operation with a `match`,
never `getattr` on a string, so a new operation is a new case that mypy checks.

A request crosses to a replica as a payload (`payload`): the validated request as JSON (only
the fields the client set), the body to act on and the tenant it is for; the replica validates
the request again (`unpack`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from maas.protocol.inference.chat import ChatCompletionsRequest, CompletionsRequest
from maas.protocol.inference.embeddings import EmbeddingsRequest
from maas.serving.engines.base import Engine, Json
from maas.serving.engines.usage import StreamChunk


class Operation(StrEnum):
    CHAT = "chat"
    CHAT_STREAM = "chat_stream"
    COMPLETION = "completion"
    COMPLETION_STREAM = "completion_stream"
    EMBED = "embed"

    @property
    def streams(self) -> bool:
        return self in (Operation.CHAT_STREAM, Operation.COMPLETION_STREAM)

    @property
    def request_type(self) -> type[BaseModel]:
        match self:
            case Operation.CHAT | Operation.CHAT_STREAM:
                return ChatCompletionsRequest
            case Operation.COMPLETION | Operation.COMPLETION_STREAM:
                return CompletionsRequest
            case Operation.EMBED:
                return EmbeddingsRequest


def operation(name: object) -> Operation:
    """The operation a frame or payload names (ValueError for an unknown one)."""
    try:
        return Operation(str(name))
    except ValueError:
        raise ValueError(f"unknown operation {name!r}") from None


async def answer(engine: Engine, op: Operation, request: Any, body: Json) -> Json:
    """The engine's whole answer to a single-answer operation."""
    match op:
        case Operation.CHAT:
            return await engine.chat(request, body)
        case Operation.COMPLETION:
            return await engine.completion(request, body)
        case Operation.EMBED:
            return await engine.embed(request, body)
        case _:
            raise ValueError(f"{op} streams: use stream()")


def stream(engine: Engine, op: Operation, request: Any, body: Json) -> AsyncIterator[StreamChunk]:
    """The engine's `(chunk, usage)` pairs for a streamed operation."""
    match op:
        case Operation.CHAT_STREAM:
            return engine.chat_stream(request, body)
        case Operation.COMPLETION_STREAM:
            return engine.completion_stream(request, body)
        case _:
            raise ValueError(f"{op} does not stream: use answer()")


def payload(request: BaseModel, body: Json, tenant: str) -> Json:
    """A request as it crosses to a replica (another process, or a Ray actor)."""
    return {"request": request.model_dump(mode="json", exclude_unset=True), "body": body, "tenant": tenant}


def unpack(op: Operation, payload: Json) -> tuple[Any, Json, str]:
    """A payload's request (validated again, as the operation's request type), body and tenant."""
    request = op.request_type.model_validate(payload.get("request") or {})
    return request, payload.get("body") or {}, str(payload.get("tenant") or "")
