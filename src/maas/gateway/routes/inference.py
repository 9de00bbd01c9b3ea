"""Data-plane routes under an endpoint's Target URI: /info, /chat/completions, /completions,
/embeddings, /images/embeddings (and the same under /v1/, plus /v1/models)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from maas.core.errors import BadRequest, MaasError, ModalityNotSupported, Unprocessable
from maas.gateway.http import Exchange
from maas.gateway.metering import Admission
from maas.gateway.readmodel import EndpointView
from maas.gateway.sse import stream, until_disconnect
from maas.protocol.inference.chat import ChatCompletionsRequest, CompletionsRequest, SamplingFields
from maas.protocol.inference.embeddings import EmbeddingsRequest
from maas.serving.engines.base import Engine

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


# pydantic errors about a value of the right type (422, "invalid parameter"); every other
# error is about the shape of the request (a wrong type, a missing field) and is a 400, as
# OpenAI's server answers it
_VALUE_ERRORS = frozenset(
    {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "too_short",
        "too_long",
        "literal_error",
        "enum",
        "finite_number",
        "multiple_of",
        "string_too_short",
        "string_too_long",
    }
)


def _json_media_type(value: str | None) -> bool:
    if value is None:
        return True  # no Content-Type: read as JSON, as OpenAI's server does
    media = value.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def parse(raw: bytes, model: type[R], exchange: Exchange) -> tuple[R, dict[str, Any]]:
    """Validate the body and apply `extra-parameters`; returns (request, body to act on)."""
    content_type = exchange.header(b"content-type")
    if not _json_media_type(content_type):
        raise BadRequest(
            f"Unsupported Content-Type '{content_type}': the request body must be JSON, sent with "
            "'Content-Type: application/json'.",
            code="invalid_content_type",
            target="content-type",
        )
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
        raise _invalid(exc) from None
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


def _invalid(exc: ValidationError) -> MaasError:
    errors = exc.errors(include_url=False)
    # a union reports one error per member: the request is only a value error if every one is
    shape = [e for e in errors if e["type"] not in _VALUE_ERRORS]
    first = shape[0] if shape else errors[0]
    where = ".".join(str(p) for p in _field_path(first["loc"])) or "(body)"
    if not shape:
        return Unprocessable(
            f"Invalid value for '{where}': {first['msg']}.", code="invalid_parameter", target=where
        )
    if first["type"] == "missing":
        return BadRequest(
            f"Missing required parameter: '{where}'.", code="missing_required_parameter", target=where
        )
    return BadRequest(f"Invalid type for '{where}': {first['msg']}.", code="invalid_type", target=where)


def _field_path(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """The location without pydantic's names of union members (`stop.str`, `content.list[...]`)."""
    return tuple(
        p for p in loc if isinstance(p, int) or not (p in ("str", "int", "float", "bool") or "[" in p)
    )


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
