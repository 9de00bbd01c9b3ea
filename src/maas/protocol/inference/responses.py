"""What the data plane answers: the OpenAI / Azure AI Model Inference response shapes, for the
inference OpenAPI document (`openapi.py`).

Engines build their answers as dicts (`maas.serving.engines.shapes`, or an OpenAI-compatible
upstream's own JSON relayed with `model` rewritten), so these models describe rather than
produce them. They name what every engine sends and allow more (`extra="allow"`): an upstream
may add fields such as `system_fingerprint` or `service_tier`. As in OpenAI's own document,
`usage` is optional on completions (every local engine sends it; an upstream may not) and
required on embeddings.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from maas.protocol.inference.info import ModelType


class Described(BaseModel):
    model_config = ConfigDict(extra="allow")


class Usage(Described):
    """Tokens the request was billed for, counted by the model's own tokenizer."""

    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    total_tokens: int = Field(ge=0)


class EmbeddingsUsage(Described):
    prompt_tokens: int = Field(ge=0)
    total_tokens: int = Field(ge=0)


class AssistantMessage(Described):
    role: Literal["assistant"]
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class ChatChoice(Described):
    index: int = Field(ge=0)
    message: AssistantMessage
    finish_reason: str | None = Field(
        default=None, description="Why generation stopped: `stop` (end of turn or a stop string), `length`."
    )
    logprobs: Any = None


class ChatCompletion(Described):
    """The answer to a chat completions request sent without `stream: true`."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage | None = None


class ChatDelta(Described):
    role: str | None = None
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class ChatChunkChoice(Described):
    index: int = Field(ge=0)
    delta: ChatDelta
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletionChunk(Described):
    """One event of a streamed chat completion; the last one before `[DONE]` carries `usage`."""

    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChatChunkChoice]
    usage: Usage | None = None


class TextChoice(Described):
    index: int = Field(ge=0)
    text: str
    finish_reason: str | None = None
    logprobs: Any = None


class Completion(Described):
    """The answer to a text completions request, and each event of a streamed one (the last
    before `[DONE]` carries `usage`)."""

    id: str
    object: Literal["text_completion"]
    created: int
    model: str
    choices: list[TextChoice]
    usage: Usage | None = None


class Embedding(Described):
    object: Literal["embedding"]
    index: int = Field(ge=0)
    embedding: list[float] | str = Field(
        description="The vector; with `encoding_format: base64`, its little-endian float32 bytes in base64."
    )


class Embeddings(Described):
    """The answer to an embeddings request: one vector per input, in input order."""

    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: EmbeddingsUsage


class ModelInfo(Described):
    """`GET /info`: the model behind the endpoint (Azure AI Model Inference API)."""

    model_name: str
    model_type: ModelType
    model_provider_name: str


class Model(Described):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(Described):
    """`GET /v1/models`: the one model behind the endpoint (OpenAI's list shape)."""

    object: Literal["list"]
    data: list[Model]


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable and machine-readable; also sent as the `x-ms-error-code` header.")
    message: str
    param: str | None = Field(description="The request field or header at fault, when there is one.")
    type: str = Field(description="OpenAI's error type: `invalid_request_error`, `authentication_error`, ...")
    status: int = Field(description="The HTTP status of the response.")


class ErrorResponse(BaseModel):
    """Every data-plane error, in the envelope OpenAI and Azure AI Inference clients read. Inside an
    event stream that fails after it started, the same object is sent as the last event before
    `[DONE]`."""

    error: ErrorDetail
