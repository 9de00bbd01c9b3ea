"""Everything one `maas serve` process holds, built once when it starts and closed when it stops.

`ServeProcess` is the control plane's context (services, reconciler) plus the gateway's runtime:
the serverless pools, the usage ledger and quota store (`Metering`) and the endpoint directory.
It is the only per-process state: the control-plane routes find it as `app.state.process`, the
gateway through the callable `MaasApp` hands it. Order matters and is written once here: pools
start before the ledger (replica processes forked from here must not inherit the journal), the
directory subscribes to the control plane's change notices, the gateway takes access tokens through
the control plane's own verification (`DataPlaneTokens`), and pinned models warm last.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from maas.billing.ledger import Ledger
from maas.controlplane.api.process import ControlProcess, open_control_process
from maas.controlplane.services.access import DataPlaneTokens
from maas.controlplane.services.context import LiveQuota
from maas.core.settings import Settings
from maas.gateway.app import Runtime
from maas.gateway.directory import Directory
from maas.gateway.metering import Metering
from maas.gateway.quota.base import Limits, QuotaStore, open_quota_store
from maas.gateway.readmodel import EndpointReader
from maas.serving.pool.base import Pools
from maas.serving.pool.config import PoolDefaults


@dataclass
class ServeProcess(ControlProcess):
    runtime: Runtime | None = None  # None only while starting

    def pools(self) -> Pools | None:
        return self.runtime.pools if self.runtime is not None else None

    def gateway(self) -> Runtime:
        if self.runtime is None:
            raise RuntimeError("the gateway runtime is not started")
        return self.runtime


def pool_defaults(settings: Settings) -> PoolDefaults:
    return PoolDefaults(
        keep_alive=settings.pool_keep_alive,
        max_replicas=settings.pool_max_replicas,
        max_concurrency=settings.pool_max_concurrency,
        cold_start_timeout=settings.pool_cold_start_timeout,
        max_queue=settings.pool_max_queue,
        memory_budget=settings.pool_memory_mb * 1024 * 1024,
        replica_threads=settings.replica_threads or None,
    )


def make_pools(settings: Settings) -> Pools:
    """The configured backend, with OpenAI-compatible upstreams relayed beside it."""
    from maas.serving.pool.backends.inline import InlinePools
    from maas.serving.pool.upstreams import WithUpstreams

    backend: Pools
    if settings.serving == "ray":
        from maas.serving.pool.backends.ray import RayPools

        backend = RayPools(pool_defaults(settings), address=settings.ray_address)
    else:
        from maas.serving.pool.backends.local import LocalPools

        backend = LocalPools(pool_defaults(settings))
    return WithUpstreams(backend, InlinePools())


def quota_reader(quotas: QuotaStore) -> Callable[[str, int, int], Awaitable[LiveQuota]]:
    """The control plane's view of the gateway's quota windows (Studio's live quota): a peek, keyed
    as `Metering` keys them (the endpoint id, lower-cased)."""

    async def read(endpoint_id: str, requests_per_minute: int, tokens_per_minute: int) -> LiveQuota:
        decision = await quotas.peek(endpoint_id.lower(), Limits(requests_per_minute, tokens_per_minute))
        return LiveQuota(
            decision.remaining_requests,
            decision.remaining_tokens,
            max(decision.reset_requests, decision.reset_tokens),
        )

    return read


@asynccontextmanager
async def serve_process(settings: Settings) -> AsyncIterator[ServeProcess]:
    """Open the process's context; on the way out close it in the one safe order: pools (no more
    answers), ledger (its last records committed), quota store, store."""
    control = open_control_process(settings)
    process = ServeProcess(control.services, control.reconciler)
    services = process.services
    async with AsyncExitStack() as closing:
        closing.callback(services.db.dispose)
        quotas = open_quota_store(settings.quota_store)
        closing.push_async_callback(quotas.close)
        services.quota_reader = quota_reader(quotas)
        pools = make_pools(settings)
        await pools.start()
        # after the pools: replica processes forked from here must not inherit the journal
        ledger = Ledger(
            services.db,
            settings.data_dir / "ledger",
            max_batch=settings.ledger_max_batch,
            fsync=settings.ledger_fsync,
        )
        try:
            await asyncio.to_thread(ledger.start)
        except BaseException:
            await pools.close()
            raise
        closing.push_async_callback(asyncio.to_thread, ledger.stop)
        closing.push_async_callback(pools.close)
        limits = Limits(settings.quota_requests_per_minute, settings.quota_tokens_per_minute)
        reader = EndpointReader(services.db, services.vault)
        directory = Directory(
            reader,
            ttl=settings.directory_ttl,
            failures_per_minute=settings.auth_failures_per_minute,
            trust_forwarded_for=settings.trust_forwarded_for,
        )
        services.endpoint_listeners.append(directory.forget)
        process.runtime = Runtime(
            directory=directory,
            pools=pools,
            metering=Metering(quotas, ledger, limits),
            # keyless calls: the control plane's token verification and grants (one of each)
            bearer=DataPlaneTokens(services),
        )
        # pinned models that serve endpoints start with the server, not on their first request
        for model, region in await asyncio.to_thread(reader.pinned_models):
            pools.warm(model, region)
        yield process
