"""The quota stores (memory and Redis) against one set of sliding-window scenarios.

Every scenario runs on both back-ends. The memory store gets a fake clock that the test moves;
the Redis store uses Redis's own clock, so the tests sleep where time must pass (briefly, with
short windows) and check computed times against bounds taken around each call rather than exact
values. Redis is the server on 127.0.0.1:6379 (`MAAS_TEST_REDIS` overrides it); each test uses its
own key prefix and deletes its keys. Without a reachable server the Redis cases are skipped on a
developer's machine and fail under CI=true.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from maas.core.errors import Unavailable
from maas.gateway.quota.base import WINDOW_SECONDS, Decision, Limits, QuotaStore, open_quota_store
from maas.gateway.quota.memory import MemoryQuotaStore

REDIS_URL = os.environ.get("MAAS_TEST_REDIS", "redis://127.0.0.1:6379/0")

T = TypeVar("T")


@dataclass(frozen=True)
class Span:
    """When a call happened: between `start` and `end` on the backend's clock."""

    start: float
    end: float


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Backend:
    """Makes stores of one kind, moves time for them, and bounds the times they compute."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.prefix = f"test-{uuid.uuid4().hex}"
        self.clock = FakeClock()
        self.slack = 0.0 if name == "memory" else 0.005  # Redis times are whole milliseconds
        self._keys = 0

    def key(self) -> str:
        self._keys += 1
        return f"{self.prefix}-{self._keys}"

    def store(self, window: float = WINDOW_SECONDS) -> QuotaStore:
        if self.name == "memory":
            return MemoryQuotaStore(window=window, clock=self.clock)
        from maas.gateway.quota.redis import RedisQuotaStore

        return RedisQuotaStore(REDIS_URL, window=window)

    def now(self) -> float:
        return self.clock.now if self.name == "memory" else time.monotonic()

    async def advance(self, seconds: float) -> None:
        if self.name == "memory":
            self.clock.now += seconds
        else:
            await asyncio.sleep(seconds)

    async def timed(self, call: Awaitable[T]) -> tuple[T, Span]:
        start = self.now()
        result = await call
        return result, Span(start, self.now())

    def assert_expiry(self, seconds: float, entry: Span, asked: Span, window: float = WINDOW_SECONDS) -> None:
        """`seconds` is when the entry admitted during `entry` expires, as seen during `asked`."""
        low = entry.start + window - asked.end - self.slack
        high = entry.end + window - asked.start + self.slack
        assert low <= seconds <= high, (low, seconds, high)

    def run(self, scenario: Callable[[QuotaStore], Awaitable[None]], window: float = WINDOW_SECONDS) -> None:
        async def main() -> None:
            store = self.store(window)
            try:
                await scenario(store)
            finally:
                await store.close()

        asyncio.run(main())


def _require_redis() -> None:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # pragma: no cover - depends on the machine
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI=true ({REDIS_URL}): {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")


def _delete_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"maas:q:{{{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "redis":
        _require_redis()
    chosen = Backend(request.param)
    yield chosen
    if request.param == "redis":
        _delete_keys(chosen.prefix)


@pytest.fixture
def redis_backend() -> Iterator[Backend]:
    _require_redis()
    chosen = Backend("redis")
    yield chosen
    _delete_keys(chosen.prefix)


def _remaining(decision: Decision) -> tuple[bool, int, int]:
    return decision.admitted, decision.remaining_requests, decision.remaining_tokens


def test_admits_exactly_the_limit_then_refuses(backend: Backend) -> None:
    limits = Limits(requests_per_minute=3, tokens_per_minute=1000)
    key = backend.key()

    async def scenario(store: QuotaStore) -> None:
        spans = []
        for n in range(3):
            decision, span = await backend.timed(store.admit(key, f"r{n}", 10, limits))
            assert _remaining(decision) == (True, 2 - n, 990 - 10 * n)
            assert decision.retry_after == 0.0
            spans.append(span)
            await backend.advance(0.01)
        refused, asked = await backend.timed(store.admit(key, "r3", 10, limits))
        assert _remaining(refused) == (False, 0, 970)
        assert refused.retry_after > 0
        backend.assert_expiry(refused.retry_after, spans[0], asked)  # the oldest entry frees the slot
        # Limits lowered below the count: the entry that brings the count under them must expire.
        lowered, asked = await backend.timed(store.admit(key, "r4", 10, Limits(1, 1000)))
        assert _remaining(lowered) == (False, 0, 970)
        backend.assert_expiry(lowered.retry_after, spans[2], asked)
        peeked = await store.peek(key, limits)
        assert _remaining(peeked) == (False, 0, 970)

    backend.run(scenario)


def test_token_limit_refuses_and_retry_after_walks_the_oldest_entries(backend: Backend) -> None:
    limits = Limits(requests_per_minute=100, tokens_per_minute=100)
    key = backend.key()

    async def scenario(store: QuotaStore) -> None:
        spans = []
        for n, tokens in enumerate((40, 30, 20)):
            decision, span = await backend.timed(store.admit(key, f"r{n}", tokens, limits))
            assert decision.admitted
            spans.append(span)
            await backend.advance(0.05)
        # 90 held + 50 = 140: 40 must expire, the first entry (40) is enough.
        refused, asked = await backend.timed(store.admit(key, "a", 50, limits))
        assert _remaining(refused) == (False, 97, 10)
        backend.assert_expiry(refused.retry_after, spans[0], asked)
        # 90 held + 60 = 150: 50 must expire, the first two entries (70) are needed.
        refused, asked = await backend.timed(store.admit(key, "b", 60, limits))
        assert _remaining(refused) == (False, 97, 10)
        backend.assert_expiry(refused.retry_after, spans[1], asked)
        # Exactly the remainder fits.
        assert _remaining(await store.admit(key, "c", 10, limits)) == (True, 96, 0)
        # More than the whole limit can never fit.
        never = await store.admit(backend.key(), "d", 101, limits)
        assert _remaining(never) == (False, 100, 100)
        assert never.retry_after == pytest.approx(WINDOW_SECONDS)

    backend.run(scenario)


def test_settle_replaces_the_reservation(backend: Backend) -> None:
    limits = Limits(requests_per_minute=10, tokens_per_minute=100)
    key = backend.key()

    async def scenario(store: QuotaStore) -> None:
        assert _remaining(await store.admit(key, "a", 80, limits)) == (True, 9, 20)
        assert not (await store.admit(key, "b", 30, limits)).admitted
        await store.settle(key, "a", 10)  # used less than reserved
        assert _remaining(await store.peek(key, limits)) == (True, 9, 90)
        assert _remaining(await store.admit(key, "b", 30, limits)) == (True, 8, 60)
        await store.settle(key, "b", 95)  # used more than reserved: the window is over its limit
        over = await store.peek(key, limits)
        assert _remaining(over) == (False, 8, 0)
        assert over.retry_after > 0
        await store.settle(key, "b", 30)
        assert _remaining(await store.peek(key, limits)) == (True, 8, 60)
        await store.settle(key, "unknown", 50)  # no entry: nothing changes
        assert _remaining(await store.peek(key, limits)) == (True, 8, 60)

    backend.run(scenario)


def test_release_frees_the_slot_and_its_tokens(backend: Backend) -> None:
    limits = Limits(requests_per_minute=3, tokens_per_minute=100)
    key = backend.key()

    async def scenario(store: QuotaStore) -> None:
        spans = []
        for name, tokens in (("a", 10), ("b", 20), ("c", 30)):
            decision, span = await backend.timed(store.admit(key, name, tokens, limits))
            assert decision.admitted
            spans.append(span)
            await backend.advance(0.05)
        assert not (await store.admit(key, "d", 1, limits)).admitted
        await store.release(key, "b")
        assert _remaining(await store.peek(key, limits)) == (True, 1, 60)
        # The released entry no longer counts when working out when the request would fit:
        # with one slot, the second live entry (c, not the released b) must expire...
        refused, asked = await backend.timed(store.admit(key, "d", 1, Limits(1, 100)))
        backend.assert_expiry(refused.retry_after, spans[2], asked)
        # ...and 40 + 75 tokens need 15 freed: a's 10 and then c's 30 (b's 20 are gone already).
        refused, asked = await backend.timed(store.admit(key, "d", 75, limits))
        assert _remaining(refused) == (False, 1, 60)
        backend.assert_expiry(refused.retry_after, spans[2], asked)
        assert _remaining(await store.admit(key, "d", 30, limits)) == (True, 0, 30)
        await store.release(key, "unknown")
        await store.release(key, "b")  # twice: nothing more is freed
        assert _remaining(await store.peek(key, limits)) == (False, 0, 30)
        for name in ("a", "c", "d"):
            await store.release(key, name)
        empty = await store.peek(key, limits)
        assert _remaining(empty) == (True, 3, 100)
        assert (empty.reset_requests, empty.reset_tokens) == (0.0, 0.0)

    backend.run(scenario)


def test_admit_is_idempotent_by_request_id(backend: Backend) -> None:
    limits = Limits(requests_per_minute=1, tokens_per_minute=100)
    key = backend.key()

    async def scenario(store: QuotaStore) -> None:
        assert _remaining(await store.admit(key, "a", 30, limits)) == (True, 0, 70)
        again = await store.admit(key, "a", 30, limits)  # a retried admit: still one entry
        assert _remaining(again) == (True, 0, 70)
        assert again.retry_after == 0.0
        assert not (await store.admit(key, "b", 1, limits)).admitted
        await store.release(key, "a")
        assert _remaining(await store.peek(key, limits)) == (True, 1, 100)

    backend.run(scenario)


def test_peek_admits_nothing(backend: Backend) -> None:
    limits = Limits(requests_per_minute=3, tokens_per_minute=100)
    key = backend.key()

    async def scenario(store: QuotaStore) -> None:
        empty = await store.peek(key, limits)
        assert _remaining(empty) == (True, 3, 100)
        assert (empty.reset_requests, empty.reset_tokens, empty.retry_after) == (0.0, 0.0, 0.0)
        for _ in range(5):
            assert (await store.peek(key, limits)).admitted
        for n in range(3):
            assert (await store.admit(key, f"r{n}", 10, limits)).admitted
        full = await store.peek(key, limits)
        assert _remaining(full) == (False, 0, 70)
        assert full.retry_after > 0
        assert _remaining(await store.peek(key, limits)) == (False, 0, 70)

    backend.run(scenario)


def test_entries_expire_after_the_window(backend: Backend) -> None:
    window = 0.3
    limits = Limits(requests_per_minute=2, tokens_per_minute=100)
    key = backend.key()

    async def scenario(store: QuotaStore) -> None:
        assert (await store.admit(key, "a", 40, limits)).admitted
        assert (await store.admit(key, "b", 40, limits)).admitted
        refused = await store.admit(key, "c", 40, limits)
        assert not refused.admitted
        assert 0 < refused.retry_after <= window
        await backend.advance(window + 0.05)
        assert _remaining(await store.admit(key, "c", 40, limits)) == (True, 1, 60)
        await store.settle(key, "a", 90)  # expired: no-op
        await store.release(key, "b")  # expired: no-op
        assert _remaining(await store.peek(key, limits)) == (True, 1, 60)
        await backend.advance(window + 0.05)
        empty = await store.peek(key, limits)
        assert _remaining(empty) == (True, 2, 100)
        assert (empty.reset_requests, empty.reset_tokens) == (0.0, 0.0)

    backend.run(scenario, window=window)


def test_reset_times_follow_the_newest_entry(backend: Backend) -> None:
    limits = Limits(requests_per_minute=10, tokens_per_minute=100)
    key = backend.key()

    async def scenario(store: QuotaStore) -> None:
        first, span = await backend.timed(store.admit(key, "a", 10, limits))
        backend.assert_expiry(first.reset_requests, span, span)
        assert first.reset_tokens == first.reset_requests
        assert 0 < first.reset_requests <= WINDOW_SECONDS
        await backend.advance(0.05)
        second, span = await backend.timed(store.admit(key, "b", 10, limits))
        backend.assert_expiry(second.reset_requests, span, span)  # the newest entry, not the oldest
        await store.settle(key, "a", 0)
        await store.settle(key, "b", 0)
        idle_tokens, asked = await backend.timed(store.peek(key, limits))
        backend.assert_expiry(idle_tokens.reset_requests, span, asked)
        assert idle_tokens.reset_tokens == 0.0  # no tokens held: nothing to wait for

    backend.run(scenario)


def test_concurrent_admits_are_exact(backend: Backend) -> None:
    limits = Limits(requests_per_minute=50, tokens_per_minute=1_000_000)
    key = backend.key()

    async def main() -> None:
        # Several Redis stores are several connections, as from separate gateway processes.
        stores = [backend.store() for _ in range(4 if backend.name == "redis" else 1)]
        try:
            decisions = await asyncio.gather(
                *(stores[n % len(stores)].admit(key, f"r{n}", 7, limits) for n in range(200))
            )
            assert sum(d.admitted for d in decisions) == 50
            assert all(d.remaining_requests >= 0 for d in decisions)
            assert _remaining(await stores[0].peek(key, limits)) == (False, 0, 1_000_000 - 50 * 7)
        finally:
            for store in stores:
                await store.close()

    asyncio.run(main())


def test_memory_store_drops_a_key_once_it_is_empty() -> None:
    clock = FakeClock()
    store = MemoryQuotaStore(window=10, clock=clock)
    limits = Limits(requests_per_minute=5, tokens_per_minute=100)

    async def scenario() -> dict[str, Any]:
        await store.admit("k", "a", 1, limits)
        await store.admit("k", "b", 1, limits)
        await store.release("k", "a")
        await store.admit("other", "c", 1, limits)
        await store.release("other", "c")
        clock.now += 11
        await store.peek("k", limits)
        return store._keys

    assert asyncio.run(scenario()) == {}


def test_redis_keys_expire_and_go_when_empty(redis_backend: Backend) -> None:
    import redis

    limits = Limits(requests_per_minute=5, tokens_per_minute=100)
    key = redis_backend.key()
    names = [f"maas:q:{{{key}}}:{part}" for part in "ets"]

    async def scenario(store: QuotaStore) -> None:
        await store.admit(key, "a", 10, limits)
        client = redis.Redis.from_url(REDIS_URL)
        try:
            ttls = [client.pttl(name) for name in names]
            assert all(0 < ttl <= 60_000 + 10_000 for ttl in ttls), ttls
            await store.release(key, "a")
            assert client.exists(*names) == 0
        finally:
            client.close()

    redis_backend.run(scenario)


def test_unreachable_redis_is_unavailable() -> None:
    from maas.gateway.quota.redis import RedisQuotaStore

    async def main() -> None:
        store = RedisQuotaStore("redis://127.0.0.1:1/0?socket_connect_timeout=0.5")
        try:
            with pytest.raises(Unavailable) as caught:
                await store.admit("k", "a", 1, Limits(1, 1))
            assert caught.value.code == "quota_store_unavailable"
            assert caught.value.retry_after == 1
            assert caught.value.status == 503
        finally:
            await store.close()

    asyncio.run(main())


def test_open_quota_store_picks_the_backend_by_scheme() -> None:
    from maas.gateway.quota.redis import RedisQuotaStore

    async def main() -> None:
        memory = open_quota_store("memory://")
        assert isinstance(memory, MemoryQuotaStore)
        await memory.close()
        for url in ("redis://127.0.0.1:6379/0", "REDIS://127.0.0.1:6379/0", "unix:///tmp/redis.sock"):
            shared = open_quota_store(url)  # connects lazily: nothing is reached here
            assert isinstance(shared, RedisQuotaStore)
            await shared.close()

    asyncio.run(main())
    with pytest.raises(ValueError, match="Unknown quota store"):
        open_quota_store("postgres://localhost/quota")
    with pytest.raises(ValueError, match="Unknown quota store"):
        open_quota_store("127.0.0.1:6379")
