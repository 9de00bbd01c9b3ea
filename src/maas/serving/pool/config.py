"""A pool's settings: the operator's per-model `serving` settings over the server's defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from maas.serving.engines.base import ModelSpec


@dataclass(frozen=True)
class PoolDefaults:
    keep_alive: float = 300.0
    max_replicas: int = 2
    max_concurrency: int = 16
    cold_start_timeout: float = 30.0
    max_queue: int = 256
    memory_budget: int = 0  # bytes for all replicas together; 0 = 80% of the machine's memory
    scale_up_after: float = 1.0
    scale_down_after: float = 15.0
    replica_threads: int | None = None


@dataclass(frozen=True)
class PoolConfig:
    keep_alive: float | None  # seconds a pool stays up after its last request; None = pinned
    max_replicas: int
    max_concurrency: int  # requests in flight per replica (they batch inside it)
    cold_start_timeout: float  # how long a request may wait in the queue
    max_queue: int
    scale_up_after: float
    scale_down_after: float
    replica_threads: int | None

    @property
    def keep_alive_text(self) -> float | str:
        return "pinned" if self.keep_alive is None else self.keep_alive


def _number(options: dict[str, Any], name: str, default: float) -> float:
    value = options.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def pool_config(spec: ModelSpec, defaults: PoolDefaults) -> PoolConfig:
    options = spec.options
    keep = options.get("keepAlive")
    pinned = keep == "pinned"
    keep_alive = None if pinned else max(0.0, _number(options, "keepAlive", defaults.keep_alive))
    max_replicas = max(1, int(_number(options, "maxReplicas", defaults.max_replicas)))
    return PoolConfig(
        keep_alive=keep_alive,
        max_replicas=max_replicas,
        max_concurrency=max(1, int(_number(options, "maxConcurrency", defaults.max_concurrency))),
        cold_start_timeout=max(0.001, _number(options, "coldStartTimeout", defaults.cold_start_timeout)),
        max_queue=max(1, int(_number(options, "maxQueue", defaults.max_queue))),
        scale_up_after=defaults.scale_up_after,
        scale_down_after=defaults.scale_down_after,
        replica_threads=defaults.replica_threads or _threads_per_replica(max_replicas),
    )


def _threads_per_replica(max_replicas: int) -> int:
    """Split the machine's cores between the replicas a pool may run: torch's default (every core
    in every replica) makes replicas fight over cores, which measured 4x slower under a flood."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, cores // max_replicas)


def runtime_fields(spec: ModelSpec) -> tuple[Any, ...]:
    """What, when it changes, needs new replicas (not just new pool settings)."""
    engine_options = {k: v for k, v in spec.options.items() if k in ("engine", "maxBatch")}
    return (spec.artifact, spec.context_length, spec.api_key, sorted(engine_options.items()))
