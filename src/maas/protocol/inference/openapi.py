"""The inference (data-plane) API's OpenAPI 3.1 document, built from the wire types.

Pure: no I/O and no server; the server serves it (`GET /openapi/inference.json`) with its public
URL as the server. Every path is under an endpoint's path-based Target URI,
`/endpoints/{region}/{name}`, in the two spellings clients use: the Azure AI Model Inference
API's (`/chat/completions`, `/completions`, `/embeddings`, `/info`) and OpenAI's, whose clients
take `.../v1` as their base URL (`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`,
`/v1/models`). With host-based Target URIs (`https://{name}.{region}.{domain}`) the same routes
answer at the host's root.

Request bodies are the gateway's own pydantic models in validation mode; responses are
`responses.py`. A streamed completion (`"stream": true`) answers `text/event-stream`: per OpenAPI
3.1 the media type's schema describes one event, whose `data` is a chunk as JSON, an error
envelope (a failure after the stream started), or the final `[DONE]`. Every error is the
inference envelope (`ErrorResponse`) with the statuses the gateway really sends.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from maas.protocol.inference.chat import ChatCompletionsRequest, CompletionsRequest
from maas.protocol.inference.embeddings import EmbeddingsRequest
from maas.protocol.inference.responses import (
    ChatCompletion,
    ChatCompletionChunk,
    Completion,
    Embeddings,
    ErrorResponse,
    ModelInfo,
    ModelList,
)

REF = "#/components/schemas/{model}"
BASE = "/endpoints/{region}/{name}"
DONE = "[DONE]"
DESCRIPTION = (
    "The data plane of MaaS: every serverless endpoint's Target URI. Paths are under the "
    "path-based Target URI `/endpoints/{region}/{name}`, in the Azure AI Model Inference API's "
    "spelling and in OpenAI's (base URL `.../v1`); with host-based Target URIs "
    "(`https://{name}.{region}.{domain}`) the same routes answer at the host's root. Authenticate "
    "with one of the endpoint's keys, as `api-key: <key>` or `Authorization: Bearer <key>`. Every "
    'error is `{"error": {"code", "message", "param", "type", "status"}}`.'
)

_REQUESTS: tuple[type[BaseModel], ...] = (ChatCompletionsRequest, CompletionsRequest, EmbeddingsRequest)
_RESPONSES: tuple[type[BaseModel], ...] = (
    ChatCompletion,
    ChatCompletionChunk,
    Completion,
    Embeddings,
    ModelInfo,
    ModelList,
    ErrorResponse,
)

# The statuses the gateway answers with, and when (maas.gateway, maas.serving.engines).
_ERRORS_ANY = {
    "401": "No key, or a wrong one (`missing_key`, `invalid_key`).",
    "403": "The endpoint is unhealthy or suspended (its subscription or payment method is gone).",
    "404": "No such endpoint in that region, no such route, or a route the model does not serve "
    "(`endpoint_not_found`, `route_not_found`, `modality_not_supported`).",
    "429": "Over the endpoint's requests or tokens per minute (`rate_limit_exceeded`), or too many "
    "wrong keys from this address (`too_many_failed_auth_attempts`). See `Retry-After`.",
    "500": "An unexpected failure; it was logged.",
    "502": "The model's upstream server failed or answered with something unusable.",
    "503": "The endpoint is not ready, the model is unavailable or at capacity, or usage could not "
    "be recorded. See `Retry-After`.",
    "504": "The model's upstream server did not answer in time.",
}
_ERRORS_BODY = {
    "400": "The body is not a JSON object, a field has the wrong type (an integer beyond 64 bits "
    "counts as a float) or is missing, a header is invalid, or the request can never fit the "
    "model's context window (`invalid_json`, "
    "`invalid_type`, `missing_required_parameter`, `invalid_header`, `invalid_content_type`, "
    "`context_length_exceeded`).",
    "413": "The body is larger than 4 MiB (`request_too_large`).",
    "422": "A field's value is out of range, a parameter the model cannot honour was set, or unknown "
    "parameters were sent without `extra-parameters: pass-through` or `drop` (`invalid_parameter`, "
    "`parameter_not_supported`, `extra_parameters_not_allowed`).",
}
_SECURITY_SCHEMES = {
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "api-key",
        "description": "One of the endpoint's two keys (listKeys on the management API).",
    },
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "The same key as `Authorization: Bearer <key>`, as OpenAI clients send it.",
    },
}
_HEADERS = {
    "RequestId": {
        "description": "This request's id, as recorded with its usage.",
        "required": True,
        "schema": {"type": "string"},
    },
    "ErrorCode": {
        "description": "The error's `code`.",
        "required": True,
        "schema": {"type": "string"},
    },
    "RetryAfter": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
}
_PATH_PARAMETERS = [
    {
        "name": "region",
        "in": "path",
        "required": True,
        "description": "The endpoint's region (its location), as in its Target URI.",
        "schema": {"type": "string", "minLength": 1},
    },
    {
        "name": "name",
        "in": "path",
        "required": True,
        "description": "The serverless endpoint's name.",
        "schema": {"type": "string", "minLength": 1},
    },
]
_EXTRA_PARAMETERS = {
    "name": "extra-parameters",
    "in": "header",
    "required": False,
    "description": "What to do with body fields this API does not define: `error` (the default, 422), "
    "`drop` them, or `pass-through` to the model.",
    "schema": {"type": "string", "enum": ["error", "drop", "pass-through"]},
}


# request examples: Swagger UI shows them, and a fuzzer sends them first (both answer modes)
_EXAMPLES: dict[type[BaseModel], dict[str, Any]] = {
    ChatCompletionsRequest: {
        "chat": {
            "summary": "A chat turn",
            "value": {
                "messages": [
                    {"role": "system", "content": "You are terse."},
                    {"role": "user", "content": "Say hello."},
                ],
                "max_tokens": 16,
                "temperature": 0,
            },
        },
        "streamed": {
            "summary": "Streamed, with usage in the last event",
            "value": {
                "messages": [{"role": "user", "content": "Count to three."}],
                "max_tokens": 16,
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        },
    },
    CompletionsRequest: {
        "text": {"summary": "A continuation", "value": {"prompt": "def main():", "max_tokens": 16}},
        "streamed": {
            "summary": "Streamed",
            "value": {"prompt": "Once upon a time", "max_tokens": 16, "stream": True, "stop": ["\n\n"]},
        },
    },
    EmbeddingsRequest: {
        "one": {"summary": "One input", "value": {"input": "The cat sat on the mat."}},
        "many": {
            "summary": "Several inputs, shortened, as base64",
            "value": {"input": ["first", "second"], "dimensions": 64, "encoding_format": "base64"},
        },
    },
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": _ref(model)}}


def _event_stream(chunk: type[BaseModel]) -> dict[str, Any]:
    """One server-sent event: `data` is a chunk, an error envelope, or `[DONE]`."""
    data = {
        "type": "string",
        "if": {"const": DONE},
        "else": {
            "contentMediaType": "application/json",
            "contentSchema": {"anyOf": [_ref(chunk), _ref(ErrorResponse)]},
        },
    }
    return {
        "text/event-stream": {
            "schema": {
                "type": "object",
                "required": ["data"],
                "properties": {"data": data},
                "description": f"One event, `data: <JSON>`; the stream ends with `data: {DONE}`.",
            }
        }
    }


def _errors(body: bool) -> dict[str, Any]:
    statuses = {**_ERRORS_ANY, **(_ERRORS_BODY if body else {})}
    responses: dict[str, Any] = {}
    for status in sorted(statuses):
        headers: dict[str, Any] = {
            "x-request-id": {"$ref": "#/components/headers/RequestId"},
            "x-ms-error-code": {"$ref": "#/components/headers/ErrorCode"},
        }
        if status in ("429", "503"):
            headers["retry-after"] = {"$ref": "#/components/headers/RetryAfter"}
        responses[status] = {
            "description": statuses[status],
            "headers": headers,
            "content": _json(ErrorResponse),
        }
    responses["default"] = {
        "description": "Any other error, in the same envelope.",
        "content": _json(ErrorResponse),
    }
    return responses


def _success(description: str, content: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"x-request-id": {"$ref": "#/components/headers/RequestId"}},
        "content": content,
    }


def _post(
    operation_id: str,
    summary: str,
    request: type[BaseModel],
    answer: type[BaseModel],
    chunk: type[BaseModel] | None,
) -> dict[str, Any]:
    content = _json(answer)
    if chunk is not None:
        content.update(_event_stream(chunk))
        described = "The answer; `text/event-stream` when the request set `stream: true`."
    else:
        described = "The answer."
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "parameters": [_EXTRA_PARAMETERS],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref(request), "examples": _EXAMPLES[request]}},
            },
            "responses": {"200": _success(described, content), **_errors(body=True)},
        }
    }


def _get(operation_id: str, summary: str, answer: type[BaseModel]) -> dict[str, Any]:
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "responses": {"200": _success("The model.", _json(answer)), **_errors(body=False)},
        }
    }


def _paths() -> dict[str, Any]:
    chat = ("Chat completions", ChatCompletionsRequest, ChatCompletion, ChatCompletionChunk)
    text = ("Text completions", CompletionsRequest, Completion, Completion)
    embed = ("Embeddings", EmbeddingsRequest, Embeddings, None)
    paths: dict[str, Any] = {}
    for prefix in ("", "/v1"):
        for route, (summary, request, answer, chunk) in (
            ("chat/completions", chat),
            ("completions", text),
            ("embeddings", embed),
        ):
            operation_id = _camel(route) + ("V1" if prefix else "")
            paths[f"{BASE}{prefix}/{route}"] = _post(operation_id, summary, request, answer, chunk)
    paths[f"{BASE}/info"] = _get("getModelInfo", "The model behind the endpoint.", ModelInfo)
    paths[f"{BASE}/v1/models"] = _get("listModels", "The model behind the endpoint.", ModelList)
    for item in paths.values():
        item["parameters"] = _PATH_PARAMETERS
    return paths


def _camel(route: str) -> str:
    words = route.replace("/", " ").split()
    return words[0] + "".join(word.title() for word in words[1:])


def _schemas() -> dict[str, Any]:
    modes: list[tuple[type[BaseModel], JsonSchemaMode]] = [(model, "validation") for model in _REQUESTS]
    modes += [(model, "serialization") for model in _RESPONSES]
    _, top = models_json_schema(modes, ref_template=REF)
    schemas: dict[str, Any] = top.get("$defs", {})
    return schemas


def document(server_url: str | None = None, *, version: str = "0.1.0") -> dict[str, Any]:
    """The whole document; `server_url` (the server's public base URL) becomes its server."""
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "MaaS inference API",
            "version": version,
            "description": DESCRIPTION,
        },
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": _SECURITY_SCHEMES,
            "headers": _HEADERS,
        },
        "security": [{"apiKey": []}, {"bearer": []}],
    }
    if server_url:
        spec["servers"] = [{"url": server_url.rstrip("/"), "description": "This MaaS server."}]
    return copy.deepcopy(spec)  # the caller's own: nothing in it is shared with this module
