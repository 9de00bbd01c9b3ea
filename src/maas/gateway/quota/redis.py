"""The shared quota store (`redis://`, `rediss://`, `unix://`): exact sliding windows across processes.

Why it exists: several gateway processes (or machines) serving one deployment must share one
window, or each would admit the full limit. What it guarantees: every step (admit, settle,
release, peek) is a single Lua script, which Redis runs atomically, so admission is one
read-check-write with no race between processes: a burst of N requests against a limit of L,
spread over any number of gateways, admits exactly min(N, L). Times come from Redis's own clock
(`TIME`, in milliseconds), so gateways with skewed clocks share one window.

Keys, one set per quota key, hash-tagged so that they sit on one cluster slot:

- `maas:q:{<key>}:e` — ZSET, member = request id, score = admission time (ms);
- `maas:q:{<key>}:t` — HASH, request id -> tokens held;
- `maas:q:{<key>}:s` — STRING, the running token total.

Each script first drops the entries older than the window (and their tokens from the total); all
three keys get a PEXPIRE of the window plus a margin on every write, so an idle deployment costs
no memory, and are deleted outright when the last entry goes. A Redis that cannot be reached
surfaces as `Unavailable` (503, `quota_store_unavailable`, Retry-After: 1). Admit is idempotent by
request id, so the client library's retry of a command whose reply was lost cannot admit twice.
"""

from __future__ import annotations

from typing import Final

import redis.asyncio
import redis.exceptions
from redis.commands.core import AsyncScript

from maas.core.errors import Unavailable
from maas.gateway.quota.base import WINDOW_SECONDS, Decision, Limits

_TTL_MARGIN_MS: Final = 5_000
_UNREACHABLE: Final = (
    redis.exceptions.ConnectionError,  # also BusyLoadingError and a full connection pool
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,  # a replica during failover
    OSError,
)

# KEYS: entries (zset), tokens (hash), sum (string). ARGV[1]: window ms, ARGV[2]: key TTL ms.
# Defines `now` (ms, Redis's clock), expires the old entries, and the helpers the steps share.
_PRELUDE: Final = """
local entries, tokens_key, sum_key = KEYS[1], KEYS[2], KEYS[3]
local window = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

local function touch()
  redis.call('PEXPIRE', entries, ttl)
  redis.call('PEXPIRE', tokens_key, ttl)
  redis.call('PEXPIRE', sum_key, ttl)
end

-- entries holding `freed` tokens were just removed: delete the keys when no entry is left, else
-- take the tokens off the running total
local function forgotten(freed)
  if redis.call('ZCARD', entries) == 0 then
    redis.call('DEL', entries, tokens_key, sum_key)
    return
  end
  if freed ~= 0 then
    redis.call('DECRBY', sum_key, freed)
  end
  touch()
end

local cutoff = now - window
local old = redis.call('ZRANGEBYSCORE', entries, '-inf', cutoff)
if #old > 0 then
  local freed = 0
  for i = 1, #old, 1000 do
    local batch = {unpack(old, i, math.min(i + 999, #old))}
    local held = redis.call('HMGET', tokens_key, unpack(batch))
    for j = 1, #held do
      freed = freed + (tonumber(held[j]) or 0)
    end
    redis.call('HDEL', tokens_key, unpack(batch))
  end
  redis.call('ZREMRANGEBYSCORE', entries, '-inf', cutoff)
  forgotten(freed)
end

local function totals()
  return redis.call('ZCARD', entries), tonumber(redis.call('GET', sum_key)) or 0
end

-- ms until the newest entry expires (0 when there is none)
local function reset()
  local newest = redis.call('ZRANGE', entries, -1, -1, 'WITHSCORES')
  if #newest == 0 then
    return 0
  end
  return math.max(0, tonumber(newest[2]) + window - now)
end

-- ms until a request of `tokens` fits: when enough of the oldest entries have expired
local function retry_after(count, total, tokens, rpm, tpm)
  if rpm <= 0 or tokens > tpm then
    return window
  end
  local wait = 0
  if count + 1 > rpm then
    local due = redis.call('ZRANGE', entries, count - rpm, count - rpm, 'WITHSCORES')
    if #due > 0 then
      wait = tonumber(due[2]) + window - now
    end
  end
  local excess = total + tokens - tpm
  local start = 0
  while excess > 0 do
    local batch = redis.call('ZRANGE', entries, start, start + 99, 'WITHSCORES')
    if #batch == 0 then
      break
    end
    local ids = {}
    for i = 1, #batch, 2 do
      ids[#ids + 1] = batch[i]
    end
    local held = redis.call('HMGET', tokens_key, unpack(ids))
    for i = 1, #ids do
      excess = excess - (tonumber(held[i]) or 0)
      if excess <= 0 then
        wait = math.max(wait, tonumber(batch[2 * i]) + window - now)
        break
      end
    end
    start = start + 100
  end
  return math.max(wait, 1)
end

local function decision(admitted, count, total, retry)
  local reset_requests = reset()
  local reset_tokens = 0
  if total > 0 then
    reset_tokens = reset_requests
  end
  return {admitted, count, total, reset_requests, reset_tokens, retry}
end
"""

