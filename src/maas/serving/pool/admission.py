"""Admitting a request to a pool: its weight in fair queueing, its wait for a slot, and the 503s
it gets instead of being run.

Every backend admits the same way and refuses with the same errors, so a client sees the same
codes whichever backend serves the model:

- `capacity_exceeded` (Retry-After 1): the pool's queue is full, or its replicas stayed busy for
  the whole coldStartTimeout;
- `cold_start_timeout` (Retry-After half the timeout): no replica was running and none started in
  time;
- `model_load_failed`: the model does not load; the pool stays Failed until the model changes or
  an operator restarts it.

A refused request was never run: it is safe to retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pydantic import BaseModel

from maas.core.errors import Unavailable
from maas.serving.engines.base import Json
from maas.serving.pool.fairqueue import FairQueue, QueueFull


def estimate_cost(request: BaseModel, body: Json) -> float:
    """A request's weight in fair queueing: its rough prompt size plus the tokens it may generate."""
    prompt = len(str(body.get("messages") or body.get("prompt") or body.get("input") or "")) / 4
    limit = getattr(request, "max_completion_tokens", None) or getattr(request, "max_tokens", None) or 256
    return max(1.0, prompt + float(limit))


def at_capacity(model: str, waiting: int) -> Unavailable:
    return Unavailable(
        f"The model '{model}' is at capacity ({waiting} requests waiting); retry later.",
        code="capacity_exceeded",
        retry_after=1,
    )


def not_taken(model: str, timeout: float, cold: bool) -> Unavailable:
    """No replica took the request within `timeout`: the pool was still starting (`cold`) or busy."""
    return Unavailable(
        f"The model '{model}' is "
        + ("still starting" if cold else "busy")
        + f": no replica could take the request within {timeout:g} s; it was not run. Retry later.",
        code="cold_start_timeout" if cold else "capacity_exceeded",
        retry_after=max(1, round(timeout / 2)) if cold else 1,
    )


def load_failed(model: str, error: str | None) -> Unavailable:
    return Unavailable(f"The model '{model}' could not be loaded: {error}", code="model_load_failed")


async def wait_for_slot(
    queue: FairQueue,
    model: str,
    tenant: str,
    cost: float,
    weight: float,
    seconds: float,
    timed_out: Callable[[], Unavailable],
) -> None:
    """`queue.acquire` within `seconds`, as the gateway answers it: a full queue is 503
    capacity_exceeded at once; past the time, `timed_out()` (the request was never run)."""
    try:
        await asyncio.wait_for(queue.acquire(tenant, cost, weight), max(0.0, seconds))
    except QueueFull:
        raise at_capacity(model, queue.waiting) from None
    except TimeoutError:
        raise timed_out() from None
