"""The one ASGI app `maas serve` runs: the gateway for Target URIs, the control plane for the rest.

The gateway is a bare ASGI app on the hot path; the control plane is FastAPI. They share one
`Services` (store, vault, settings), built in the control plane's lifespan; the gateway's runtime
(endpoint directory and model host) starts and stops with it as an extension.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from maas.billing.ledger import Ledger
from maas.controlplane.api.app import create_app
from maas.controlplane.services.context import Services
from maas.controlplane.services.directory import pinned_models
from maas.core.settings import Settings
from maas.gateway.app import Gateway, Runtime, model_spec
from maas.gateway.directory import Directory
from maas.gateway.metering import Metering
from maas.gateway.quota.base import Limits, open_quota_store
from maas.protocol.inference import openapi as inference_openapi
from maas.serving.pool.base import Pools
from maas.serving.pool.config import PoolDefaults


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


class GatewayRuntime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ttl = settings.directory_ttl
        self.runtime: Runtime | None = None

    async def start(self, services: Services) -> None:
        settings = self.settings
        pools = make_pools(settings)
        await pools.start()
        # after the pools: replica processes forked from here must not inherit the journal
        ledger = Ledger(
            services.db,
            settings.data_dir / "ledger",
            max_batch=settings.ledger_max_batch,
            fsync=settings.ledger_fsync,
        )
        await asyncio.to_thread(ledger.start)
        limits = Limits(settings.quota_requests_per_minute, settings.quota_tokens_per_minute)
        metering = Metering(open_quota_store(settings.quota_store), ledger, limits)
        self.runtime = Runtime(directory=Directory(services, self.ttl), pools=pools, metering=metering)
        # pinned models that serve endpoints start with the server, not on their first request
        for model, region in await asyncio.to_thread(pinned_models, services):
            pools.warm(model_spec(model), region)

    async def stop(self) -> None:
        if self.runtime is not None:
            await self.runtime.pools.close()
            await asyncio.to_thread(self.runtime.metering.ledger.stop)
            await self.runtime.metering.quotas.close()

    def get(self) -> Runtime:
        if self.runtime is None:
            raise RuntimeError("the gateway runtime is not started")
        return self.runtime


INFERENCE_SPEC = "/openapi/inference.json"


def install_inference_spec(app: FastAPI, settings: Settings) -> None:
    """`GET /openapi/inference.json`: the data plane's OpenAPI document (the management API's is
    `/openapi.json`), with this server's public base URL, the one Target URIs are built on."""
    spec = inference_openapi.document(settings.base_url)

    @app.get(INFERENCE_SPEC, include_in_schema=False)
    async def inference_spec() -> JSONResponse:
        return JSONResponse(spec)


class MaasApp:
    def __init__(self, settings: Settings, *, reconcile: bool = True) -> None:
        self.runtime = GatewayRuntime(settings)
        self.control: FastAPI = create_app(settings, reconcile=reconcile, extensions=[self.runtime])
        install_inference_spec(self.control, settings)
        self.gateway = Gateway(self.runtime.get, settings.inference_domain)
        self.control.state.pools = lambda: self.runtime.runtime.pools if self.runtime.runtime else None

    @property
    def state(self) -> object:
        return self.control.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.gateway.handles(scope):
            await self.gateway(scope, receive, send)
        else:
            await self.control(scope, receive, send)


def create_server_app(settings: Settings, *, reconcile: bool = True) -> MaasApp:
    return MaasApp(settings, reconcile=reconcile)
