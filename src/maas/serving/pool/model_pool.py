"""What a pool of model replicas is, whatever runs them: the part the local and Ray backends share.

A `ModelPool` has an identity (its model version × region, and a stable name), its settings, its
figures, and its model's health. A model that fails to load marks the pool Failed with the
loader's message (`error`) until the model changes or an operator restarts the pool — no retry
loop. A restart or a change starts a new generation: a load begun in an older one neither fails
nor serves the pool when it ends (`_load`).

Requests wait for a replica at most the pool's coldStartTimeout and are then refused
(`not_taken`), never run; a Failed pool refuses them at once (`failed_error`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import ClassVar, TypeVar

from maas.core.errors import MaasError, Unavailable
from maas.serving.engines.base import ModelSpec
from maas.serving.pool.admission import load_failed, not_taken
from maas.serving.pool.config import PoolConfig
from maas.serving.pool.stats import PoolStats
from maas.serving.pool.view import pool_name

log = logging.getLogger("maas.pool")
T = TypeVar("T")


class LoadFailed(MaasError):
    """The replica could not load its model; the message is the loader's."""


class ModelPool:
    backend: ClassVar[str]

    def __init__(self, spec: ModelSpec, region: str, config: PoolConfig) -> None:
        self.spec = spec
        self.region = region
        self.config = config
        self.name = pool_name(spec, region)
        self.error: str | None = None
        self.stats = PoolStats()
        self.generation = 0

    def failed_error(self) -> Unavailable:
        """The 503 for a request to a Failed pool."""
        return load_failed(self.spec.name, self.error)

    def not_taken(self, cold: bool) -> Unavailable:
        """The 503 for a request no replica took within the pool's coldStartTimeout."""
        return not_taken(self.spec.name, self.config.cold_start_timeout, cold)

    def _fail(self, message: str) -> None:
        self.error = message
        log.warning("pool %s failed: %s", self.name, message)

    def _loader_message(self, exc: Exception) -> str | None:
        """The loader's message, if `exc` says the model does not load (not that loading broke)."""
        return exc.message if isinstance(exc, LoadFailed) else None

    async def _load(self, loading: Awaitable[T], generation: int, doing: str) -> T | None:
        """What `loading` (begun in `generation`) gives, or None when it failed, which fails the
        pool unless a restart or a change began another generation meanwhile (the caller checks
        the generation of a load that succeeded)."""
        try:
            loaded = await loading
        except Exception as exc:
            message = self._loader_message(exc)
            if message is None:
                log.exception("%s failed", doing)
                message = f"{type(exc).__name__}: {exc}"
            if generation == self.generation:
                self._fail(message)
            return None
        return loaded
