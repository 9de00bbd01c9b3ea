"""The local backend's pools: every pool of this process, the memory budget they share, and the
supervisor task that scales them (`LocalPool.tick`, every `tick_seconds`).

Replicas are forked from one fork server, started with the backend (`start`), that has imported
torch and transformers, so the first request after start-up does not pay for those imports.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from typing import Any

from maas.core.errors import Unavailable
from maas.serving.engines.base import ModelSpec
from maas.serving.pool.backends.local.pool import LocalPool
from maas.serving.pool.backends.local.replica import context
from maas.serving.pool.backends.local.worker import noop
from maas.serving.pool.config import PoolDefaults, pool_config, runtime_fields
from maas.serving.pool.registry import PoolRegistry
from maas.serving.pool.tasks import cancel

log = logging.getLogger("maas.pool")


class LocalPools(PoolRegistry[LocalPool]):
    """Every pool of this process, and the supervisor that scales them."""

    backend = "local"

    def __init__(self, defaults: PoolDefaults | None = None, tick_seconds: float = 0.2) -> None:
        super().__init__()
        self.defaults = defaults or PoolDefaults()
        self.tick_seconds = tick_seconds
        self.ctx: Any = None
        self._replica_ids = itertools.count(1)
        self.memory_budget = self.defaults.memory_budget or int(_total_memory() * 0.8)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.ctx = context()
        # start the fork server now and wait until it has imported torch (~4 s, once per
        # process), so that the first request after start-up is not the one that pays for it
        await asyncio.to_thread(_start_fork_server, self.ctx)
        self._task = asyncio.create_task(self._supervise())

    def replica_id(self) -> int:
        """A number for a new replica, unique in this process's backend."""
        return next(self._replica_ids)

    def new_pool(self, spec: ModelSpec, region: str) -> LocalPool:
        if self.ctx is None:
            raise Unavailable("The serving pool is not started.", code="pool_not_started")
        return LocalPool(self, spec, region, pool_config(spec, self.defaults))

    def adopt(self, pool: LocalPool, spec: ModelSpec) -> LocalPool:
        """New settings apply at once; a new artifact needs new replicas."""
        restart = runtime_fields(pool.spec) != runtime_fields(spec)
        pool.spec = spec
        pool.config = pool_config(spec, self.defaults)
        pool.queue.max_waiting = pool.config.max_queue
        pool._refresh_slots()
        if restart or pool.error is not None:
            self.tasks.spawn(pool.restart())
        return pool

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
            self.tasks.spawn(other.stop_all())
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
