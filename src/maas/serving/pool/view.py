"""What an operator sees of a pool: `PoolView`, and its camelCase properties on the pools API.

Every backend describes its pools in this one shape (`describe`), so the pools API, the CLI's
table and the Prometheus text do not know which backend runs a pool. `PoolProperties` is the
wire shape of a view (the `properties` of a `Microsoft.MaaS/pools` resource).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

from maas.serving.engines.base import ModelSpec
from maas.serving.pool.stats import PoolStats


class ReplicaProperties(TypedDict):
    id: str
    state: str
    pid: int | None
    inFlight: int
    rssMB: float
    startedAt: str
    loadSeconds: float | None
    served: int


class PoolProperties(TypedDict):
    name: str
    model: str
    modelVersionId: str
    region: str
    backend: str
    state: str
    replicas: list[ReplicaProperties]
    replicaCount: int
    queueDepth: int
    inFlight: int
    keepAlive: float | str
    maxReplicas: int
    maxConcurrency: int
    error: str | None
    requests: int
    coldStarts: int
    lastColdStart: dict[str, Any] | None
    replicaRestarts: int
    generatedTokens: int
    tokensPerSecond: float
    timeToFirstTokenP50: float | None


@dataclass
class ReplicaView:
    id: str
    state: str
    pid: int | None
    in_flight: int
    rss_mb: float
    started_at: float
    load_seconds: float | None
    served: int

    def as_dict(self) -> ReplicaProperties:
        return {
            "id": self.id,
            "state": self.state,
            "pid": self.pid,
            "inFlight": self.in_flight,
            "rssMB": round(self.rss_mb, 1),
            "startedAt": _iso(self.started_at),
            "loadSeconds": None if self.load_seconds is None else round(self.load_seconds, 3),
            "served": self.served,
        }


@dataclass
class PoolView:
    name: str
    model: str
    version_id: str
    region: str
    backend: str
    state: str
    replicas: list[ReplicaView]
    queue_depth: int
    in_flight: int
    keep_alive: float | str
    max_replicas: int
    max_concurrency: int
    error: str | None
    stats: PoolStats

    def as_dict(self) -> PoolProperties:
        stats = self.stats
        return {
            "name": self.name,
            "model": self.model,
            "modelVersionId": self.version_id,
            "region": self.region,
            "backend": self.backend,
            "state": self.state,
            "replicas": [r.as_dict() for r in self.replicas],
            "replicaCount": sum(1 for r in self.replicas if r.state == "Ready"),
            "queueDepth": self.queue_depth,
            "inFlight": self.in_flight,
            "keepAlive": self.keep_alive,
            "maxReplicas": self.max_replicas,
            "maxConcurrency": self.max_concurrency,
            "error": self.error,
            "requests": stats.requests,
            "coldStarts": stats.cold_starts,
            "lastColdStart": stats.last_cold_start,
            "replicaRestarts": stats.restarts,
            "generatedTokens": stats.tokens,
            "tokensPerSecond": round(stats.tokens_per_second(), 1),
            "timeToFirstTokenP50": stats.ttft_seconds.p50(),
        }


class Described(Protocol):
    """What every backend's pool knows about itself."""

    name: str
    spec: ModelSpec
    region: str
    error: str | None
    stats: PoolStats

    @property
    def backend(self) -> str: ...


def describe(
    pool: Described,
    *,
    state: str,
    replicas: list[ReplicaView],
    queue_depth: int,
    in_flight: int,
    keep_alive: float | str,
    max_replicas: int,
    max_concurrency: int,
) -> PoolView:
    """A pool's view: what every backend's pool has, plus what this one says about itself."""
    return PoolView(
        name=pool.name,
        model=pool.spec.name,
        version_id=pool.spec.version_id,
        region=pool.region,
        backend=pool.backend,
        state=state,
        replicas=replicas,
        queue_depth=queue_depth,
        in_flight=in_flight,
        keep_alive=keep_alive,
        max_replicas=max_replicas,
        max_concurrency=max_concurrency,
        error=pool.error,
        stats=pool.stats,
    )


def pool_name(spec: ModelSpec, region: str) -> str:
    """A stable, readable pool name: model version id's last segments and the region."""
    parts = [p for p in spec.version_id.split("/") if p]
    model, version = (parts[-3], parts[-1]) if len(parts) >= 3 else (spec.name, "1")
    return f"{model}-v{version}-{region}".lower()


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
