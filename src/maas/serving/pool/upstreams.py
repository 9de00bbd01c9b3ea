"""Models served by an OpenAI-compatible upstream, beside a backend's own pools.

An upstream is not a process to start or scale: whatever the backend (local replica processes or
Ray Serve), its requests are relayed from the gateway process by the inline backend.
`WithUpstreams` puts the two together behind one `Pools`: requests for an upstream model go to
the relays, every other request to the backend; the operator sees the pools of both.
"""

from __future__ import annotations

from maas.core.errors import NotFound
from maas.serving.engines.base import Engine, ModelSpec
from maas.serving.pool.base import Pools
from maas.serving.pool.view import PoolView

UPSTREAM_KINDS = frozenset({"openai-upstream"})


def relayed(spec: ModelSpec) -> bool:
    """Whether a model is relayed to an upstream rather than run by the backend."""
    return str(spec.artifact.get("kind")) in UPSTREAM_KINDS


class WithUpstreams:
    def __init__(self, backend: Pools, relays: Pools) -> None:
        self.pools = backend
        self.relays = relays

    @property
    def backend(self) -> str:
        return self.pools.backend

    async def start(self) -> None:
        await self.pools.start()
        await self.relays.start()

    def engine_for(self, spec: ModelSpec, region: str, tenant: str, weight: float = 1.0) -> Engine:
        serving = self.relays if relayed(spec) else self.pools
        return serving.engine_for(spec, region, tenant, weight)

    def views(self) -> list[PoolView]:
        return sorted([*self.pools.views(), *self.relays.views()], key=lambda v: v.name)

    def warm(self, spec: ModelSpec, region: str) -> None:
        if not relayed(spec):  # an upstream has nothing to start
            self.pools.warm(spec, region)

    async def restart(self, name: str) -> PoolView:
        try:
            return await self.pools.restart(name)
        except NotFound:
            return await self.relays.restart(name)

    async def close(self) -> None:
        await self.pools.close()
        await self.relays.close()
