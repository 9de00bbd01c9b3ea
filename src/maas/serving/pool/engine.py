"""The engine protocol over a pool: what the gateway's routes call, for one tenant's request.

The gateway's routes take an `Engine`; a backend hands them a `PoolEngine` bound to the pool and
the tenant (the subscription), so the routes do not know whether the model runs in a local
replica process, in the gateway process (OpenAI-compatible upstreams) or on Ray Serve.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from maas.serving.engines.base import Json, ModelSpec, Unsupported
from maas.serving.engines.usage import StreamChunk
from maas.serving.pool.base import Pool
from maas.serving.pool.operations import Operation


class PoolEngine(Unsupported):
    def __init__(self, pool: Pool, spec: ModelSpec, tenant: str, weight: float = 1.0) -> None:
        self.pool = pool
        self.spec = spec
        self.tenant = tenant
        self.weight = weight

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def chat(self, request: Any, body: Json) -> Json:
        return await self.pool.call(Operation.CHAT, request, body, self.tenant, self.weight)

    def chat_stream(self, request: Any, body: Json) -> AsyncIterator[StreamChunk]:
        return self.pool.stream(Operation.CHAT_STREAM, request, body, self.tenant, self.weight)

    async def completion(self, request: Any, body: Json) -> Json:
        return await self.pool.call(Operation.COMPLETION, request, body, self.tenant, self.weight)

    def completion_stream(self, request: Any, body: Json) -> AsyncIterator[StreamChunk]:
        return self.pool.stream(Operation.COMPLETION_STREAM, request, body, self.tenant, self.weight)

    async def embed(self, request: Any, body: Json) -> Json:
        return await self.pool.call(Operation.EMBED, request, body, self.tenant, self.weight)
