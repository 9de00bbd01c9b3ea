"""The Playground's state and words, apart from its routes (`routes/playground.py`): the settings
and conversation a form carries, checking them, the request body they make, a turn's tokens and
exact cost, the gateway's errors in words, and cosine similarity for embeddings.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from maas.billing.meters import PriceList, cost
from maas.controlplane.services.playground import EndpointFacts
from maas.web.render import exact_price

__all__ = [
    "BadInput",
    "ChatSettings",
    "Embedded",
    "Turn",
    "chat_request",
    "conversation",
    "cosine",
    "default_settings",
    "form_text",
    "inference_error",
    "max_tokens_limit",
    "read_settings",
    "read_texts",
    "turn_note",
]

STREAM_HEADER = "X-Playground-Stream"
MAX_SYSTEM = 8_000
MAX_MESSAGE = 32_000
MAX_TURNS = 64
MAX_TEXTS = 16
MAX_TEXT = 2_000
DEFAULT_TEMPERATURE = "0.7"
DEFAULT_MAX_TOKENS = 256
MAX_TOKENS_CAP = 32_768
DEFAULT_SYSTEM = "You are a helpful assistant."


class BadInput(ValueError):
    """A playground field a person must correct; the message says how."""


@dataclass(frozen=True)
class Turn:
    role: str  # "user" or "assistant"
    content: str
    note: str = ""


@dataclass
class ChatSettings:
    system: str = DEFAULT_SYSTEM
    temperature: str = DEFAULT_TEMPERATURE
    max_tokens: str = str(DEFAULT_MAX_TOKENS)
    message: str = ""
    texts: str = ""


def max_tokens_limit(found: EndpointFacts) -> int:
    return min(found.context_length or MAX_TOKENS_CAP, MAX_TOKENS_CAP)


def default_settings(found: EndpointFacts) -> ChatSettings:
    return ChatSettings(max_tokens=str(min(DEFAULT_MAX_TOKENS, max(1, max_tokens_limit(found) // 2))))


def read_settings(form: Any, found: EndpointFacts) -> ChatSettings:
    return ChatSettings(
        system=form_text(form, "system", MAX_SYSTEM + 1),
        temperature=form_text(form, "temperature", 32).strip(),
        max_tokens=form_text(form, "max_tokens", 32).strip(),
        message=form_text(form, "message", MAX_MESSAGE + 1),
        texts=form_text(form, "texts", MAX_TEXTS * (MAX_TEXT + 1) + 1),
    )


def conversation(form: Any) -> list[Turn]:
    roles = [r for r in form.getlist("turn_role") if isinstance(r, str)]
    contents = [c for c in form.getlist("turn_content") if isinstance(c, str)]
    notes = [n for n in form.getlist("turn_note") if isinstance(n, str)]
    if len(roles) != len(contents) or len(roles) > MAX_TURNS:
        raise BadInput(
            f"The conversation sent with the form is malformed or longer than {MAX_TURNS} turns; "
            "start a new chat."
        )
    notes += [""] * (len(roles) - len(notes))
    turns = []
    for role, content, note in zip(roles, contents, notes, strict=True):
        if role not in ("user", "assistant") or len(content) > MAX_MESSAGE:
            raise BadInput("The conversation sent with the form is malformed; start a new chat.")
        turns.append(Turn(role, content, note[:200]))
    return turns


def chat_request(settings: ChatSettings, history: list[Turn], found: EndpointFacts) -> dict[str, Any]:
    if len(settings.system) > MAX_SYSTEM:
        raise BadInput(f"The system message is longer than {MAX_SYSTEM:,} characters.")
    try:
        temperature = float(settings.temperature)
    except ValueError:
        raise BadInput("Temperature must be a number from 0 to 2 (for example 0.7).") from None
    if not math.isfinite(temperature) or not 0 <= temperature <= 2:
        raise BadInput("Temperature must be a number from 0 to 2 (for example 0.7).")
    limit = max_tokens_limit(found)
    if not settings.max_tokens.isdigit() or not 1 <= int(settings.max_tokens) <= limit:
        raise BadInput(f"Max tokens must be a whole number from 1 to {limit:,}.")
    message = settings.message.strip()
    if not message:
        raise BadInput("Type a message to send.")
    if len(message) > MAX_MESSAGE:
        raise BadInput(f"The message is longer than {MAX_MESSAGE:,} characters.")
    messages = [{"role": "system", "content": settings.system}] if settings.system.strip() else []
    messages += [{"role": turn.role, "content": turn.content} for turn in history]
    messages.append({"role": "user", "content": message})
    return {"messages": messages, "temperature": temperature, "max_tokens": int(settings.max_tokens)}


# -- what a person reads -------------------------------------------------------------------------
def inference_error(status: int, raw: bytes) -> str:
    """The gateway's error (the inference envelope) in words."""
    try:
        error = json.loads(raw)["error"]
        code, message = str(error.get("code") or ""), str(error.get("message") or "")
    except (ValueError, KeyError, TypeError, AttributeError):
        code, message = "", raw[:300].decode("utf-8", "replace")
    if status == 429:
        return f"Quota exceeded (429): {message}"
    if code == "context_length_exceeded":
        return (
            f"Too long for this model's context window (400): {message} "
            "Start a new chat, shorten the messages or lower Max tokens."
        )
    if status in (401, 403):
        return f"The endpoint refused the call ({status} {code}): {message}"
    if status >= 500:
        return f"The endpoint failed ({status} {code}): {message} Try again in a moment."
    return f"The endpoint refused the request ({status} {code}): {message}"


def turn_note(usage: dict[str, Any] | None, prices: PriceList, *, output: bool = True) -> str:
    """'12 input + 6 output tokens · $0.0000024': the turn's usage and its exact cost."""
    if not usage:
        return "The endpoint reported no usage."
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    total = cost(prompt, prices.input.per_1k) + cost(completion, prices.output.per_1k)
    free = Decimal(prices.input.per_1k) == 0 and Decimal(prices.output.per_1k) == 0
    money = "free" if free else exact_price(total, prices.input.currency)
    tokens = f"{prompt:,} input + {completion:,} output tokens" if output else f"{prompt:,} input tokens"
    return f"{tokens} · {money}"


# -- embeddings ---------------------------------------------------------------------------------
@dataclass
class Embedded:
    texts: list[str] = field(default_factory=list)
    dimensions: list[int] = field(default_factory=list)
    similarity: list[list[float]] = field(default_factory=list)
    note: str = ""
    error: str = ""


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def read_texts(settings: ChatSettings) -> list[str]:
    texts = [line.strip() for line in settings.texts.splitlines() if line.strip()]
    if not texts:
        raise BadInput("Type at least one text, one per line.")
    if len(texts) > MAX_TEXTS:
        raise BadInput(f"At most {MAX_TEXTS} texts at a time (one per line); you typed {len(texts)}.")
    if any(len(text) > MAX_TEXT for text in texts):
        raise BadInput(f"Each text may be at most {MAX_TEXT:,} characters long.")
    return texts


def form_text(form: Any, field_name: str, limit: int) -> str:
    value = form.get(field_name, "")
    return value[:limit] if isinstance(value, str) else ""
