"""The Ray backend's pools: joining (or starting) Ray Serve, and the task that watches
`serve.status()` for every pool of this process (see `pool.py` for what a pool does)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time

from maas.core.errors import MaasError, Unavailable
from maas.serving.engines.base import ModelSpec
from maas.serving.pool.backends.ray import deployments
from maas.serving.pool.backends.ray.pool import POLL_SECONDS, RayPool
from maas.serving.pool.config import PoolDefaults, pool_config
from maas.serving.pool.registry import PoolRegistry
from maas.serving.pool.tasks import cancel

log = logging.getLogger("maas.pool.ray")


class RayPools(PoolRegistry[RayPool]):
    """Every pool this process serves through Ray Serve, and the task that watches them."""

    backend = "ray"

    def __init__(
        self,
        defaults: PoolDefaults | None = None,
        *,
        address: str | None = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        super().__init__()
        self.defaults = defaults or PoolDefaults()
        self.address = address
        self.poll_seconds = poll_seconds
        self._started: bool | None = None  # None until start(); True if this process started Ray
        self._task: asyncio.Task[None] | None = None
        self._poll_now = asyncio.Event()

    def refresh(self) -> None:
        """Read `serve.status()` now rather than at the next poll."""
        self._poll_now.set()

    async def start(self) -> None:
        try:
            await asyncio.to_thread(importlib.import_module, "ray.serve")
        except ImportError as exc:
            raise MaasError(
                "Serving models on Ray needs Ray Serve, which is not installed: install maas[ray] "
                "(pip install 'maas[ray]').",
                code="RayNotInstalled",
            ) from exc
        began = time.perf_counter()
        try:
            self._started = await asyncio.to_thread(deployments.connect, self.address)
        except Exception as exc:
            where = f"at {self.address}" if self.address else "locally"
            raise MaasError(
                f"Could not start Ray Serve {where}: {type(exc).__name__}: {exc}", code="RayUnavailable"
            ) from exc
        log.info(
            "Ray Serve ready %s in %.1f s", self.address or "(local instance)", time.perf_counter() - began
        )
        self._task = asyncio.create_task(self._watch())

    def new_pool(self, spec: ModelSpec, region: str) -> RayPool:
        if self._started is None:
            raise Unavailable("The serving pool is not started.", code="pool_not_started")
        return RayPool(self, spec, region, pool_config(spec, self.defaults))

    def adopt(self, pool: RayPool, spec: ModelSpec) -> RayPool:
        pool.adopt(spec)
        return pool

    async def _watch(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poll_now.wait(), self.poll_seconds)
            self._poll_now.clear()
            if not self.pools:
                continue
            polled_at = time.monotonic()
            try:
                apps = await asyncio.to_thread(deployments.statuses)
            except Exception:
                log.exception("reading serve.status() failed")
                continue
            for pool in list(self.pools.values()):
                try:
                    pool.observe(apps.get(pool.name), polled_at)
                except Exception:
                    log.exception("watching pool %s failed", pool.name)

    async def close(self) -> None:
        await cancel(self._task)
        for pool in self.pools.values():
            if pool.deploying is not None:
                pool.deploying.cancel()
        if self._started is not None:
            started, self._started = self._started, None
            await asyncio.to_thread(deployments.disconnect, started, started and self.address is None)
