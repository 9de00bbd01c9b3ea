"""What every pool backend offers the gateway and the operator: the interface, nothing else.

A pool serves one model version in one region for every endpoint that uses it. The gateway asks
the backend (`Pools`) for an engine bound to a tenant (`engine_for`, a `PoolEngine` over a
`Pool`); the operator lists, warms and restarts pools through the same object. Backends live in
`maas.serving.pool.backends` (local replica processes, Ray Serve, and inline relays to
OpenAI-compatible upstreams); what they share lives beside this module (`admission`, `stats`,
`view`, `operations`, `model_pool`), never in another backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from pydantic import BaseModel

from maas.serving.engines.base import Engine, Json, ModelSpec
from maas.serving.engines.usage import StreamChunk
from maas.serving.pool.operations import Operation
from maas.serving.pool.view import PoolView


class Pool(Protocol):
    """One pool's request path: an operation for a tenant, weighted in fair queueing."""

    async def call(
        self, op: Operation, request: BaseModel, body: Json, tenant: str, weight: float
    ) -> Json: ...

    def stream(
        self, op: Operation, request: BaseModel, body: Json, tenant: str, weight: float
    ) -> AsyncIterator[StreamChunk]: ...


class ManagedPool(Pool, Protocol):
    """A pool as its backend and the operator see it."""

    name: str
    spec: ModelSpec

    def view(self) -> PoolView: ...

    async def restart(self) -> None: ...

    def warm(self) -> None: ...


class Pools(Protocol):
    """A serving backend: every pool of this process on one kind of machinery."""

    @property
    def backend(self) -> str: ...

    async def start(self) -> None: ...

    def engine_for(self, spec: ModelSpec, region: str, tenant: str, weight: float = 1.0) -> Engine: ...

    def views(self) -> list[PoolView]: ...

    def warm(self, spec: ModelSpec, region: str) -> None: ...

    async def restart(self, name: str) -> PoolView: ...

    async def close(self) -> None: ...
