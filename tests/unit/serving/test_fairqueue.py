"""Weighted fair queueing: a flooding tenant cannot starve a quiet one, weights share slots,
waiters that give up leave without being served, the queue is bounded."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from maas.serving.pool import fairqueue
from maas.serving.pool.fairqueue import FairQueue, QueueFull


async def _served_order(queue: FairQueue, arrivals: list[tuple[str, float, float]]) -> list[str]:
    """Hold the only slot, queue `arrivals` (tenant, cost, weight), then free the slot one at a time."""
    order: list[str] = []
    await queue.acquire("holder")

    async def one(tenant: str, cost: float, weight: float) -> None:
        await queue.acquire(tenant, cost, weight)
        order.append(tenant)

    tasks = []
    for tenant, cost, weight in arrivals:
        tasks.append(asyncio.create_task(one(tenant, cost, weight)))
        await asyncio.sleep(0)
    holder = "holder"
    for served in range(len(arrivals)):
        queue.release(holder)  # the previous holder finishes; the queue picks the next
        while len(order) <= served:
            await asyncio.sleep(0)
        holder = order[-1]
    await asyncio.gather(*tasks)
    return order


def test_quiet_tenant_overtakes_a_flood() -> None:
    async def run() -> list[str]:
        queue = FairQueue(slots=1, burst=0)
        arrivals = [("flood", 100.0, 1.0)] * 10 + [("quiet", 100.0, 1.0)]
        return await _served_order(queue, arrivals)

    order = asyncio.run(run())
    # the quiet tenant's one request is served second, not eleventh
    assert order.index("quiet") <= 1
    assert order.count("flood") == 10


def test_weights_share_slots_in_proportion() -> None:
    async def run() -> list[str]:
        queue = FairQueue(slots=1, burst=0)
        arrivals = [("heavy", 10.0, 3.0)] * 12 + [("light", 10.0, 1.0)] * 12
        return await _served_order(queue, arrivals)

    order = asyncio.run(run())
    first = order[:12]
    # weight 3 against weight 1: about three of every four early slots go to the heavy tenant
    assert first.count("heavy") >= 8
    assert first.count("light") >= 2


def test_cost_counts_not_just_requests() -> None:
    async def run() -> list[str]:
        queue = FairQueue(slots=1, burst=0)
        arrivals = [("big", 1000.0, 1.0)] * 3 + [("small", 10.0, 1.0)] * 6
        return await _served_order(queue, arrivals)

    order = asyncio.run(run())
    # finish tags: the cheap requests of the other tenant all go before the first expensive one
    assert order == ["small"] * 6 + ["big"] * 3


def test_bounded_queue_refuses_and_giving_up_leaves() -> None:
    async def run() -> None:
        queue = FairQueue(slots=1, max_waiting=2, burst=0)
        await queue.acquire("a")
        waiting = [asyncio.create_task(queue.acquire("b")) for _ in range(2)]
        await asyncio.sleep(0)
        assert queue.waiting == 2
        with pytest.raises(QueueFull):
            await queue.acquire("c")
        # one waiter gives up: it leaves the queue and is never granted a slot
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(waiting[0], 0.01)
        assert queue.waiting == 1
        queue.release("a")
        await waiting[1]
        assert queue.busy == 1 and queue.waiting == 0
        queue.release("b")
        assert queue.busy == 0

    asyncio.run(run())


def test_slots_follow_replicas_and_failure_reaches_waiters() -> None:
    async def run() -> None:
        queue = FairQueue(slots=0, burst=0)
        task = asyncio.create_task(queue.acquire("a"))
        await asyncio.sleep(0)
        assert not task.done()  # no replica yet: it waits (a cold start)
        queue.set_slots(1)
        await task
        other = asyncio.create_task(queue.acquire("b"))
        await asyncio.sleep(0)
        queue.fail_waiting(RuntimeError("model failed"))
        with pytest.raises(RuntimeError, match="model failed"):
            await other
        assert queue.waiting == 0 and queue.busy == 1

    asyncio.run(run())


def test_alone_a_tenant_uses_every_slot_and_shares_them_when_another_comes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def run() -> None:
        queue = FairQueue(slots=8)  # burst: 2 slots for tenants with nothing in flight
        for _ in range(8):
            await queue.acquire("flood")
        backlog = [asyncio.create_task(queue.acquire("flood")) for _ in range(6)]
        await asyncio.sleep(0)
        assert queue.held == {"flood": 8} and queue.waiting == 6
        # a quiet tenant with nothing in flight is admitted at once, above the slots
        await asyncio.wait_for(queue.acquire("quiet"), 1)
        assert queue.busy == 9 and queue.share("flood") == 4
        # as the flood's requests finish, its backlog is held back to its share while quiet is active
        for _ in range(6):
            queue.release("flood")
        await asyncio.sleep(0)
        assert queue.held["flood"] <= 4 and queue.held["quiet"] == 1
        queue.release("quiet")
        # between two requests of the quiet tenant (LINGER seconds) the flood keeps to its share
        assert queue.share("flood") == 4
        # once quiet has been idle that long, the flood may fill every slot again
        monkeypatch.setattr(fairqueue, "LINGER", 0.0)
        queue.set_slots(8)
        await asyncio.sleep(0)
        assert queue.held["flood"] == 8 and queue.share("flood") == 8
        assert sum(task.done() for task in backlog) == 6

    asyncio.run(run())


def test_weights_set_the_shares() -> None:
    async def run() -> None:
        queue = FairQueue(slots=12, burst=0)
        await queue.acquire("gold", weight=3.0)
        await queue.acquire("bronze", weight=1.0)
        assert queue.share("gold") == 9 and queue.share("bronze") == 3
        queue.release("gold")
        queue.release("bronze")

    asyncio.run(run())


def test_placement_keeps_tenants_on_separate_replicas_when_several_are_active() -> None:
    from collections import Counter
    from types import SimpleNamespace

    from maas.serving.pool.backends.local import LocalPool

    def replica(name: str, **rows: int) -> Any:
        tenants = Counter(rows)
        return SimpleNamespace(name=name, alive=True, tenants=tenants, in_flight=sum(tenants.values()))

    class Pool(LocalPool):
        @property
        def ready(self) -> Any:
            return self.replicas

    pool: Any = object.__new__(Pool)
    pool.config = SimpleNamespace(max_concurrency=16)
    pool.queue = FairQueue(slots=32)
    one, two = replica("one", flood=15), replica("two", quiet=1)
    pool.replicas = [one, two]
    # alone, a tenant spreads over the least busy replicas
    pool.queue.held = {"flood": 15}
    assert pool._place("flood").name == "two"
    # with another tenant active, each stays where its own rows are
    pool.queue.held = {"flood": 15, "quiet": 1}
    assert pool._place("flood").name == "one"
    assert pool._place("quiet").name == "two"
    assert pool._place("newcomer").name == "two"  # fewer rows of others
    one.in_flight = 16  # full: the flood spills over
    assert pool._place("flood").name == "two"