# ARGV[3]: request id, ARGV[4]: tokens, ARGV[5]: requests per minute, ARGV[6]: tokens per minute.
_ADMIT: Final = (
    _PRELUDE
    + """
local request_id, tokens = ARGV[3], tonumber(ARGV[4])
local rpm, tpm = tonumber(ARGV[5]), tonumber(ARGV[6])
local count, total = totals()
if redis.call('ZSCORE', entries, request_id) then
  return decision(1, count, total, 0)
end
if count + 1 <= rpm and total + tokens <= tpm then
  redis.call('ZADD', entries, now, request_id)
  redis.call('HSET', tokens_key, request_id, ARGV[4])
  redis.call('INCRBY', sum_key, ARGV[4])
  touch()
  return decision(1, count + 1, total + tokens, 0)
end
return decision(0, count, total, retry_after(count, total, tokens, rpm, tpm))
"""
)

# ARGV[3]: request id, ARGV[4]: tokens really used.
_SETTLE: Final = (
    _PRELUDE
    + """
local request_id, tokens = ARGV[3], tonumber(ARGV[4])
if redis.call('ZSCORE', entries, request_id) then
  local held = tonumber(redis.call('HGET', tokens_key, request_id)) or 0
  redis.call('HSET', tokens_key, request_id, ARGV[4])
  if tokens ~= held then
    redis.call('INCRBY', sum_key, tokens - held)
  end
  touch()
end
return 0
"""
)

# ARGV[3]: request id.
_RELEASE: Final = (
    _PRELUDE
    + """
local request_id = ARGV[3]
if redis.call('ZREM', entries, request_id) == 1 then
  local held = tonumber(redis.call('HGET', tokens_key, request_id)) or 0
  redis.call('HDEL', tokens_key, request_id)
  forgotten(held)
end
return 0
"""
)

# ARGV[3]: requests per minute, ARGV[4]: tokens per minute.
_PEEK: Final = (
    _PRELUDE
    + """
local rpm, tpm = tonumber(ARGV[3]), tonumber(ARGV[4])
local count, total = totals()
if count + 1 <= rpm and total <= tpm then
  return decision(1, count, total, 0)
end
return decision(0, count, total, retry_after(count, total, 0, rpm, tpm))
"""
)


class RedisQuotaStore:
    """Sliding-window quotas shared through Redis; see the module docstring for what is guaranteed."""

    def __init__(self, url: str, window: float = WINDOW_SECONDS) -> None:
        # A blocking pool: a burst beyond `max_connections` waits for a connection (up to `timeout`
        # seconds) instead of failing. The URL's query string overrides these defaults, e.g.
        # `redis://host:6379/0?socket_timeout=1&max_connections=128`.
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            url, socket_connect_timeout=2.0, socket_timeout=5.0, max_connections=64, timeout=5.0
        )
        self._client = redis.asyncio.Redis.from_pool(pool)
        self._window_ms = max(1, round(window * 1000))
        self._ttl_ms = self._window_ms + _TTL_MARGIN_MS
        self._admit = self._client.register_script(_ADMIT)
        self._settle = self._client.register_script(_SETTLE)
        self._release = self._client.register_script(_RELEASE)
        self._peek = self._client.register_script(_PEEK)

    async def admit(self, key: str, request_id: str, tokens: int, limits: Limits) -> Decision:
        args = (request_id, tokens, limits.requests_per_minute, limits.tokens_per_minute)
        return self._decision(limits, await self._run(self._admit, key, *args))

    async def settle(self, key: str, request_id: str, tokens: int) -> None:
        await self._run(self._settle, key, request_id, tokens)

    async def release(self, key: str, request_id: str) -> None:
        await self._run(self._release, key, request_id)

    async def peek(self, key: str, limits: Limits) -> Decision:
        args = (limits.requests_per_minute, limits.tokens_per_minute)
        return self._decision(limits, await self._run(self._peek, key, *args))

    async def close(self) -> None:
        await self._client.aclose()

    async def _run(self, script: AsyncScript, key: str, *args: str | int) -> list[int]:
        keys = (f"maas:q:{{{key}}}:e", f"maas:q:{{{key}}}:t", f"maas:q:{{{key}}}:s")
        try:
            result = await script(keys=keys, args=(self._window_ms, self._ttl_ms, *args))
        except _UNREACHABLE as exc:
            raise Unavailable(
                "The quota store is unavailable; retry the request.",
                code="quota_store_unavailable",
                retry_after=1,
            ) from exc
        return result if isinstance(result, list) else [int(result)]

    @staticmethod
    def _decision(limits: Limits, result: list[int]) -> Decision:
        admitted, count, total, reset_requests, reset_tokens, retry_after = result
        return Decision(
            admitted=admitted == 1,
            limits=limits,
            remaining_requests=max(0, limits.requests_per_minute - count),
            remaining_tokens=max(0, limits.tokens_per_minute - total),
            reset_requests=reset_requests / 1000,
            reset_tokens=reset_tokens / 1000,
            retry_after=retry_after / 1000,
        )
