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
the pool — no retry loop. OpenAI-compatible upstreams are not processes: their pool relays from
the gateway process (`InlinePool`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from maas.core.errors import MaasError, Unavailable
from maas.core.shipped import resolve_path
from maas.serving.engines.base import Json, ModelSpec
from maas.serving.pool.base import (
    PoolStats,
    PoolView,
    ReplicaView,
    background,
    cancel,
    describe,
    estimate_cost,
    pool_name,
)
from maas.serving.pool.config import PoolConfig, PoolDefaults, pool_config, runtime_fields
from maas.serving.pool.fairqueue import FairQueue, wait_for_slot
from maas.serving.pool.registry import PoolRegistry
from maas.serving.pool.replica import LoadFailed, ReplicaProcess, ReplicaState, context
from maas.serving.pool.worker import noop, rss_bytes

log = logging.getLogger("maas.pool")
CRASH_LIMIT = 5  # crashes within CRASH_WINDOW seconds that mark a pool Failed
CRASH_WINDOW = 60.0
BASE_REPLICA_BYTES = 350 * 1024 * 1024  # torch + transformers + Python in a replica, before weights


def _payload(request: BaseModel, body: Json, tenant: str) -> Json:
    return {"request": request.model_dump(mode="json", exclude_unset=True), "body": body, "tenant": tenant}


class LocalPool:
    backend = "local"

    def __init__(self, manager: LocalPools, spec: ModelSpec, region: str, config: PoolConfig) -> None:
        self.manager = manager
        self.spec = spec
        self.region = region
        self.name = pool_name(spec, region)
        self.config = config
        self.queue = FairQueue(0, config.max_queue)
        self.replicas: list[ReplicaProcess] = []
        self.starting = 0
        self.error: str | None = None
        self.stats = PoolStats()
        self.last_used = time.monotonic()
        self.waiting_since: float | None = None
        self.crashes: deque[float] = deque()
        self.estimate = self._estimate_bytes()
        self._generation = 0

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
        background(self._start(reason, self._generation))
        return True

    async def _start(self, reason: str, generation: int) -> None:
        began = time.perf_counter()
        replica = ReplicaProcess(self.manager.ctx, self.spec, self.config.replica_threads)
        try:
            await replica.start()
        except LoadFailed as exc:
            if generation == self._generation:
                self._fail(exc.message)
            return
        except Exception as exc:
            log.exception("starting a replica of %s failed", self.name)
            if generation == self._generation:
                self._fail(f"{type(exc).__name__}: {exc}")
            return
        finally:
            self.starting -= 1
        if generation != self._generation:  # the pool was restarted or changed meanwhile
            await replica.stop()
            return
        seconds = time.perf_counter() - began
        if reason == "cold":
            self.stats.cold_starts += 1
            self.stats.cold_start_seconds.observe(seconds)
            self.stats.last_cold_start = {
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "seconds": round(seconds, 3),
                "loadSeconds": round(replica.load_seconds or 0.0, 3),
            }
        log.info("%s: replica %s ready in %.3f s (%s)", self.name, replica.pid, seconds, reason)
        replica.on_exit = self._refresh_slots
        self.replicas.append(replica)
        self._refresh_slots()

    def _fail(self, message: str) -> None:
        self.error = message
        log.warning("pool %s failed: %s", self.name, message)
        self.queue.fail_waiting(self._failed_error())

    def _failed_error(self) -> Unavailable:
        return Unavailable(
            f"The model '{self.spec.name}' could not be loaded: {self.error}",
            code="model_load_failed",
        )

    def warm(self) -> None:
        if self.error is None and not self.replicas and not self.starting:
            self.start_replica("warm")

    async def stop_replica(self, replica: ReplicaProcess) -> None:
        if replica in self.replicas:
            self.replicas.remove(replica)
        self._refresh_slots()
        await replica.stop()

    async def stop_all(self) -> None:
        self._generation += 1
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
                raise self._failed_error()
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
        cold = not self.ready
        return Unavailable(
            f"The model '{self.spec.name}' is "
            + ("still starting" if cold else "busy")
            + f": no replica could take the request within {self.config.cold_start_timeout:g} s; "
            "it was not run. Retry later.",
            code="cold_start_timeout" if cold else "capacity_exceeded",
            retry_after=max(1, round(self.config.cold_start_timeout / 2)) if cold else 1,
        )

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
        self.stats.requests += 1
        if failed:
            self.stats.failures += 1

    async def call(self, op: str, request: BaseModel, body: Json, tenant: str, weight: float) -> Json:
        arrived = time.perf_counter()
        replica = await self._admit(tenant, estimate_cost(request, body), weight)
        failed = True
        try:
            answer = await replica.call(op, _payload(request, body, tenant))
            failed = False
        finally:
            self._done(replica, tenant, failed)
        self.stats.answered(time.perf_counter() - arrived, answer)
        return answer

    async def stream(
        self, op: str, request: BaseModel, body: Json, tenant: str, weight: float
    ) -> AsyncIterator[Json]:
        arrived = time.perf_counter()
        replica = await self._admit(tenant, estimate_cost(request, body), weight)
        failed = True
        first = True
        try:
            async for chunk in replica.stream(op, _payload(request, body, tenant)):
                self.stats.streamed(chunk, time.perf_counter() - arrived if first else None)
                first = False
                yield chunk
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
        if len(idle) == len(ready) and keep is not None and now - self.last_used >= keep:
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


class LocalPools(PoolRegistry[LocalPool]):
    """Every pool of this process, and the supervisor that scales them."""

    backend = "local"

    def __init__(self, defaults: PoolDefaults | None = None, tick_seconds: float = 0.2) -> None:
        super().__init__()
        self.defaults = defaults or PoolDefaults()
        self.tick_seconds = tick_seconds
        self.ctx: Any = None
        self.memory_budget = self.defaults.memory_budget or int(_total_memory() * 0.8)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.ctx = context()
        # start the fork server now and wait until it has imported torch (~4 s, once per
        # process), so that the first request after start-up is not the one that pays for it
        await asyncio.to_thread(_start_fork_server, self.ctx)
        self._task = asyncio.create_task(self._supervise())

    def new_pool(self, spec: ModelSpec, region: str) -> LocalPool:
        if self.ctx is None:
            raise Unavailable("The serving pool is not started.", code="pool_not_started")
        return LocalPool(self, spec, region, pool_config(spec, self.defaults))

    def adopt(self, pool: LocalPool, spec: ModelSpec) -> None:
        """New settings apply at once; a new artifact needs new replicas."""
        restart = runtime_fields(pool.spec) != runtime_fields(spec)
        pool.spec = spec
        pool.config = pool_config(spec, self.defaults)
        pool.queue.max_waiting = pool.config.max_queue
        pool._refresh_slots()
        if restart or pool.error is not None:
            background(pool.restart())

    def make_room(self, pool: LocalPool, needed: int) -> bool:
        """True if `needed` bytes fit in the budget, after stopping idle replicas of other pools."""
        used = sum(p.memory() for p in self.pools.values())
        if used + needed <= self.memory_budget:
            return True
        idle = sorted(
            (p for p in self.pools.values() if p is not pool and p.config.keep_alive is not None),
            key=lambda p: p.last_used,
        )
        for other in idle:
            if other.queue.busy or other.queue.waiting or other.starting:
                continue
            freed = other.memory()
            log.info("stopping idle pool %s to make room for %s", other.name, pool.name)
            background(other.stop_all())
            used -= freed
            if used + needed <= self.memory_budget:
                return True
        return False

    async def _supervise(self) -> None:
        beat = 0
        while True:
            await asyncio.sleep(self.tick_seconds)
            now = time.monotonic()
            beat += 1
            for pool in list(self.pools.values()):
                try:
                    if beat % 10 == 0:
                        pool.refresh_memory()
                    await pool.tick(now)
                except Exception:
                    log.exception("supervising pool %s failed", pool.name)

    async def close(self) -> None:
        await cancel(self._task)
        for pool in self.pools.values():
            await pool.stop_all()
        await self.close_inline()


def _total_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 8 * 1024**3


def _start_fork_server(ctx: Any) -> None:
    from multiprocessing import forkserver

    forkserver.ensure_running()
    process = ctx.Process(target=noop, daemon=True)
    process.start()
    process.join(120)
