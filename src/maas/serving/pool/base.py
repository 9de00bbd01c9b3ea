"""What every pool backend offers the gateway, and the figures it keeps for operators.

A pool serves one model version in one region for every endpoint that uses it. The gateway asks
the backend (`Pools`) for an engine bound to a tenant (`engine_for`); that `PoolEngine` has the
engine protocol's methods, so the gateway's routes do not know whether the model runs in a local
replica process, in the gateway process (OpenAI-compatible upstreams) or on Ray Serve.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from maas.serving.engines.base import Json, ModelSpec, Unsupported

_BACKGROUND: set[asyncio.Task[Any]] = set()
log = logging.getLogger("maas.pool")


def background(work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """Run `work` as a task that is kept alive until it ends (the loop only holds weak references
    to tasks, so an unreferenced one can be destroyed mid-flight) and whose failure is logged."""
    task = asyncio.get_running_loop().create_task(work)
    _BACKGROUND.add(task)

    def done(finished: asyncio.Task[Any]) -> None:
        _BACKGROUND.discard(finished)
        if not finished.cancelled() and finished.exception() is not None:
            log.error("background pool task failed", exc_info=finished.exception())

    task.add_done_callback(done)
    return task


async def cancel(task: asyncio.Task[Any] | None) -> None:
    """Cancel a pool's own long-running task and wait until it has stopped."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.sum = 0.0
        self.count = 0
        self.recent: deque[float] = deque(maxlen=512)

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, value)] += 1
        self.sum += value
        self.count += 1
        self.recent.append(value)

    def p50(self) -> float | None:
        if not self.recent:
            return None
        ordered = sorted(self.recent)
        return ordered[len(ordered) // 2]


@dataclass
class PoolStats:
    requests: int = 0
    failures: int = 0
    cold_starts: int = 0
    restarts: int = 0
    tokens: int = 0
    cold_start_seconds: Histogram = field(default_factory=Histogram)
    ttft_seconds: Histogram = field(default_factory=Histogram)
    last_cold_start: dict[str, Any] | None = None
    _window: deque[tuple[float, int]] = field(default_factory=deque)

    def add_tokens(self, count: int) -> None:
        if count <= 0:
            return
        now = time.monotonic()
        self.tokens += count
        self._window.append((now, count))
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self._window and self._window[0][0] < now - 10.0:
            self._window.popleft()

    def answered(self, seconds: float, answer: dict[str, Any]) -> None:
        """A whole answer, `seconds` after the request arrived."""
        self.ttft_seconds.observe(seconds)
        self.add_tokens(usage_tokens(answer))

    def streamed(self, chunk: dict[str, Any], first_seconds: float | None) -> None:
        """A streamed chunk; `first_seconds` (since the request arrived) for the first one only."""
        if first_seconds is not None:
            self.ttft_seconds.observe(first_seconds)
        if chunk.get("usage"):
            self.add_tokens(usage_tokens(chunk))

    def tokens_per_second(self) -> float:
        now = time.monotonic()
        self._trim(now)
        return sum(n for _, n in self._window) / 10.0


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

    def as_dict(self) -> dict[str, Any]:
        stats = self.stats
        return {
            "name": self.name,
            "model": self.model,
            "modelVersionId": self.version_id,
            "region": self.region,
            "backend": self.backend,
            "state": self.state,
            "replicas": [
                {
                    "id": r.id,
                    "state": r.state,
                    "pid": r.pid,
                    "inFlight": r.in_flight,
                    "rssMB": round(r.rss_mb, 1),
                    "startedAt": _iso(r.started_at),
                    "loadSeconds": None if r.load_seconds is None else round(r.load_seconds, 3),
                    "served": r.served,
                }
                for r in self.replicas
            ],
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


class _Described(Protocol):
    name: str
    spec: ModelSpec
    region: str
    backend: str
    error: str | None
    stats: PoolStats


def describe(
    pool: _Described,
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


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def pool_name(spec: ModelSpec, region: str) -> str:
    """A stable, readable pool name: model version id's last segments and the region."""
    parts = [p for p in spec.version_id.split("/") if p]
    model, version = (parts[-3], parts[-1]) if len(parts) >= 3 else (spec.name, "1")
    return f"{model}-v{version}-{region}".lower()


class Pool(Protocol):
    async def call(self, op: str, request: BaseModel, body: Json, tenant: str, weight: float) -> Json: ...

    def stream(
        self, op: str, request: BaseModel, body: Json, tenant: str, weight: float
    ) -> AsyncIterator[Json]: ...


class PoolEngine(Unsupported):
    """The engine protocol over a pool, for one tenant's request."""

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
        return await self.pool.call("chat", request, body, self.tenant, self.weight)

    def chat_stream(self, request: Any, body: Json) -> AsyncIterator[Json]:
        return self.pool.stream("chat_stream", request, body, self.tenant, self.weight)

    async def completion(self, request: Any, body: Json) -> Json:
        return await self.pool.call("completion", request, body, self.tenant, self.weight)

    def completion_stream(self, request: Any, body: Json) -> AsyncIterator[Json]:
        return self.pool.stream("completion_stream", request, body, self.tenant, self.weight)

    async def embed(self, request: Any, body: Json) -> Json:
        return await self.pool.call("embed", request, body, self.tenant, self.weight)


class Pools(Protocol):
    """A serving backend: local replica processes, or Ray Serve."""

    backend: str

    async def start(self) -> None: ...

    def engine_for(self, spec: ModelSpec, region: str, tenant: str, weight: float = 1.0) -> PoolEngine: ...

    def views(self) -> list[PoolView]: ...

    def warm(self, spec: ModelSpec, region: str) -> None: ...

    async def restart(self, name: str) -> PoolView: ...

    async def close(self) -> None: ...


def estimate_cost(request: BaseModel, body: Json) -> float:
    """A request's weight in fair queueing: its rough prompt size plus the tokens it may generate."""
    prompt = len(str(body.get("messages") or body.get("prompt") or body.get("input") or "")) / 4
    limit = getattr(request, "max_completion_tokens", None) or getattr(request, "max_tokens", None) or 256
    return max(1.0, prompt + float(limit))


def usage_tokens(answer: Json) -> int:
    usage = answer.get("usage") or {}
    return int(usage.get("completion_tokens") or 0)
