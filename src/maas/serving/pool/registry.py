"""What every serving backend shares: its pools by (model version, region), relays for upstream
models, and the operator's lookup, views and restart."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Generic, Protocol, TypeVar

from maas.core.errors import NotFound
from maas.serving.engines.base import ModelSpec
from maas.serving.pool.base import Pool, PoolEngine, PoolView, background
from maas.serving.pool.inline import INLINE_KINDS, InlinePool


class ManagedPool(Pool, Protocol):
    name: str
    spec: ModelSpec

    def view(self) -> PoolView: ...

    async def restart(self) -> None: ...

    def warm(self) -> None: ...


P = TypeVar("P", bound=ManagedPool)


class PoolRegistry(ABC, Generic[P]):
    """A backend's pools; it says how to make one and how one follows a changed catalog entry."""

    def __init__(self) -> None:
        self.pools: dict[tuple[str, str], P] = {}
        self.inline: dict[tuple[str, str], InlinePool] = {}

    @abstractmethod
    def new_pool(self, spec: ModelSpec, region: str) -> P: ...

    @abstractmethod
    def adopt(self, pool: P, spec: ModelSpec) -> None:
        """The model's catalog entry changed under a running pool."""

    def engine_for(self, spec: ModelSpec, region: str, tenant: str, weight: float = 1.0) -> PoolEngine:
        key = (spec.version_id, region.lower())
        if str(spec.artifact.get("kind")) in INLINE_KINDS:
            inline = self.inline.get(key)
            if inline is None or inline.spec != spec:
                if inline is not None:
                    background(inline.close())
                inline = self.inline[key] = InlinePool(spec, region.lower())
            return PoolEngine(inline, spec, tenant, weight)
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = self.new_pool(spec, region.lower())
        elif pool.spec != spec:
            self.adopt(pool, spec)
        return PoolEngine(pool, spec, tenant, weight)

    def warm(self, spec: ModelSpec, region: str) -> None:
        """Start a pool's first replica before any request needs it (pinned models at start-up)."""
        if str(spec.artifact.get("kind")) in INLINE_KINDS:
            return
        key = (spec.version_id, region.lower())
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = self.new_pool(spec, region.lower())
        pool.warm()

    def find(self, name: str) -> ManagedPool:
        candidates: list[ManagedPool] = [*self.pools.values(), *self.inline.values()]
        for pool in candidates:
            if pool.name == name.lower():
                return pool
        raise NotFound(f"There is no model pool '{name}' in this process.", code="PoolNotFound")

    def views(self) -> list[PoolView]:
        views = [p.view() for p in self.pools.values()] + [p.view() for p in self.inline.values()]
        return sorted(views, key=lambda v: v.name)

    async def restart(self, name: str) -> PoolView:
        pool = self.find(name)
        await pool.restart()
        return pool.view()

    async def close_inline(self) -> None:
        for inline in self.inline.values():
            await inline.close()
