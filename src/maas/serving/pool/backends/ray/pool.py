"""The Ray Serve backend: each pool is a Ray Serve application, its replicas Ray actors.

Same contract as the local backend (`maas.serving.pool.backends.local`), other machinery:

- A pool (model version × region) is the Serve application named `pool_name(spec, region)`, with
  one deployment of `ServeReplica` (`replica.py`), which loads the engine in its constructor
  and serves the engine's operations. The gateway calls it through a `DeploymentHandle` (streams
  with `stream=True`), never through Ray's HTTP proxy, which this backend does not start.
- Serve's autoscaler scales (`deployments.deployment_options`): `min_replicas` 0 (1 when
  pinned), `max_replicas` and `max_ongoing_requests` from the pool's settings,
  `downscale_to_zero_delay_s` = keepAlive. A request that reaches a pool with no running replica
  is reported by the handle at once, and Serve starts one (a cold start) while the request waits
  in the handle's queue.
- An application is deployed lazily, on its pool's first request in this process. A request waits
  for a replica at most the pool's coldStartTimeout, then gets 503 `cold_start_timeout` and is
  cancelled, never run (the deployment goes on, so a retry finds it further along).
- A replica whose constructor fails marks the pool Failed with the loader's message, read from
  the deployment's status in `serve.status()`, and the application is deleted so that Serve does
  not retry it forever; requests get 503 `model_load_failed` until the model changes or an
  operator restarts the pool.
- One task polls `serve.status()` for the replica counts that `views()` reports and that tell a
  request whether it found the pool cold. Counters (requests, tokens, TTFT, cold starts) are kept
  per gateway process.

As locally, requests are admitted in weighted fair order between tenants (the admission and
503s of `maas.serving.pool.admission`): at most maxReplicas × maxConcurrency requests reach Ray,
the rest wait in the pool's `FairQueue`; inside Ray, Serve's router picks the least loaded replica.
Unlike the local backend there is no memory budget (Ray's scheduler places replicas) and no
per-replica pid or RSS (`serve.status()` counts replicas by state). OpenAI-compatible upstreams
are relayed from the gateway process, as locally.

Ray is imported lazily: these modules import without it, and `start()` says to install
`maas[ray]`. On a cluster (`--ray-address`) every node needs maas installed: replicas import
`maas.serving.pool.backends.ray.replica` by name.

This module is one pool, gateway side; `pools.py` holds them all and the task that watches them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from maas.core.errors import MaasError, Unavailable
from maas.serving.engines.base import Json, ModelSpec
from maas.serving.engines.usage import StreamChunk
from maas.serving.pool.admission import at_capacity, estimate_cost, wait_for_slot
from maas.serving.pool.backends.ray import deployments
from maas.serving.pool.backends.ray.deployments import AppState
from maas.serving.pool.backends.ray.replica import ModelLoadFailed, load_message
from maas.serving.pool.config import PoolConfig, pool_config
from maas.serving.pool.fairqueue import FairQueue
from maas.serving.pool.frames import raise_error, read_chunk
from maas.serving.pool.model_pool import ModelPool
from maas.serving.pool.operations import Operation, payload
from maas.serving.pool.view import PoolView, ReplicaView, describe

if TYPE_CHECKING:
    from maas.serving.pool.backends.ray.pools import RayPools

log = logging.getLogger("maas.pool.ray")
T = TypeVar("T")

POLL_SECONDS = 0.5
RUNNING = ("RUNNING", "PENDING_MIGRATION")
STARTING = ("STARTING", "UPDATING", "RECOVERING")
REPLICA_STATES = {"RUNNING": "Ready", "PENDING_MIGRATION": "Ready", "STOPPING": "Stopping"}


async def _delete_quietly(name: str) -> None:
    try:
        await asyncio.to_thread(deployments.delete, name)
    except Exception:
        log.exception("deleting the Ray Serve application %s failed", name)


def _settle(task: asyncio.Future[Any]) -> None:
    """Retrieve a given-up request's outcome (Ray answers a cancel with an error), unlogged."""
    if not task.cancelled():
        task.exception()


def _translate(exc: BaseException, pool: RayPool) -> BaseException:
    """Ray's errors on the request path, as the MaasErrors the gateway renders."""
    if isinstance(exc, MaasError | asyncio.CancelledError) or not isinstance(exc, Exception):
        return exc
    from ray.serve.exceptions import BackPressureError

    if isinstance(exc, BackPressureError):
        return at_capacity(pool.spec.name, pool.config.max_queue)
    if pool.error is not None:
        return pool.failed_error()
    log.warning("%s: request failed in Ray: %s: %s", pool.name, type(exc).__name__, exc)
    return Unavailable(
        f"The replica for '{pool.spec.name}' failed before answering; retry it.", code="replica_failed"
    )


