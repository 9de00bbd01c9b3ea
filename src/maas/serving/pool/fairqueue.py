"""Weighted fair queueing of requests from many tenants (subscriptions) onto a pool's slots.

Order: start-time fair queueing. A request from tenant t with cost c (its token estimate) gets
start tag S = max(V, F_t) and finish tag F = S + c / w_t, where F_t is the finish tag of t's
previous request and V the start tag of the request served last; a free slot goes to the waiting
request with the smallest finish tag. A tenant that floods the pool only lengthens its own queue.

Share: ordering alone is not enough when requests are long and decode together in a batch — a
flood that already holds every slot would make a quiet tenant wait for a slot and then decode in
a large batch. So while several tenants are active (holding or waiting for slots), each may hold
at most its weighted share of the slots, and a tenant with nothing in flight is admitted at once
into a few burst slots above the limit (the replica batches a little past `maxConcurrency`).
Alone, a tenant may use every slot.

The queue is bounded; a waiter that gives up (its client left, or the cold start timed out)
leaves without being served, so a request is either served once or refused, never both.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from dataclasses import dataclass, field

LINGER = 2.0  # seconds a tenant counts as active after its last request ended


class QueueFull(Exception):
    pass


@dataclass(order=True)
class _Waiter:
    finish: float
    seq: int
    start: float = field(compare=False)
    tenant: str = field(compare=False)
    future: asyncio.Future[None] = field(compare=False)


class FairQueue:
    def __init__(self, slots: int = 0, max_waiting: int = 256, burst: int | None = None) -> None:
        self.slots = slots
        self._burst = burst
        self.busy = 0
        self.max_waiting = max_waiting
        self.waiting = 0
        self.held: dict[str, int] = {}
        self._queued: dict[str, int] = {}
        self._weights: dict[str, float] = {}
        self._last: dict[str, float] = {}  # when a tenant's last request ended
        self._heap: list[_Waiter] = []
        self._finish: dict[str, float] = {}
        self._virtual = 0.0
        self._seq = itertools.count()

    @property
    def burst(self) -> int:
        if self._burst is not None:
            return self._burst
        return max(1, self.slots // 4) if self.slots else 0

    def set_slots(self, slots: int) -> None:
        self.slots = slots
        self._dispatch()

    def active(self) -> set[str]:
        """Tenants holding or waiting for slots, or that did within the last LINGER seconds (a
        tenant sending one request after another is active between them too)."""
        now = time.monotonic()
        for tenant, at in list(self._last.items()):
            if at < now - LINGER:
                del self._last[tenant]
        return set(self.held) | set(self._queued) | set(self._last)

    def share(self, tenant: str) -> int:
        """The most slots `tenant` may hold now: all of them alone, its weighted share otherwise."""
        active = self.active()
        active.add(tenant)
        if len(active) == 1:
            return self.slots
        total = sum(self._weights.get(t, 1.0) for t in active)
        return max(1, int(self.slots * self._weights.get(tenant, 1.0) / total))

    def _may_run(self, tenant: str) -> bool:
        held = self.held.get(tenant, 0)
        if held == 0 and self.busy < self.slots + self.burst:
            return True
        return self.busy < self.slots and held < self.share(tenant)

    async def acquire(self, tenant: str, cost: float = 1.0, weight: float = 1.0) -> None:
        """Wait for a slot (cancel the caller, e.g. with a timeout, to give up waiting)."""
        if self.waiting >= self.max_waiting:
            raise QueueFull(f"{self.waiting} requests are already waiting")
        self._weights[tenant] = max(weight, 1e-6)
        start = max(self._virtual, self._finish.get(tenant, 0.0))
        finish = start + cost / self._weights[tenant]
        self._finish[tenant] = finish
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, _Waiter(finish, next(self._seq), start, tenant, future))
        self.waiting += 1
        self._queued[tenant] = self._queued.get(tenant, 0) + 1
        self._dispatch()
        try:
            await future
        except BaseException:
            if not future.done() or future.cancelled():
                future.cancel()
                self._left(tenant)  # gave up while waiting (the heap skips it later)
                self._dispatch()
            elif future.exception() is None:
                self.release(tenant)  # the slot was granted just as we gave up: hand it on
            raise

    def _left(self, tenant: str) -> None:
        self.waiting -= 1
        self._queued[tenant] -= 1
        if not self._queued[tenant]:
            del self._queued[tenant]

    def release(self, tenant: str) -> None:
        self.busy -= 1
        self.held[tenant] -= 1
        if not self.held[tenant]:
            del self.held[tenant]
            self._last[tenant] = time.monotonic()
        self._dispatch()

    def _dispatch(self) -> None:
        deferred: list[_Waiter] = []
        while self._heap and self.busy < self.slots + self.burst:
            waiter = heapq.heappop(self._heap)
            if waiter.future.done():
                continue  # gave up while waiting
            if not self._may_run(waiter.tenant):
                deferred.append(waiter)  # over its share while others are active
                continue
            self._left(waiter.tenant)
            self.busy += 1
            self.held[waiter.tenant] = self.held.get(waiter.tenant, 0) + 1
            self._virtual = max(self._virtual, waiter.start)
            waiter.future.set_result(None)
        for waiter in deferred:
            heapq.heappush(self._heap, waiter)
        if not self._heap and self.busy == 0:
            # idle tenants should not carry old credit or debt forever
            self._finish.clear()
            self._virtual = 0.0

    def fail_waiting(self, error: BaseException) -> None:
        """Refuse every waiter (the pool failed): each raises `error`."""
        while self._heap:
            waiter = heapq.heappop(self._heap)
            if not waiter.future.done():
                self._left(waiter.tenant)
                waiter.future.set_exception(error)
