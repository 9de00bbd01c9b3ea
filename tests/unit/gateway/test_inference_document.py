"""The inference OpenAPI document (maas.protocol.inference.openapi): what it publishes, and that
what the gateway and the engines really send is what it describes."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from pydantic import BaseModel

from maas.core import errors
from maas.gateway.errors import envelope
from maas.protocol.inference.chat import ChatCompletionsRequest, CompletionsRequest
from maas.protocol.inference.embeddings import EmbeddingsRequest
from maas.protocol.inference.openapi import document
from maas.protocol.inference.responses import (
    ChatCompletion,
    ChatCompletionChunk,
    Completion,
    ErrorResponse,
)
from maas.serving.engines import shapes

BASE = "/endpoints/{region}/{name}"


def _resolve(spec: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return dict(node)


def test_the_paths_and_their_bodies() -> None:
    spec = document()
    assert spec["openapi"] == "3.1.0" and "servers" not in spec
    assert sorted(spec["paths"]) == sorted(
        BASE + route
        for route in (
            "/chat/completions",
            "/completions",
            "/embeddings",
            "/info",
            "/v1/chat/completions",
            "/v1/completions",
            "/v1/embeddings",
            "/v1/models",
        )
    )
    bodies = {
        path: item["post"]["requestBody"]["content"]["application/json"]
        for path, item in spec["paths"].items()
        if "post" in item
    }
    expected: dict[str, type[BaseModel]] = {
        "chat/completions": ChatCompletionsRequest,
        "completions": CompletionsRequest,
        "embeddings": EmbeddingsRequest,
    }
    for path, body in bodies.items():
        model = expected[path.removeprefix(BASE).removeprefix("/").removeprefix("v1/")]
        assert body["schema"] == {"$ref": f"#/components/schemas/{model.__name__}"}
        assert _resolve(spec, body["schema"]["$ref"])["required"] == [
            name for name, field in model.model_fields.items() if field.is_required()
        ]
        for example in body["examples"].values():  # the examples are valid requests
            model.model_validate(example["value"])
    assert spec["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "api-key",
        "description": spec["components"]["securitySchemes"]["apiKey"]["description"],
    }
    assert spec["security"] == [{"apiKey": []}, {"bearer": []}]


def test_streams_and_errors_are_described() -> None:
    spec = document("https://maas.example/")
    assert spec["servers"][0]["url"] == "https://maas.example"
    chat = spec["paths"][BASE + "/chat/completions"]["post"]["responses"]
    assert set(chat["200"]["content"]) == {"application/json", "text/event-stream"}
    event = chat["200"]["content"]["text/event-stream"]["schema"]
    assert event["properties"]["data"]["if"] == {"const": "[DONE]"}
    for status in ("400", "401", "403", "404", "413", "422", "429", "500", "502", "503", "504", "default"):
        assert chat[status]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    info = spec["paths"][BASE + "/info"]["get"]["responses"]
    assert "413" not in info and "422" not in info and "429" in info
    assert "retry-after" in chat["429"]["headers"] and "retry-after" not in chat["404"]["headers"]
    schemathesis.openapi.from_dict(spec).validate()  # a valid OpenAPI 3.1 document


@pytest.mark.parametrize(
    "error",
    [
        errors.BadRequest("bad", code="invalid_json"),
        errors.Unauthenticated("who", code="missing_key"),
        errors.NotFound("none", code="endpoint_not_found", target="x"),
        errors.PayloadTooLarge("big"),
        errors.Unprocessable("no", code="invalid_parameter", target="n"),
        errors.TooManyRequests("slow down"),
        errors.Unavailable("later"),
        errors.MaasError("oops", code="internal_error"),
    ],
)
def test_the_gateway_envelope_is_the_documented_one(error: errors.MaasError) -> None:
    body = envelope(error)
    assert ErrorResponse.model_validate(body).model_dump() == body


def test_what_local_engines_answer_is_the_documented_shape() -> None:
    ChatCompletion.model_validate(shapes.chat_response("c", "m", "hi", "stop", 3, 1), strict=True)
    ChatCompletionChunk.model_validate(shapes.chat_chunk("c", 0, "m", {"role": "assistant", "content": ""}))
    ChatCompletionChunk.model_validate(shapes.chat_chunk("c", 0, "m", {}, "length"))
    Completion.model_validate(shapes.text_response("c", "m", "hi", "stop", 3, 1), strict=True)
    Completion.model_validate(shapes.text_chunk("c", 0, "m", "hi", None))
