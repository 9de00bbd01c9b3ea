"""Bodies for the catalog: registries, models and model versions with their model cards."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, field_validator

from maas.protocol.management.arm import ArmBody, ReadOnlyProperties, Strict


class ArtifactKind(StrEnum):
    HUGGINGFACE = "huggingface"
    GGUF = "gguf"
    OPENAI_UPSTREAM = "openai-upstream"
    WORDLLAMA = "wordllama"


class Task(StrEnum):
    CHAT_COMPLETION = "chat-completion"
    TEXT_GENERATION = "text-generation"
    EMBEDDINGS = "embeddings"


class Artifact(Strict):
    kind: ArtifactKind
    path: str | None = Field(default=None, max_length=4096)
    url: str | None = Field(default=None, max_length=2048)
    upstream_model: str | None = Field(default=None, alias="upstreamModel", max_length=256)
    api_key: str | None = Field(default=None, alias="apiKey", max_length=4096)
    has_api_key: Any = Field(default=None, alias="hasApiKey")  # read-only, echoed back from GET


class ServingSettings(Strict):
    """How the serverless pool runs this model (each unset field takes the server's default)."""

    keep_alive: int | Literal["pinned"] | None = Field(default=None, alias="keepAlive")
    max_replicas: int | None = Field(default=None, alias="maxReplicas", ge=1, le=64)
    max_concurrency: int | None = Field(default=None, alias="maxConcurrency", ge=1, le=1024)
    max_batch: int | None = Field(default=None, alias="maxBatch", ge=1, le=256)
    cold_start_timeout: float | None = Field(default=None, alias="coldStartTimeout", gt=0, le=3600)
    max_queue: int | None = Field(default=None, alias="maxQueue", ge=1, le=100_000)
    engine: Literal["auto", "vllm"] | None = None

    @field_validator("keep_alive")
    @classmethod
    def _non_negative(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and value < 0:
            raise ValueError("keepAlive is a number of seconds (0 or more) or 'pinned'")
        return value


class ModelVersionProperties(ReadOnlyProperties):
    description: str = Field(default="", max_length=10_000)
    task: Task = Task.CHAT_COMPLETION
    provider: str = Field(default="", max_length=256)
    license: str = Field(default="", max_length=256)
    model_card: str = Field(default="", alias="modelCard", max_length=200_000)
    display_name: str | None = Field(default=None, alias="displayName", max_length=256)
    context_length: int | None = Field(default=None, alias="contextLength", ge=1)
    artifact: Artifact
    serving: ServingSettings | None = None
    model_id: Any = Field(default=None, alias="modelId")  # read-only, echoed back from GET


class ModelVersionBody(ArmBody):
    properties: ModelVersionProperties


class RegistryProperties(ReadOnlyProperties):
    description: str = Field(default="", max_length=4096)


class RegistryBody(ArmBody):
    location: str | None = None
    properties: RegistryProperties = Field(default_factory=RegistryProperties)
