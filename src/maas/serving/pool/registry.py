"""What every serving backend shares: its pools by (model version, region), the engine a request
gets, and the operator's lookup, views and restart. A backend says how to make a pool and how a
pool follows a changed catalog entry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from maas.core.errors import NotFound
from maas.serving.engines.base import ModelSpec
from maas.serving.pool.base import ManagedPool
from maas.serving.pool.engine import PoolEngine
from maas.serving.pool.tasks import Background
from maas.serving.pool.view import PoolView

P = TypeVar("P", bound=ManagedPool)


class PoolRegistry(ABC, Generic[P]):
    def __init__(self) -> None:
        self.pools: dict[tuple[str, str], P] = {}
        self.tasks = Background()

    @abstractmethod
    def new_pool(self, spec: ModelSpec, region: str) -> P: ...

    @abstractmethod
    def adopt(self, pool: P, spec: ModelSpec) -> P:
        """The model's catalog entry changed under a running pool: the pool that serves it now
        (the same one, following the change, or a new one)."""

    def _pool(self, spec: ModelSpec, region: str) -> P:
        key = (spec.version_id, region.lower())
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = self.new_pool(spec, region.lower())
        elif pool.spec != spec:
            pool = self.pools[key] = self.adopt(pool, spec)
        return pool

    def engine_for(self, spec: ModelSpec, region: str, tenant: str, weight: float = 1.0) -> PoolEngine:
        return PoolEngine(self._pool(spec, region), spec, tenant, weight)

    def warm(self, spec: ModelSpec, region: str) -> None:
        """Start a pool's first replica before any request needs it (pinned models at start-up)."""
        key = (spec.version_id, region.lower())
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = self.new_pool(spec, region.lower())
        pool.warm()

    def find(self, name: str) -> P:
        for pool in self.pools.values():
            if pool.name == name.lower():
                return pool
        raise NotFound(f"There is no model pool '{name}' in this process.", code="PoolNotFound")

    def views(self) -> list[PoolView]:
        return sorted((p.view() for p in self.pools.values()), key=lambda v: v.name)

    async def restart(self, name: str) -> PoolView:
        pool = self.find(name)
        await pool.restart()
        return pool.view()
