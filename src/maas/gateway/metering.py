"""Quota and metering on the gateway's hot path: admit, answer, record, settle.

Per POST request, after the key and the endpoint's state are checked and the body is valid:

1. **Admit** (`Metering.admit`): reserve one request slot and an estimate of the tokens the
   request may use — the prompt estimated as its text's characters / 4 (the gateway does not hold
   the model's tokenizer; English averages ~4 characters per token) plus `max_tokens` (or
   `max_completion_tokens`, or the engine's default of 256), capped by the context window, × `n`
   — in the deployment's quota store. Over quota: 429 `rate_limit_exceeded` with `Retry-After`
   and `retry-after-ms`.
2. **Record** (`Admission.record`): when the answer is complete, and before its last bytes are
   sent, the usage — counted by the engine with the model's own tokenizer — goes to the ledger
   (durable from then on, see `maas.billing.ledger`). A stream cut short by the client, or by a
   model failure, records the tokens generated until then (engines report them per chunk under
   a private key that is stripped here); a request that fails before generating records nothing.
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
from maas.controlplane.services.directory import EndpointView
from maas.core.errors import MaasError, TooManyRequests, Unavailable
from maas.gateway.http import Exchange
from maas.gateway.quota.base import Decision, Limits, QuotaStore
from maas.serving.engines.base import PRIVATE_USAGE
from maas.serving.engines.generation import DEFAULT_MAX_TOKENS

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
        tokens = reservation(route, request, body, view.model.context_length if view.model else None)
        # A request that may use more than the whole quota reserves the whole quota: it runs when
        # the window is otherwise empty (the engine refuses one that cannot fit its context).
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

    async def meter_stream(self, chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
        """Relay `chunks`, recording the usage when the last chunk (the one with `usage`) passes,
        or what was generated so far when the stream ends early."""
        prompt = completion = 0
        status = Status.CLIENT_CLOSED
        try:
            async for chunk in chunks:
                private = chunk.pop(PRIVATE_USAGE, None)
                usage = chunk.get("usage")
                if usage:
                    self.record(
                        int(usage.get("prompt_tokens") or 0),
                        int(usage.get("completion_tokens") or 0),
                        Status.SUCCEEDED,
                    )
                elif private:
                    prompt, completion = int(private[0]), int(private[1])
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


def reservation(route: str, request: BaseModel, body: dict[str, Any], context_length: int | None) -> int:
    """Tokens to reserve on admit: the prompt estimated from the size of its text (4 bytes per
    token), plus what the request may generate — never more than the model's context window
    allows per choice, since the engine refuses anything longer."""
    if route == "embeddings":
        return max(1, math.ceil(_text_size(body.get("input")) / 4))
    prompt = math.ceil(_text_size(body.get("messages") or body.get("prompt")) / 4)
    prompt += math.ceil(_text_size(body.get("tools")) / 4)
    asked = getattr(request, "max_completion_tokens", None) or getattr(request, "max_tokens", None)
    choices = getattr(request, "n", None) or 1
    per_choice = prompt + (asked or DEFAULT_MAX_TOKENS)
    if context_length:
        per_choice = min(per_choice, context_length)
    return per_choice * choices


def _text_size(value: Any) -> int:
    """UTF-8-ish size of the strings in a JSON value (characters; enough for an estimate)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(_text_size(v) for v in value)
    if isinstance(value, dict):
        return sum(_text_size(v) for v in value.values())
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
