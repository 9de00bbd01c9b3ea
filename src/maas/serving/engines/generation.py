"""Turning OpenAI sampling fields into a generation plan, and streaming decoded text safely.

Shared by local text engines: the token budget (`max_tokens` against the context window), stop
strings (text is held back while it could still be the start of a stop string), OpenAI's additive
presence/frequency penalties, and the parameters no local model honours (422
`parameter_not_supported`, as the Azure AI Model Inference API documents).
"""

from __future__ import annotations

from dataclasses import dataclass

from maas.core.errors import BadRequest, Unprocessable
from maas.protocol.inference.chat import ChatCompletionsRequest, SamplingFields
from maas.serving.engines.usage import DEFAULT_MAX_TOKENS


@dataclass(frozen=True)
class Plan:
    max_new_tokens: int
    temperature: float
    top_p: float
    seed: int | None
    stop: tuple[str, ...]
    presence_penalty: float
    frequency_penalty: float

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


def _unsupported(name: str, why: str) -> Unprocessable:
    return Unprocessable(
        f"The parameter '{name}' is not supported by this model: {why}.",
        code="parameter_not_supported",
        target=name,
    )


def refuse_unsupported(request: SamplingFields) -> None:
    if (request.n or 1) > 1:
        raise _unsupported("n", "it returns one choice per request")
    if request.logprobs:
        raise _unsupported("logprobs", "it does not return log probabilities")
    if request.logit_bias:
        raise _unsupported("logit_bias", "it does not apply logit biases")
    if isinstance(request, ChatCompletionsRequest):
        if request.tools:
            raise _unsupported("tools", "it cannot call tools")
        if request.response_format and request.response_format.get("type", "text") != "text":
            raise _unsupported("response_format", "it produces free text only")


def plan(
    request: SamplingFields, prompt_tokens: int, context_length: int, defaults: dict[str, float] | None = None
) -> Plan:
    asked = getattr(request, "max_completion_tokens", None) or request.max_tokens
    room = context_length - prompt_tokens
    if room <= 0 or (asked is not None and asked > room):
        want = f"{prompt_tokens} prompt tokens" + (f" + {asked} max_tokens" if asked is not None else "")
        raise BadRequest(
            f"This model's maximum context length is {context_length} tokens; the request needs {want}. "
            "Shorten the messages or lower max_tokens.",
            code="context_length_exceeded",
            target="messages",
        )
    stops = tuple(s for s in request.stop_list() if s)
    if len(stops) > 4:
        raise Unprocessable("At most 4 stop sequences are allowed.", code="invalid_parameter", target="stop")
    defaults = defaults or {}
    return Plan(
        max_new_tokens=asked if asked is not None else min(DEFAULT_MAX_TOKENS, room),
        temperature=request.temperature
        if request.temperature is not None
        else defaults.get("temperature", 1.0),
        top_p=request.top_p if request.top_p is not None else defaults.get("top_p", 1.0),
        seed=request.seed,
        stop=stops,
        presence_penalty=request.presence_penalty or 0.0,
        frequency_penalty=request.frequency_penalty or 0.0,
    )


class StopScanner:
    """Feed it the whole decoded text so far; it says what may be emitted and whether to stop."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops = stops
        self.hold = max((len(s) for s in stops), default=1) - 1
        self.emitted = 0
        self.stopped = False

    def feed(self, text: str, final: bool = False) -> str:
        end = len(text)
        for stop in self.stops:
            at = text.find(stop)
            if at != -1 and at < end:
                end, self.stopped = at, True
        if not self.stopped and not final:
            end = max(self.emitted, end - self.hold)
            while end > self.emitted and text[end - 1] == "\ufffd":  # an incomplete UTF-8 sequence
                end -= 1
        piece = text[self.emitted : end]
        self.emitted = max(self.emitted, end)
        return piece
