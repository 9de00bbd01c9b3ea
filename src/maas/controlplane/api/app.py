"""The control-plane application factory.

`create_app(settings)` builds one ASGI app; its lifespan opens the store (migrating it to the
newest revision), builds the per-process `Services`, and runs the reconciler thread. No module
here does anything at import time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from maas.controlplane.api import errors
from maas.controlplane.api.paths import CanonicalPaths
from maas.controlplane.api.responses import ArmResponse
from maas.controlplane.api.routes import (
    access,
    accounts,
    catalog,
    costs,
    deployments,
    endpoints,
    operations,
    pools,
    quotas,
    workspaces,
)
from maas.controlplane.reconciler.endpoints import EndpointHandler
from maas.controlplane.reconciler.loop import Reconciler
from maas.controlplane.services.context import Services
from maas.controlplane.store.database import Database
from maas.core.crypto import Vault
from maas.core.errors import MaasError
from maas.core.ids import ENDPOINT_TYPE
from maas.core.settings import Settings


def build_services(settings: Settings) -> Services:
    if settings.secret is None:
        raise MaasError("No server secret: set MAAS_SECRET or start through `maas serve`.", code="NoSecret")
    database = Database(settings.resolved_database_url)
    database.migrate()
    return Services(db=database, vault=Vault(settings.secret.get_secret_value()), settings=settings)


class Extension(Protocol):
    """Something else the process runs on the same services (the gateway's runtime)."""

    async def start(self, services: Services) -> None: ...

    async def stop(self) -> None: ...


def create_app(
    settings: Settings, *, reconcile: bool = True, extensions: Sequence[Extension] = ()
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings)
        reconciler = Reconciler(services, {ENDPOINT_TYPE: EndpointHandler()})
        services.wake_reconciler = reconciler.wake
        app.state.services = services
        app.state.reconciler = reconciler
        for extension in extensions:
            await extension.start(services)
        if reconcile:
            reconciler.start()
        try:
            yield
        finally:
            reconciler.stop()
            for extension in reversed(extensions):
                await extension.stop()
            services.db.dispose()

    app = FastAPI(
        default_response_class=ArmResponse,
        title="MaaS control plane",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    errors.install(app)
    for module in (
        accounts,
        workspaces,
        endpoints,
        quotas,
        catalog,
        access,
        operations,
        pools,
        costs,
        deployments,
    ):
        app.include_router(module.router)

    @app.get("/health", include_in_schema=False)
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    app.add_middleware(CanonicalPaths)
    return app
