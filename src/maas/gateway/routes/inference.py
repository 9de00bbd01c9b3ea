"""Data-plane routes under an endpoint's Target URI: /info, /chat/completions, /completions,
/embeddings, /images/embeddings (and the same under /v1/, plus /v1/models)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from maas.controlplane.services.directory import EndpointView
from maas.core.errors import BadRequest, Unprocessable
from maas.gateway.http import Exchange
from maas.gateway.metering import Admission
from maas.gateway.sse import stream, until_disconnect
from maas.protocol.inference.chat import ChatCompletionsRequest, CompletionsRequest, SamplingFields
from maas.protocol.inference.embeddings import EmbeddingsRequest
from maas.serving.engines.base import Engine, ModalityNotSupported

R = TypeVar("R", bound=BaseModel)
# Admission to the deployment's quota for a validated request (raises 429 when over quota).
Admit = Callable[[BaseModel, dict[str, Any]], Awaitable[Admission]]
MODES = {
    "error": "error",
    "drop": "drop",
    "pass-through": "pass-through",
    "allow": "pass-through",
    "ignore": "drop",
}


def parse(raw: bytes, model: type[R], exchange: Exchange) -> tuple[R, dict[str, Any]]:
    """Validate the body and apply `extra-parameters`; returns (request, body to act on)."""
    try:
        data = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}.", code="invalid_json") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.", code="invalid_json")
    mode_header = (exchange.header(b"extra-parameters") or "error").strip().lower()
    mode = MODES.get(mode_header)
    if mode is None:
        raise BadRequest(
            f"extra-parameters must be one of error, drop, pass-through (not '{mode_header}').",
            code="invalid_header",
            target="extra-parameters",
        )
    try:
        request = model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(body)"
        raise Unprocessable(
            f"Invalid value for '{where}': {first['msg']}.", code="invalid_parameter", target=where
        ) from None
    extras = list(request.model_extra or {})
    if extras and mode == "error":
        raise Unprocessable(
            f"Extra parameters {extras} are not allowed when extra-parameters is not set or set to 'error'. "
            "Set the 'extra-parameters' header to 'pass-through' to pass them to the model, or 'drop' to "
            "ignore them.",
            code="extra_parameters_not_allowed",
            target=extras[0],
        )
    if extras and mode == "drop":
        data = {k: v for k, v in data.items() if k not in extras}
    return request, data


async def info(exchange: Exchange, view: EndpointView) -> None:
    assert view.model is not None
    await exchange.json(
        200,
        {
            "model_name": view.model.name,
            "model_type": _model_type(view),
            "model_provider_name": view.model.provider,
        },
    )


async def models(exchange: Exchange, view: EndpointView) -> None:
    assert view.model is not None
    await exchange.json(
        200,
        {
            "object": "list",
            "data": [
                {
                    "id": view.model.name,
                    "object": "model",
                    "created": 0,
                    "owned_by": view.model.provider or "maas",
                }
            ],
        },
    )


def _model_type(view: EndpointView) -> str:
    assert view.model is not None
    return {"embeddings": "embeddings", "text-generation": "text_generation"}.get(
        view.model.task, "chat_completion"
    )


async def _generate(
    exchange: Exchange,
    request: SamplingFields,
    body: dict[str, Any],
    once: Any,
    streamed: Any,
    admission: Admission,
) -> None:
    if request.stream:
        # the metered stream records the usage before the last chunk is sent, and settles
        await stream(exchange, admission.meter_stream(streamed(request, body)))
        return
    started = time.perf_counter()
    try:
        result = await until_disconnect(exchange, once(request, body))
        exchange.engine_seconds += time.perf_counter() - started
        admission.record_answer(result)  # durable before the client can have the answer
        await exchange.json(200, result)
    finally:
        await admission.settle()


async def chat(exchange: Exchange, engine: Engine, raw: bytes, admit: Admit) -> None:
    request, body = parse(raw, ChatCompletionsRequest, exchange)
    await _generate(exchange, request, body, engine.chat, engine.chat_stream, await admit(request, body))


async def completions(exchange: Exchange, engine: Engine, raw: bytes, admit: Admit) -> None:
    request, body = parse(raw, CompletionsRequest, exchange)
    await _generate(
        exchange, request, body, engine.completion, engine.completion_stream, await admit(request, body)
    )


async def embeddings(exchange: Exchange, engine: Engine, raw: bytes, admit: Admit) -> None:
    request, body = parse(raw, EmbeddingsRequest, exchange)
    admission = await admit(request, body)
    started = time.perf_counter()
    try:
        result = await until_disconnect(exchange, engine.embed(request, body))
        exchange.engine_seconds += time.perf_counter() - started
        admission.record_answer(result)
        await exchange.json(200, result)
    finally:
        await admission.settle()


async def image_embeddings(exchange: Exchange, engine: Engine, raw: bytes, admit: Admit) -> None:
    raise ModalityNotSupported(
        f"The model '{engine.spec.name}' does not support image embeddings (modality not supported)."
    )
