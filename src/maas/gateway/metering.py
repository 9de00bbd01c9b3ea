"""Quota and metering on the gateway's hot path: admit, answer, record, settle.

Per POST request, after the key and the endpoint's state are checked and the body is valid:

1. **Admit** (`Metering.admit`): a request that can never fit the model's context window is a
   400 `context_length_exceeded` whatever the quota's state. Otherwise reserve one request slot
   and a bound on the tokens the request can use — the prompt's UTF-8 bytes plus the chat
   template's overhead (no tokenizer makes more tokens than bytes), plus `max_tokens` (or
   `max_completion_tokens`, or the engine's default of 256), capped by the context window, × `n`
   — in the deployment's quota store, so admitted requests cannot use more than the quota.
   Over quota: 429 `rate_limit_exceeded` with `Retry-After` and `retry-after-ms`.
2. **Record** (`Admission.record`): when the answer is complete, and before its last bytes are
   sent, the usage — counted by the engine with the model's own tokenizer — goes to the ledger
   (durable from then on, see `maas.billing.ledger`). A stream cut short by the client, or by a
   model failure, records the tokens generated until then (engines stream `(chunk, usage)` pairs,
   `maas.serving.engines.usage`, and the usage never reaches the client); a request that fails
   before generating records nothing.
3. **Settle** (`Admission.settle`): the quota entry takes the real token count, or is released
   when nothing was recorded (a refused or failed request uses no quota).

`x-ratelimit-{limit,remaining}-{requests,tokens}` and `x-ratelimit-reset-{requests,tokens}` go on
every response of an endpoint whose key was accepted, errors included (`Metering.peek` when the
request never reached admission).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from maas.billing.ledger import Ledger
from maas.billing.meters import PriceList, price_list
from maas.billing.records import Status, UsageRecord
from maas.core import jsontext
from maas.core.errors import BadRequest, MaasError, TooManyRequests, Unavailable
from maas.gateway.http import Exchange
from maas.gateway.quota.base import Decision, Limits, QuotaStore
from maas.gateway.readmodel import EndpointView
from maas.serving.engines.usage import DEFAULT_MAX_TOKENS, StreamChunk

log = logging.getLogger("maas.gateway")


class Metering:
    """One per gateway process: the quota store, the ledger and the default limits."""

    def __init__(self, quotas: QuotaStore, ledger: Ledger, defaults: Limits) -> None:
        self.quotas = quotas
        self.ledger = ledger
        self.defaults = defaults

    def limits(self, view: EndpointView) -> Limits:
        billing = view.billing
        if billing is None:
            return self.defaults
        return Limits(
            requests_per_minute=billing.requests_per_minute or self.defaults.requests_per_minute,
            tokens_per_minute=billing.tokens_per_minute or self.defaults.tokens_per_minute,
        )

    async def peek(self, exchange: Exchange, view: EndpointView) -> None:
        """Put the quota headers on a response that uses no quota."""
        decision = await self.quotas.peek(view.id.lower(), self.limits(view))
        exchange.rate_headers = rate_headers(decision)

    async def admit(
        self, exchange: Exchange, view: EndpointView, route: str, request: BaseModel, body: dict[str, Any]
    ) -> Admission:
        limits = self.limits(view)
        context_length = view.model.context_length if view.model else None
        check_fits(route, request, body, context_length)
        tokens = reservation(route, request, body, context_length)
        # A request whose bound is more than the whole quota reserves the whole quota: it runs
        # alone, in an otherwise empty window (the only way a window can go over its quota).
        tokens = min(tokens, limits.tokens_per_minute)
        key = view.id.lower()
        decision = await self.quotas.admit(key, exchange.request_id, tokens, limits)
        exchange.rate_headers = rate_headers(decision)
        if not decision.admitted:
            wait = max(decision.retry_after, 0.001)
            exchange.rate_headers.append((b"retry-after-ms", str(math.ceil(wait * 1000)).encode()))
            over = (
                f"{limits.requests_per_minute} requests"
                if decision.remaining_requests == 0
                else f"{limits.tokens_per_minute} tokens"
            )
            raise TooManyRequests(
                f"Rate limit reached for the serverless endpoint '{view.name}': its quota is "
                f"{limits.requests_per_minute} requests and {limits.tokens_per_minute} tokens per minute, "
                f"and this request would exceed {over} per minute. Retry after {_duration(wait)}.",
                code="rate_limit_exceeded",
                retry_after=math.ceil(wait),
            )
        return Admission(self, view, route, exchange.request_id, key)


class Admission:
    """One admitted request: records its usage at most once, then settles its quota entry."""

    __slots__ = ("key", "metering", "recorded", "request_id", "route", "started", "used", "view")

    def __init__(self, metering: Metering, view: EndpointView, route: str, request_id: str, key: str) -> None:
        self.metering = metering
        self.view = view
        self.route = route
        self.request_id = request_id
        self.key = key
        self.started = time.time()
        self.recorded = False
        self.used = 0

    def record(self, input_tokens: int, output_tokens: int, status: str) -> None:
        if self.recorded:
            return
        self.recorded = True
        self.used = input_tokens + output_tokens
        view, billing, model = self.view, self.view.billing, self.view.model
        record = UsageRecord(
            request_id=self.request_id,
            endpoint_id=view.id,
            subscription=billing.subscription if billing else "",
            resource_group=billing.resource_group if billing else "",
            workspace=billing.workspace if billing else "",
            billed_resource_id=billing.billed_resource_id if billing else view.id,
            model_id=model.version_id if model else "",
            offer_id=billing.offer_id if billing else None,
            region=view.region,
            route=self.route,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            prices=_prices(billing.meters if billing else ()),
            status=status,
            started_at=self.started,
            ended_at=time.time(),
        )
        try:
            self.metering.ledger.record(record)
        except OSError as exc:  # the journal's disk: an answer that cannot be billed is not sent
            self.used = 0
            log.error("cannot journal usage record %s: %s", self.request_id, exc)
            raise Unavailable(
                "The usage of this request could not be recorded; retry the request.",
                code="ledger_unavailable",
            ) from exc

    def record_answer(self, answer: dict[str, Any]) -> None:
        usage = answer.get("usage") or {}
        prompt = int(usage.get("prompt_tokens") or 0)
        completion = int(usage.get("completion_tokens") or 0)
        self.record(prompt, completion, Status.SUCCEEDED)

    async def settle(self) -> None:
        """Runs after the answer was sent: a quota store failure here is logged, not raised (the
        entry keeps its reservation and expires with the window)."""
        try:
            if self.recorded:
                await self.metering.quotas.settle(self.key, self.request_id, self.used)
            else:
                await self.metering.quotas.release(self.key, self.request_id)
        except MaasError as exc:
            log.warning("settling the quota of %s failed: %s", self.request_id, exc.message)

    async def meter_stream(self, chunks: AsyncIterator[StreamChunk]) -> AsyncIterator[dict[str, Any]]:
        """Relay the chunks of `(chunk, usage)` pairs, recording the usage when the last chunk (the
        one with OpenAI's `usage`) passes, or what was generated so far when the stream ends early:
        the engine's count where it gives one, else one token per chunk with content."""
        prompt = completion = 0
        status = Status.CLIENT_CLOSED
        try:
            async for chunk, counted in chunks:
                usage = chunk.get("usage")
                if usage:
                    self.record(
                        int(usage.get("prompt_tokens") or 0),
                        int(usage.get("completion_tokens") or 0),
                        Status.SUCCEEDED,
                    )
                elif counted is not None:
                    prompt, completion = counted
                elif _has_content(chunk):
                    completion += 1  # an engine without per-chunk counts: one token per chunk
                yield chunk
            status = Status.SUCCEEDED
        except GeneratorExit:
            status = Status.CLIENT_CLOSED
            raise
        except BaseException:
            status = Status.FAILED
            raise
        finally:
            if not self.recorded and (prompt or completion):
                self.record(prompt, completion, status)
            await self.settle()


# A chat template wraps the messages in role markers, and some add a default system prompt (a
# model's name, a date): 64 tokens for the whole prompt and 8 per message cover the common model
# families' templates; tools are rendered with their instructions, 64 more.
TEMPLATE_TOKENS = 64
MESSAGE_TOKENS = 8
TOOLS_TOKENS = 64
# Special tokens an embedding model adds around each input (BOS/EOS, CLS/SEP).
INPUT_TOKENS = 2
# No tokenizer has a token longer than this many bytes (the longest in common vocabularies are
# runs of whitespace or punctuation well under 256), so a text of B bytes is at least B / 1024
# tokens: enough to tell that a prompt can never fit the context window.
MAX_TOKEN_BYTES = 1024


def reservation(route: str, request: BaseModel, body: dict[str, Any], context_length: int | None) -> int:
    """Tokens to reserve on admit: a bound the request's usage cannot exceed.

    Every tokenizer the engines load (byte-level BPE, or SentencePiece with byte fallback) turns
    a text of B UTF-8 bytes into at most B tokens, so the prompt is bounded by its bytes plus the
    chat template's overhead; the completion by `max_tokens` (or the engine's default of 256);
    each choice by the context window, since the engine refuses anything longer.
    """
    if route == "embeddings":
        inputs = body.get("input")
        items = inputs if isinstance(inputs, list) else [inputs]
        return max(1, sum(_utf8_size(item) + INPUT_TOKENS for item in items))
    asked = _asked(request) or DEFAULT_MAX_TOKENS
    choices = getattr(request, "n", None) or 1
    if route == "completions":
        prompt = body.get("prompt")
        # A list of prompts may be answered one choice per prompt (as vLLM and OpenAI do).
        prompts = [_utf8_size(p) + INPUT_TOKENS for p in (prompt if isinstance(prompt, list) else [prompt])]
    else:
        messages = body.get("messages") or []
        size = TEMPLATE_TOKENS + sum(_utf8_size(m) + MESSAGE_TOKENS for m in messages)
        if body.get("tools"):
            size += TOOLS_TOKENS + len(jsontext.dumps(body["tools"]))
        prompts = [size]
    total = 0
    for prompt in prompts:
        per_choice = prompt + asked
        if context_length:
            per_choice = min(per_choice, context_length)
        total += per_choice * choices
    return total


def check_fits(route: str, request: BaseModel, body: dict[str, Any], context_length: int | None) -> None:
    """400 `context_length_exceeded` for a request that can never fit the model's context window,
    whatever the quota's state: `max_tokens` of the whole window or more, or a prompt whose text
    alone is longer than the window in any tokenizer."""
    if not context_length or route == "embeddings":
        return
    asked = _asked(request)
    if route == "completions":
        prompt = body.get("prompt")
        text = "".join(prompt) if isinstance(prompt, list) else prompt
    else:
        text = "".join(_strings(body.get("messages")))
    at_least = math.ceil(_utf8_size(text) / MAX_TOKEN_BYTES)
    if (asked is not None and asked >= context_length) or at_least + (asked or 0) > context_length:
        need = f"at least {max(at_least, 1)} prompt tokens" + (f" + {asked} max_tokens" if asked else "")
        raise BadRequest(
            f"This model's maximum context length is {context_length} tokens; the request needs {need}. "
            "Shorten the prompt or lower max_tokens.",
            code="context_length_exceeded",
            target="prompt" if route == "completions" else "messages",  # where OpenAI points
        )


def _asked(request: BaseModel) -> int | None:
    asked = getattr(request, "max_completion_tokens", None) or getattr(request, "max_tokens", None)
    return int(asked) if asked is not None else None


def _strings(value: Any) -> list[str]:
    """The strings in a JSON value (keys excluded)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def _utf8_size(value: Any) -> int:
    """UTF-8 bytes of the strings in a JSON value, plus one token per number (token ids)."""
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int | float):
        return 1
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, list):
        return sum(_utf8_size(v) for v in value)
    if isinstance(value, dict):
        return sum(_utf8_size(v) for v in value.values())
    return 0


def rate_headers(decision: Decision) -> list[tuple[bytes, bytes]]:
    limits = decision.limits
    return [
        (b"x-ratelimit-limit-requests", str(limits.requests_per_minute).encode()),
        (b"x-ratelimit-remaining-requests", str(decision.remaining_requests).encode()),
        (b"x-ratelimit-limit-tokens", str(limits.tokens_per_minute).encode()),
        (b"x-ratelimit-remaining-tokens", str(decision.remaining_tokens).encode()),
        (b"x-ratelimit-reset-requests", _duration(decision.reset_requests).encode()),
        (b"x-ratelimit-reset-tokens", _duration(decision.reset_tokens).encode()),
    ]


def _duration(seconds: float) -> str:
    """OpenAI's form for reset times: '0s', '12ms', '1.5s', '1m0s'."""
    ms = math.ceil(max(seconds, 0.0) * 1000)
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    minutes, rest = divmod(ms, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


@lru_cache(maxsize=1024)
def _prices(meters: tuple[tuple[str, str, str], ...]) -> PriceList:
    return price_list({"meterId": m, "pricePer1K": p, "currency": c} for m, p, c in meters)


def _has_content(chunk: dict[str, Any]) -> bool:
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content") or choice.get("text"):
            return True
    return False
