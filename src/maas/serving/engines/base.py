"""The engine protocol: what every model backend does, in OpenAI-shaped dicts.

An engine serves one model version. It takes a validated request plus the body to act on (the
request as the client sent it, after the gateway applied `extra-parameters`), and returns OpenAI
response dicts, or yields `(chunk, usage)` pairs when streaming (`maas.serving.engines.usage`):
OpenAI chunk dicts, the last one carrying `usage`, each with the tokens counted so far.
Dicts, not typed events, so that an OpenAI-compatible upstream can be relayed without losing
fields (tool calls, logprobs) that a typed intermediate would drop. Engines raise `maas.core.errors`
(Unprocessable for a parameter the model cannot honour, ModalityNotSupported for a route it cannot
serve, BadGateway/GatewayTimeout for upstream failures); the gateway renders them.

Backends are picked by the model's artifact kind and imported lazily (`load_engine`), so a
missing optional dependency (vLLM, llama.cpp) only matters to the models that need it.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from maas.core.errors import MaasError, ModalityNotSupported
from maas.protocol.inference.chat import ChatCompletionsRequest, CompletionsRequest
from maas.protocol.inference.embeddings import EmbeddingsRequest
from maas.protocol.inference.info import ModelType
from maas.serving.engines.usage import StreamChunk

Json = dict[str, Any]
# Who the request being served is for (the subscription): engines that batch requests use it to
# share a batch fairly. Set by the replica for each request; "" when unknown.
TENANT: ContextVar[str] = ContextVar("maas_tenant", default="")


@dataclass(frozen=True)
class ModelSpec:
    """What the catalog says about a model version, as an engine needs it."""

    version_id: str
    name: str
    task: str
    provider: str
    artifact: dict[str, Any]
    api_key: str | None = None
    context_length: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def model_type(self) -> ModelType:
        return {
            "embeddings": ModelType.EMBEDDINGS,
            "text-generation": ModelType.TEXT_GENERATION,
        }.get(self.task, ModelType.CHAT_COMPLETION)


class Engine(Protocol):
    spec: ModelSpec

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def chat(self, request: ChatCompletionsRequest, body: Json) -> Json: ...

    def chat_stream(self, request: ChatCompletionsRequest, body: Json) -> AsyncIterator[StreamChunk]: ...

    async def completion(self, request: CompletionsRequest, body: Json) -> Json: ...

    def completion_stream(self, request: CompletionsRequest, body: Json) -> AsyncIterator[StreamChunk]: ...

    async def embed(self, request: EmbeddingsRequest, body: Json) -> Json: ...


class Unsupported:
    """Mixin: every route answers 404 'modality not supported' unless the engine overrides it."""

    spec: ModelSpec

    def _refuse(self, what: str) -> MaasError:
        return ModalityNotSupported(
            f"The model '{self.spec.name}' does not support {what}; its type is '{self.spec.model_type}'.",
        )

    async def chat(self, request: ChatCompletionsRequest, body: Json) -> Json:
        raise self._refuse("chat completions")

    def chat_stream(self, request: ChatCompletionsRequest, body: Json) -> AsyncIterator[StreamChunk]:
        raise self._refuse("chat completions")

    async def completion(self, request: CompletionsRequest, body: Json) -> Json:
        raise self._refuse("text completions")

    def completion_stream(self, request: CompletionsRequest, body: Json) -> AsyncIterator[StreamChunk]:
        raise self._refuse("text completions")

    async def embed(self, request: EmbeddingsRequest, body: Json) -> Json:
        raise self._refuse("embeddings")


_BACKENDS = {
    "huggingface": "maas.serving.engines.transformers_engine:TransformersEngine",
    "wordllama": "maas.serving.engines.wordllama_engine:WordLlamaEngine",
    "openai-upstream": "maas.serving.engines.openai_upstream:OpenAIUpstreamEngine",
    "gguf": "maas.serving.engines.llama_cpp_engine:LlamaCppEngine",
    "vllm": "maas.serving.engines.vllm_engine:VllmEngine",
}


def load_engine(spec: ModelSpec) -> Engine:
    """Build (not start) the engine for a model's artifact kind."""
    kind = str(spec.artifact.get("kind"))
    if kind == "huggingface" and spec.options.get("engine") == "vllm":
        kind = "vllm"
    target = _BACKENDS.get(kind)
    if target is None:
        raise MaasError(f"No engine serves artifacts of kind '{kind}'.", code="EngineNotAvailable")
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise MaasError(
            f"The '{kind}' engine needs an optional dependency that is not installed: {exc.name}.",
            code="EngineNotAvailable",
        ) from exc
    engine: Engine = getattr(module, class_name)(spec)
    return engine
