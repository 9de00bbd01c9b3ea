"""The inline backend: pools for OpenAI-compatible upstreams, relayed from the gateway process.

There is no replica process, no queue and no scaling: the upstream server does that. A pool
starts its engine (an HTTP client) on its first request; an engine that cannot start answers 503
`model_load_failed`. A changed catalog entry gets a new pool (the old one's client is closed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from pydantic import BaseModel

from maas.core.errors import MaasError
from maas.serving.engines.base import Engine, Json, ModelSpec, load_engine
from maas.serving.engines.usage import StreamChunk
from maas.serving.pool import operations
from maas.serving.pool.admission import load_failed
from maas.serving.pool.operations import Operation
from maas.serving.pool.registry import PoolRegistry
from maas.serving.pool.stats import PoolStats
from maas.serving.pool.view import PoolView, describe, pool_name


class InlinePool:
    """A pool whose model is an OpenAI-compatible server: the gateway relays to it directly."""

    backend = "inline"

    def __init__(self, spec: ModelSpec, region: str) -> None:
        self.spec = spec
        self.region = region
        self.name = pool_name(spec, region)
        self.engine: Engine | None = None
        self.error: str | None = None
        self.stats = PoolStats()
        self.in_flight = 0
        self._lock = asyncio.Lock()

    async def _engine(self) -> Engine:
        if self.engine is None:
            async with self._lock:
                if self.engine is None:
                    engine = load_engine(self.spec)
                    try:
                        await engine.start()
                    except MaasError as exc:
                        raise load_failed(self.spec.name, exc.message) from exc
                    self.engine = engine
        return self.engine

    async def call(self, op: Operation, request: BaseModel, body: Json, tenant: str, weight: float) -> Json:
        engine = await self._engine()
        self.in_flight += 1
        started = time.perf_counter()
        failed = True
        try:
            answer = await operations.answer(engine, op, request, body)
            failed = False
        finally:
            self.in_flight -= 1
            self.stats.served(failed)
        self.stats.answered(time.perf_counter() - started, answer)
        return answer

    async def stream(
        self, op: Operation, request: BaseModel, body: Json, tenant: str, weight: float
    ) -> AsyncIterator[StreamChunk]:
        engine = await self._engine()
        chunks = operations.stream(engine, op, request, body)  # may refuse before counting
        self.in_flight += 1
        started = time.perf_counter()
        first = True
        failed = True
        try:
            async for item in chunks:
                self.stats.streamed(item[0], time.perf_counter() - started if first else None)
                first = False
                yield item
            failed = False
        finally:
            self.in_flight -= 1
            self.stats.served(failed)
            closer = getattr(chunks, "aclose", None)
            if closer is not None:
                await closer()

    def view(self) -> PoolView:
        return describe(
            self,
            state="Ready" if self.engine is not None else "Stopped",
            replicas=[],
            queue_depth=0,
            in_flight=self.in_flight,
            keep_alive="pinned",
            max_replicas=0,
            max_concurrency=0,
        )

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.close()
            self.engine = None

    async def restart(self) -> None:
        await self.close()
        self.error = None

    def warm(self) -> None:
        return None  # an upstream has nothing to start


class InlinePools(PoolRegistry[InlinePool]):
    """Every upstream relay of this process."""

    backend = "inline"

    async def start(self) -> None:
        return None

    def new_pool(self, spec: ModelSpec, region: str) -> InlinePool:
        return InlinePool(spec, region)

    def adopt(self, pool: InlinePool, spec: ModelSpec) -> InlinePool:
        self.tasks.spawn(pool.close())
        return InlinePool(spec, pool.region)

    def warm(self, spec: ModelSpec, region: str) -> None:
        return None  # an upstream has nothing to start

    async def close(self) -> None:
        for pool in self.pools.values():
            await pool.close()
