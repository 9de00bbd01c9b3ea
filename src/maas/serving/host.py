"""Where engines live in this process: one started engine per model version, started on first use.

This is the simple host the gateway uses today: a model loads when its first request arrives
(concurrent first requests wait for the same load) and stays loaded. The serverless pool — worker
processes, scale to zero, batching, fair queueing — replaces it behind the same `engine_for` call.
A model that fails to load answers 503 with the loader's message, and is retried on a later request.
"""

from __future__ import annotations

import asyncio
import logging

from maas.core.errors import MaasError, Unavailable
from maas.serving.engines.base import Engine, ModelSpec, load_engine

log = logging.getLogger("maas.serving")


class ModelHost:
    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}
        self._specs: dict[str, ModelSpec] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def engine_for(self, spec: ModelSpec) -> Engine:
        engine = self._engines.get(spec.version_id)
        if engine is not None and self._specs[spec.version_id] == spec:
            return engine
        lock = self._locks.setdefault(spec.version_id, asyncio.Lock())
        async with lock:
            engine = self._engines.get(spec.version_id)
            if engine is not None and self._specs[spec.version_id] == spec:
                return engine
            if engine is not None:  # the catalog entry changed: reload
                await self._close(spec.version_id)
            engine = load_engine(spec)
            try:
                await engine.start()
            except MaasError as exc:
                raise Unavailable(
                    f"The model '{spec.name}' could not be loaded: {exc.message}", code="model_load_failed"
                ) from exc
            except Exception as exc:
                log.exception("loading %s failed", spec.version_id)
                raise Unavailable(
                    f"The model '{spec.name}' could not be loaded: {exc}", code="model_load_failed"
                ) from exc
            self._engines[spec.version_id] = engine
            self._specs[spec.version_id] = spec
            return engine

    async def _close(self, version_id: str) -> None:
        engine = self._engines.pop(version_id, None)
        self._specs.pop(version_id, None)
        if engine is not None:
            await engine.close()

    async def close(self) -> None:
        for version_id in list(self._engines):
            await self._close(version_id)
