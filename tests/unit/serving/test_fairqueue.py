"""Weighted fair queueing: a flooding tenant cannot starve a quiet one, weights share slots,
waiters that give up leave without being served, the queue is bounded."""

from __future__ import annotations

import asyncio

import pytest

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
    for served in range(len(arrivals)):
        queue.release()  # the previous holder finishes; the queue picks the next
        while len(order) <= served:
            await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    return order


def test_quiet_tenant_overtakes_a_flood() -> None:
    async def run() -> list[str]:
        queue = FairQueue(slots=1)
        arrivals = [("flood", 100.0, 1.0)] * 10 + [("quiet", 100.0, 1.0)]
        return await _served_order(queue, arrivals)

    order = asyncio.run(run())
    # the quiet tenant's one request is served second, not eleventh
    assert order.index("quiet") <= 1
    assert order.count("flood") == 10


def test_weights_share_slots_in_proportion() -> None:
    async def run() -> list[str]:
        queue = FairQueue(slots=1)
        arrivals = [("heavy", 10.0, 3.0)] * 12 + [("light", 10.0, 1.0)] * 12
        return await _served_order(queue, arrivals)

    order = asyncio.run(run())
    first = order[:12]
    # weight 3 against weight 1: about three of every four early slots go to the heavy tenant
    assert first.count("heavy") >= 8
    assert first.count("light") >= 2


def test_cost_counts_not_just_requests() -> None:
    async def run() -> list[str]:
        queue = FairQueue(slots=1)
        arrivals = [("big", 1000.0, 1.0)] * 3 + [("small", 10.0, 1.0)] * 6
        return await _served_order(queue, arrivals)

    order = asyncio.run(run())
    # finish tags: the cheap requests of the other tenant all go before the first expensive one
    assert order == ["small"] * 6 + ["big"] * 3


def test_bounded_queue_refuses_and_giving_up_leaves() -> None:
    async def run() -> None:
        queue = FairQueue(slots=1, max_waiting=2)
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
        queue.release()
        await waiting[1]
        assert queue.busy == 1 and queue.waiting == 0
        queue.release()
        assert queue.busy == 0

    asyncio.run(run())


def test_slots_follow_replicas_and_failure_reaches_waiters() -> None:
    async def run() -> None:
        queue = FairQueue(slots=0)
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
