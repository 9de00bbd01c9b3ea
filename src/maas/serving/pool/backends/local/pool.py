"""The local serving backend: each pool's replicas are processes on this machine.

One `LocalPool` per (model version, region). Requests are admitted through the pool's
`FairQueue` (slots = ready replicas × `maxConcurrency`), then sent to the least busy replica.
A pool with no replica starts one on its first request (a cold start) while requests wait in the
queue; past `coldStartTimeout` they get 503 with Retry-After and are never run. A supervisor task
(`tick`) scales each pool: one more replica when requests have been waiting for a while (up to
`maxReplicas`, within the memory budget shared by all pools), one fewer when a replica has been
idle, none after the pool's keep-alive (0 = at once, pinned = never). A replica that crashes is
replaced while there is work; its in-flight requests got a clean 503. A model that fails to load
marks its pool Failed with the loader's message until the model changes or an operator restarts
the pool — no retry loop. OpenAI-compatible upstreams are not processes: their pools relay from
the gateway process (the inline backend, `maas.serving.pool.upstreams`).

This module is one pool; `pools.py` holds them all and the supervisor that calls `tick`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from maas.core.errors import MaasError, Unavailable
from maas.core.shipped import resolve_path
from maas.serving.engines.base import Json, ModelSpec
from maas.serving.engines.usage import StreamChunk
from maas.serving.pool.admission import estimate_cost, wait_for_slot
from maas.serving.pool.backends.local.replica import ReplicaProcess, ReplicaState
from maas.serving.pool.backends.local.worker import rss_bytes
from maas.serving.pool.config import PoolConfig
from maas.serving.pool.fairqueue import FairQueue
from maas.serving.pool.model_pool import ModelPool
from maas.serving.pool.operations import Operation, payload
from maas.serving.pool.view import PoolView, ReplicaView, describe

if TYPE_CHECKING:
    from maas.serving.pool.backends.local.pools import LocalPools

log = logging.getLogger("maas.pool")
CRASH_LIMIT = 5  # crashes within CRASH_WINDOW seconds that mark a pool Failed
CRASH_WINDOW = 60.0
BASE_REPLICA_BYTES = 350 * 1024 * 1024  # torch + transformers + Python in a replica, before weights


class LocalPool(ModelPool):
    backend = "local"

    def __init__(self, manager: LocalPools, spec: ModelSpec, region: str, config: PoolConfig) -> None:
        super().__init__(spec, region, config)
        self.manager = manager
        self.queue = FairQueue(0, config.max_queue)
        self.replicas: list[ReplicaProcess] = []
        self.starting = 0
        self.last_used = time.monotonic()
        self.waiting_since: float | None = None
        self.crashes: deque[float] = deque()
        self.estimate = self._estimate_bytes()

    # -- state --------------------------------------------------------------------------------
    @property
    def ready(self) -> list[ReplicaProcess]:
        return [r for r in self.replicas if r.alive]

    @property
    def state(self) -> str:
        if self.error is not None:
            return "Failed"
        if self.ready:
            return "Ready"
        if self.starting:
            return "Starting"
        return "Stopped"

    def memory(self) -> int:
        return sum(r.rss or self.estimate for r in self.replicas) + self.starting * self.estimate

    def _estimate_bytes(self) -> int:
        path = self.spec.artifact.get("path")
        size = 0
        if path:
            with contextlib.suppress(OSError, MaasError):
                target = Path(resolve_path(str(path)))
                files = target.rglob("*") if target.is_dir() else [target]
                size = sum(f.stat().st_size for f in files if f.is_file())
        return BASE_REPLICA_BYTES + int(size * 1.2)

    def view(self) -> PoolView:
        return describe(
            self,
            state=self.state,
            replicas=[
                ReplicaView(
                    id=r.id,
                    state=str(r.state),
                    pid=r.pid,
                    in_flight=r.in_flight,
                    rss_mb=r.rss / 1048576,
                    started_at=r.started_at,
                    load_seconds=r.load_seconds,
                    served=r.served,
                )
                for r in self.replicas
            ],
            queue_depth=self.queue.waiting,
            in_flight=self.queue.busy,
            keep_alive=self.config.keep_alive_text,
            max_replicas=self.config.max_replicas,
            max_concurrency=self.config.max_concurrency,
        )

    # -- replicas -----------------------------------------------------------------------------
    def _refresh_slots(self) -> None:
        self.queue.set_slots(len(self.ready) * self.config.max_concurrency)

    def start_replica(self, reason: str) -> bool:
        """Start one replica in the background, if the memory budget allows; False if it does not."""
        if not self.manager.make_room(self, self.estimate):
            return False
        self.starting += 1
        self.manager.tasks.spawn(self._start(reason, self.generation))
        return True

    async def _start(self, reason: str, generation: int) -> None:
        began = time.perf_counter()
        replica = ReplicaProcess(
            self.manager.ctx, self.spec, self.manager.replica_id(), self.config.replica_threads
        )

        async def start() -> ReplicaProcess:
            await replica.start()
            return replica

        try:
            started = await self._load(start(), generation, f"starting a replica of {self.name}")
        finally:
            self.starting -= 1
        if started is None:
            return
        if generation != self.generation:  # the pool was restarted or changed meanwhile
            await replica.stop()
            return
        seconds = time.perf_counter() - began
        if reason == "cold":
            self.stats.cold_starts += 1
            self.stats.cold_start(seconds, replica.load_seconds or 0.0)
        log.info("%s: replica %s ready in %.3f s (%s)", self.name, replica.pid, seconds, reason)
        replica.on_exit = self._refresh_slots
        self.replicas.append(replica)
        self._refresh_slots()

    def _fail(self, message: str) -> None:
        super()._fail(message)
        self.queue.fail_waiting(self.failed_error())

    def warm(self) -> None:
        if self.error is None and not self.replicas and not self.starting:
            self.start_replica("warm")

    async def stop_replica(self, replica: ReplicaProcess) -> None:
        if replica in self.replicas:
            self.replicas.remove(replica)
        self._refresh_slots()
        await replica.stop()

    async def stop_all(self) -> None:
        self.generation += 1
        for replica in list(self.replicas):
            await self.stop_replica(replica)

    async def restart(self) -> None:
        await self.stop_all()
        self.error = None

    # -- requests -----------------------------------------------------------------------------
    async def _admit(self, tenant: str, cost: float, weight: float) -> ReplicaProcess:
        """Wait for a slot on a ready replica (starting one if there is none) and return it."""
        deadline = time.monotonic() + self.config.cold_start_timeout
        while True:
            if self.error is not None:
                raise self.failed_error()
            self.last_used = time.monotonic()
            if not self.ready and not self.starting and not self.start_replica("cold"):
                raise Unavailable(
                    f"There is no memory left to start the model '{self.spec.name}' "
                    f"(budget {self.manager.memory_budget // 1048576} MiB); retry later.",
                    code="capacity_exceeded",
                    retry_after=5,
                )
            await wait_for_slot(
                self.queue, self.spec.name, tenant, cost, weight, deadline - time.monotonic(), self._timed_out
            )
            replica = self._place(tenant)
            if replica is not None:
                replica.tenants[tenant] += 1
                return replica
            self.queue.release(tenant)  # its replica died just now: wait for the next one

    def _timed_out(self) -> Unavailable:
        return self.not_taken(cold=not self.ready)

    def _place(self, tenant: str) -> ReplicaProcess | None:
        """The replica for a request: one with room, preferring the fewest rows of other tenants
        (so a flood and a quiet tenant end up on different replicas and the quiet one does not
        decode inside the flood's batch), then the least busy."""
        ready = self.ready
        roomy = [r for r in ready if r.in_flight < self.config.max_concurrency] or ready
        if not roomy:
            return None
        if len(self.queue.active()) > 1:  # keep each tenant on its own replicas
            return min(
                roomy, key=lambda r: (r.in_flight - r.tenants[tenant], -r.tenants[tenant], r.in_flight)
            )
        return min(roomy, key=lambda r: r.in_flight)

    def _done(self, replica: ReplicaProcess, tenant: str, failed: bool) -> None:
        replica.tenants[tenant] -= 1
        if replica.tenants[tenant] <= 0:
            del replica.tenants[tenant]
        self.queue.release(tenant)
        self.last_used = time.monotonic()
        self.stats.served(failed)

    async def call(self, op: Operation, request: BaseModel, body: Json, tenant: str, weight: float) -> Json:
        arrived = time.perf_counter()
        replica = await self._admit(tenant, estimate_cost(request, body), weight)
        failed = True
        try:
            answer = await replica.call(op, payload(request, body, tenant))
            failed = False
        finally:
            self._done(replica, tenant, failed)
        self.stats.answered(time.perf_counter() - arrived, answer)
        return answer

    async def stream(
        self, op: Operation, request: BaseModel, body: Json, tenant: str, weight: float
    ) -> AsyncIterator[StreamChunk]:
        arrived = time.perf_counter()
        replica = await self._admit(tenant, estimate_cost(request, body), weight)
        failed = True
        first = True
        try:
            async for item in replica.stream(op, payload(request, body, tenant)):
                self.stats.streamed(item[0], time.perf_counter() - arrived if first else None)
                first = False
                yield item
            failed = False
        finally:
            self._done(replica, tenant, failed)

    # -- supervision --------------------------------------------------------------------------
    async def tick(self, now: float) -> None:
        crashed = False
        for replica in list(self.replicas):
            if replica.state is ReplicaState.EXITED:
                self.replicas.remove(replica)
                self._refresh_slots()
                self.stats.restarts += 1
                self.crashes.append(now)
                crashed = True
                log.warning("%s: replica %s %s", self.name, replica.pid, replica.exit_reason)
                while self.crashes and self.crashes[0] < now - CRASH_WINDOW:
                    self.crashes.popleft()
                if len(self.crashes) >= CRASH_LIMIT:
                    self._fail(
                        f"its replicas crashed {len(self.crashes)} times in {CRASH_WINDOW:g} s "
                        f"(last: {replica.exit_reason})"
                    )
        if self.error is not None:
            return
        ready = self.ready
        waiting = self.queue.waiting
        keep = self.config.keep_alive
        wanted = waiting or (crashed and (keep is None or now - self.last_used < keep))
        if wanted and not ready and not self.starting:  # replace a replica that died
            self.start_replica("restart")
            return
        if waiting:
            self.waiting_since = self.waiting_since or now
        else:
            self.waiting_since = None
        if (
            self.waiting_since is not None
            and now - self.waiting_since >= self.config.scale_up_after
            and ready
            and not self.starting
            and len(self.replicas) < self.config.max_replicas
            and self.start_replica("scale-up")
        ):
            self.waiting_since = now
            return
        if not ready or waiting or self.starting:
            return
        idle = [r for r in ready if r.in_flight == 0]
        keep = self.config.keep_alive
        # `queue.busy`: a request granted a slot has not reached its replica yet (in_flight is
        # still 0); stopping now would make it start another (a second cold start).
        if (
            len(idle) == len(ready)
            and not self.queue.busy
            and keep is not None
            and now - self.last_used >= keep
        ):
            log.info("%s: idle for %.0f s, scaling to zero", self.name, now - self.last_used)
            for replica in ready:
                await self.stop_replica(replica)
            return
        if len(ready) > 1 and idle:
            oldest = min(idle, key=lambda r: r.idle_since)
            if now - oldest.idle_since >= self.config.scale_down_after:
                await self.stop_replica(oldest)

    def refresh_memory(self) -> None:
        for replica in self.ready:
            if replica.pid is not None:
                replica.rss = rss_bytes(replica.pid) or replica.rss
        if self.ready:
            self.estimate = max(r.rss for r in self.ready) or self.estimate
