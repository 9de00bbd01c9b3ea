"""Per-deployment quotas: at most N requests and T tokens in any 60-second window.

The window slides: a request admitted at time t holds one request slot and its tokens until
t + 60 s, so "offered twice the limit in a burst, exactly the limit is admitted" holds whatever the
wall clock says (a fixed calendar minute would admit up to twice the limit across a boundary).

Each admitted request is an entry (request id, time, tokens). On admit the gateway reserves the
prompt's estimated tokens plus `max_tokens` (or the model's default); when the answer is complete
it settles the entry to the tokens really used (counted by the model's tokenizer); a request that
failed before generating anything is released (its entry removed). Stores:

- `memory://` — one process, exact (everything runs on the event loop, no awaits inside a step).
- `redis://host:port/db` — many processes, exact: each step is one Lua script, so admission is
  one atomic read-check-write in Redis; times come from Redis's own clock (`TIME`), so gateways
  with skewed clocks still share one window.

Backends are picked by the URL's scheme and imported lazily (`open_quota_store`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class Limits:
    requests_per_minute: int
    tokens_per_minute: int


@dataclass(frozen=True)
class Decision:
    """The outcome of admit (or of peek, which admits nothing), with what the headers report."""

    admitted: bool
    limits: Limits
    remaining_requests: int  # slots left in the window after this decision (never negative)
    remaining_tokens: int  # tokens left in the window after this decision (never negative)
    reset_requests: float  # seconds until the request count is back to zero (the newest entry expires)
    reset_tokens: float  # seconds until the token count is back to zero
    retry_after: float = 0.0  # when refused: seconds until this request would fit


class QuotaStore(Protocol):
    async def admit(self, key: str, request_id: str, tokens: int, limits: Limits) -> Decision:
        """Admit one request reserving `tokens` if both limits allow it, atomically."""
        ...

    async def settle(self, key: str, request_id: str, tokens: int) -> None:
        """Replace an admitted entry's reservation by the tokens really used. No-op once expired."""
        ...

    async def release(self, key: str, request_id: str) -> None:
        """Remove an admitted entry (the request failed before using anything)."""
        ...

    async def peek(self, key: str, limits: Limits) -> Decision:
        """The current state, admitting nothing (for responses that use no quota)."""
        ...

    async def close(self) -> None: ...


def open_quota_store(url: str) -> QuotaStore:
    """`memory://` (default) or `redis://…`/`rediss://…`."""
    scheme = url.split("://", 1)[0].lower()
    if scheme == "memory":
        from maas.gateway.quota.memory import MemoryQuotaStore

        return MemoryQuotaStore()
    if scheme in ("redis", "rediss", "unix"):
        from maas.gateway.quota.redis import RedisQuotaStore

        return RedisQuotaStore(url)
    raise ValueError(f"Unknown quota store '{url}': use memory:// or redis://host:port/db.")
