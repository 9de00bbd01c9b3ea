"""Weighted fair queueing of requests from many tenants (subscriptions) onto a pool's slots.

Start-time fair queueing: a request from tenant t with cost c (its token estimate) gets
start tag S = max(V, F_t) and finish tag F = S + c / w_t, where F_t is the finish tag of t's
previous request and V the start tag of the request served last. Free slots go to the waiting
request with the smallest finish tag. A tenant that floods the pool only lengthens its own queue:
a quiet tenant's next request is tagged from the current virtual time and overtakes the flood.
The queue is bounded; a waiter that times out leaves without being served, so a request is
either served once or refused, never both.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from dataclasses import dataclass, field


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
    def __init__(self, slots: int = 0, max_waiting: int = 256) -> None:
        self.slots = slots
        self.busy = 0
        self.max_waiting = max_waiting
        self._heap: list[_Waiter] = []
        self._finish: dict[str, float] = {}
        self._virtual = 0.0
        self._seq = itertools.count()
        self.waiting = 0

    def set_slots(self, slots: int) -> None:
        self.slots = slots
        self._dispatch()

    def waiting_by_tenant(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for waiter in self._heap:
            if not waiter.future.done():
                counts[waiter.tenant] = counts.get(waiter.tenant, 0) + 1
        return counts

    async def acquire(self, tenant: str, cost: float = 1.0, weight: float = 1.0) -> None:
        """Wait for a slot (cancel the caller, e.g. with a timeout, to give up waiting)."""
        if self.busy < self.slots and self.waiting == 0:
            self.busy += 1
            self._tag(tenant, cost, weight)
            return
        if self.waiting >= self.max_waiting:
            raise QueueFull(f"{self.waiting} requests are already waiting")
        start, finish = self._tag(tenant, cost, weight, advance=False)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, _Waiter(finish, next(self._seq), start, tenant, future))
        self.waiting += 1
        try:
            await future
        except BaseException:
            if not future.done() or future.cancelled():
                future.cancel()
                self.waiting -= 1  # gave up while waiting (the heap skips it later)
            elif future.exception() is None:
                self.release()  # the slot was granted just as we gave up: hand it on
            raise

    def _tag(self, tenant: str, cost: float, weight: float, advance: bool = True) -> tuple[float, float]:
        start = max(self._virtual, self._finish.get(tenant, 0.0))
        finish = start + cost / max(weight, 1e-6)
        self._finish[tenant] = finish
        if advance:
            self._virtual = start
        return start, finish

    def release(self) -> None:
        self.busy -= 1
        self._dispatch()

    def _dispatch(self) -> None:
        while self.busy < self.slots and self._heap:
            waiter = heapq.heappop(self._heap)
            if waiter.future.done():
                continue  # gave up while waiting
            self.waiting -= 1
            self.busy += 1
            self._virtual = max(self._virtual, waiter.start)
            waiter.future.set_result(None)
        if not self._heap and self.busy == 0:
            # idle tenants should not carry old credit or debt forever
            self._finish.clear()
            self._virtual = 0.0

    def fail_waiting(self, error: BaseException) -> None:
        """Refuse every waiter (the pool failed): each raises `error`."""
        while self._heap:
            waiter = heapq.heappop(self._heap)
            if not waiter.future.done():
                self.waiting -= 1
                waiter.future.set_exception(error)
