"""Wire types of the embeddings routes (Azure AI Model Inference API / OpenAI); types are strict."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class EmbeddingsRequest(BaseModel):
    """An embeddings request: one vector per input. Fields beyond these are refused (422) unless
    the `extra-parameters` header says `drop` or `pass-through`."""

    model_config = ConfigDict(extra="allow", strict=True)
    input: str | list[str] = Field(min_length=1)
    model: str | None = None
    dimensions: int | None = Field(default=None, ge=1)
    encoding_format: Literal["float", "base64"] = "float"
    input_type: Literal["text", "query", "document"] | None = None
    user: str | None = None

    def inputs(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)
