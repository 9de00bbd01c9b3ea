"""Pools for OpenAI-compatible upstreams: no replica processes, the gateway relays directly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from pydantic import BaseModel

from maas.core.errors import MaasError, Unavailable
from maas.serving.engines.base import Engine, Json, ModelSpec, load_engine
from maas.serving.pool.base import PoolStats, PoolView, describe, pool_name

INLINE_KINDS = {"openai-upstream"}


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
                        raise Unavailable(
                            f"The model '{self.spec.name}' could not be loaded: {exc.message}",
                            code="model_load_failed",
                        ) from exc
                    self.engine = engine
        return self.engine

    async def call(self, op: str, request: BaseModel, body: Json, tenant: str, weight: float) -> Json:
        engine = await self._engine()
        self.in_flight += 1
        started = time.perf_counter()
        try:
            answer: Json = await getattr(engine, op)(request, body)
        finally:
            self.in_flight -= 1
            self.stats.requests += 1
        self.stats.answered(time.perf_counter() - started, answer)
        return answer

    async def stream(
        self, op: str, request: BaseModel, body: Json, tenant: str, weight: float
    ) -> AsyncIterator[Json]:
        engine = await self._engine()
        self.in_flight += 1
        started = time.perf_counter()
        first = True
        chunks: AsyncIterator[Json] = getattr(engine, op)(request, body)
        try:
            async for chunk in chunks:
                self.stats.streamed(chunk, time.perf_counter() - started if first else None)
                first = False
                yield chunk
        finally:
            self.in_flight -= 1
            self.stats.requests += 1
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
