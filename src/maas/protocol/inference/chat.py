"""Wire types of the Azure AI Model Inference API / OpenAI chat and text completions.

Fields are in the order of the OpenAI reference. Unknown fields are allowed here (kept in
`model_extra`); the gateway applies the `extra-parameters` rule to them. Known fields a model cannot
honour are reported by the engine, not rejected here. Types are strict, as OpenAI's server is:
`"stream": "yes"`, `"max_tokens": "10"` or `true` are refused, never coerced (an integer is still a
valid number).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text or "" for part in self.content if part.type == "text")


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    include_usage: bool = False


class SamplingFields(Open):
    """Fields shared by chat and text completions."""

    model: str | None = None
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    logit_bias: dict[str, float] | None = None
    logprobs: Any = None
    max_tokens: int | None = Field(default=None, ge=1)
    n: int | None = Field(default=None, ge=1, le=128)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    user: str | None = None

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class ChatCompletionsRequest(SamplingFields):
    """A chat completions request. Fields beyond these are refused (422) unless the
    `extra-parameters` header says `drop` or `pass-through`."""

    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    top_logprobs: int | None = None
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    store: bool | None = None
    metadata: dict[str, Any] | None = None
    service_tier: str | None = None
    modalities: list[str] | None = None
    reasoning_effort: str | None = None


class CompletionsRequest(SamplingFields):
    """A text completions request. Fields beyond these are refused (422) unless the
    `extra-parameters` header says `drop` or `pass-through`."""

    prompt: str | list[str] = Field(min_length=1)
    best_of: int | None = None
    echo: bool | None = None
    suffix: str | None = None