class RayPool(ModelPool):
    backend = "ray"

    def __init__(self, manager: RayPools, spec: ModelSpec, region: str, config: PoolConfig) -> None:
        super().__init__(spec, region, config)
        self.manager = manager
        self.handles: tuple[Any, Any] | None = None
        self.deploying: asyncio.Task[None] | None = None
        self.replicas: dict[str, int] = {}
        self.in_flight = 0
        # fair admission across subscriptions in front of Ray's own (first come) queues: at most
        # maxReplicas x maxConcurrency requests reach Ray; the rest wait here in fair order
        self.queue = FairQueue(config.max_replicas * config.max_concurrency, config.max_queue)
        self.cold_since: float | None = None
        self.polled_at = 0.0  # when the replica counts were asked for
        self.answered_at = 0.0  # the last answer's first byte: a replica ran then

    @property
    def running(self) -> int:
        return sum(self.replicas.get(s, 0) for s in RUNNING)

    @property
    def state(self) -> str:
        if self.error is not None:
            return "Failed"
        if self.running:
            return "Ready"
        if self.deploying is not None or any(self.replicas.get(s) for s in STARTING):
            return "Starting"
        return "Stopped"

    def view(self) -> PoolView:
        replicas = [
            ReplicaView(
                id=f"{state.lower()}-{i + 1}",
                state=REPLICA_STATES.get(state, "Starting" if state in STARTING else state.title()),
                pid=None,
                in_flight=0,
                rss_mb=0.0,
                started_at=time.time(),
                load_seconds=None,
                served=0,
            )
            for state, count in sorted(self.replicas.items())
            for i in range(count)
        ]
        return describe(
            self,
            state=self.state,
            replicas=replicas,
            queue_depth=self.queue.waiting,
            in_flight=self.in_flight,
            keep_alive=self.config.keep_alive_text,
            max_replicas=self.config.max_replicas,
            max_concurrency=self.config.max_concurrency,
        )

    # -- deployment ---------------------------------------------------------------------------
    def adopt(self, spec: ModelSpec) -> None:
        """The catalog entry changed: the next request deploys the application again if what its
        replicas run or how Serve scales them changed (a new fingerprint: Serve replaces the
        deployment and its replicas), or uses it as it is. A failure is forgotten, as locally."""
        self.spec = spec
        self.config = pool_config(spec, self.manager.defaults)
        self.queue.max_waiting = self.config.max_queue
        self.queue.set_slots(self.config.max_replicas * self.config.max_concurrency)
        self._reset()

    def _reset(self) -> None:
        self.generation += 1
        self.handles = None
        self.deploying = None
        self.error = None
        self.cold_since = None

    def warm(self) -> None:
        if self.error is None and self.handles is None and (self.deploying is None or self.deploying.done()):
            self.deploying = asyncio.get_running_loop().create_task(self._deploy(self.generation))

    async def restart(self) -> None:
        self._reset()
        await asyncio.to_thread(deployments.delete, self.name)
        self.replicas = {}

    async def _deploy(self, generation: int) -> None:
        threads = self.manager.defaults.replica_threads
        deploying = asyncio.to_thread(deployments.deploy, self.name, self.spec, self.config, threads)
        handles = await self._load(deploying, generation, f"deploying {self.name} on Ray")
        if handles is not None and generation == self.generation:
            self.handles = handles
            self.deploying = None

    def _loader_message(self, exc: Exception) -> str | None:
        return load_message(str(exc)) if isinstance(exc, ModelLoadFailed) else None

    def _fail(self, message: str) -> None:
        self.deploying = None
        self.handles = None
        if self.error is None:
            super()._fail(message)

    # -- status -------------------------------------------------------------------------------
    def observe(self, app: AppState | None, polled_at: float) -> None:
        """Take in the application's entry of a `serve.status()` asked for at `polled_at`."""
        self.polled_at = polled_at
        if app is None or app.deployment is None:
            self.replicas = {}
            if self.deploying is None and self.handles is not None:
                self.handles = None  # deleted behind this process's back: deploy again when asked
            return
        self.replicas = app.replicas
        if self.error is None and app.startup_failed and not self.running:
            deploying = self.deploying is not None
            self._fail(load_message(app.message))
            if not deploying:  # (a deployment in progress deletes its failed application itself)
                # Serve retries a constructor forever once the deployment has run: stop it
                self.manager.tasks.spawn(_delete_quietly(self.name))
        if self.running and self.cold_since is not None:
            self._warm(polled_at)

    def _warm(self, now: float) -> None:
        """The cold start that `cold_since` began is over: a replica answered or is running."""
        if self.cold_since is None:
            return
        seconds = now - self.cold_since
        self.cold_since = None
        self.stats.cold_start(seconds)
        log.info("%s: cold start answered in %.3f s", self.name, seconds)
        self.manager.refresh()  # show the new replica now, not at the next poll

    def _answered(self) -> None:
        self.answered_at = time.monotonic()
        self._warm(self.answered_at)

    # -- requests -----------------------------------------------------------------------------
    async def _admit(self, arrived: float) -> tuple[tuple[Any, Any], bool]:
        """The pool's handles, once deployed, and whether the request found no replica running."""
        if self.error is not None:
            raise self.failed_error()
        cold = self.running == 0 and self.answered_at <= self.polled_at
        if cold and self.cold_since is None:
            self.cold_since = arrived
            self.stats.cold_starts += 1
        while self.handles is None:
            if self.error is not None:
                raise self.failed_error()
            if self.deploying is None or self.deploying.done():
                self.deploying = asyncio.get_running_loop().create_task(self._deploy(self.generation))
            left = arrived + self.config.cold_start_timeout - time.monotonic()
            if left <= 0:
                raise self.not_taken(cold=True)
            await asyncio.wait({self.deploying}, timeout=min(left, POLL_SECONDS / 2))
        return self.handles, cold

    async def _first(self, first: Awaitable[T], cold: bool, arrived: float, cancel: Callable[[], None]) -> T:
        """The first answer of a request; while the pool is cold, give up at the pool's
        coldStartTimeout or when it fails (the request is cancelled in Ray, never run)."""
        task = asyncio.ensure_future(first)
        deadline = arrived + self.config.cold_start_timeout
        try:
            while cold and not task.done():
                if self.error is not None:
                    raise self.failed_error()
                if self.running or self.answered_at > arrived:
                    break  # a replica runs: the request is being served
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self.not_taken(cold=True)
                await asyncio.wait({task}, timeout=min(left, POLL_SECONDS / 2))
            return await task
        except BaseException as exc:
            if not task.done():
                cancel()
                task.cancel()
                task.add_done_callback(_settle)
            raise _translate(exc, self) from None

    async def _take_slot(self, tenant: str, cost: float, weight: float, arrived: float) -> None:
        left = arrived + self.config.cold_start_timeout - time.monotonic()
        await wait_for_slot(self.queue, self.spec.name, tenant, cost, weight, left, self._busy)

    def _busy(self) -> Unavailable:
        return self.not_taken(cold=False)

    async def call(self, op: Operation, request: BaseModel, body: Json, tenant: str, weight: float) -> Json:
        arrived = time.monotonic()
        await self._take_slot(tenant, estimate_cost(request, body), weight, arrived)
        try:
            return await self._call(op, payload(request, body, tenant), arrived)
        finally:
            self.queue.release(tenant)

    async def _call(self, op: Operation, sent: Json, arrived: float) -> Json:
        (handle, _), cold = await self._admit(arrived)
        self.in_flight += 1
        failed = True
        try:
            response = handle.remote(op, sent)
            envelope: Json = await self._first(response, cold, arrived, response.cancel)
            self._answered()
            if "error" in envelope:
                raise raise_error(envelope["error"])
            failed = False
        finally:
            self.in_flight -= 1
            self.stats.served(failed)
        answer: Json = envelope["result"]
        self.stats.answered(time.monotonic() - arrived, answer)
        return answer

    async def stream(
        self, op: Operation, request: BaseModel, body: Json, tenant: str, weight: float
    ) -> AsyncIterator[StreamChunk]:
        arrived = time.monotonic()
        await self._take_slot(tenant, estimate_cost(request, body), weight, arrived)
        try:
            async with aclosing(self._stream(op, payload(request, body, tenant), arrived)) as chunks:
                async for chunk in chunks:
                    yield chunk
        finally:
            self.queue.release(tenant)

    async def _stream(self, op: Operation, sent: Json, arrived: float) -> AsyncGenerator[StreamChunk, None]:
        (_, handle), cold = await self._admit(arrived)
        self.in_flight += 1
        failed = True
        chunks: Any = None
        done = False
        try:
            chunks = handle.remote(op, sent)
            item: Json | None = await self._first(anext(chunks, None), cold, arrived, chunks.cancel)
            self._answered()
            self.stats.ttft_seconds.observe(time.monotonic() - arrived)
            while item is not None:
                if "error" in item:
                    raise raise_error(item["error"])
                streamed = read_chunk(item)
                self.stats.streamed(streamed[0], None)
                yield streamed
                try:
                    item = await anext(chunks, None)
                except BaseException as exc:
                    raise _translate(exc, self) from None
            done = True
            failed = False
        finally:
            if not done and chunks is not None:
                chunks.cancel()
            self.in_flight -= 1
            self.stats.served(failed)
