"""The control-plane application factory.

`create_app(settings)` builds one ASGI app; its lifespan opens the store (migrating it to the
newest revision), builds the per-process `Services`, and runs the reconciler thread. No module
here does anything at import time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from maas.controlplane.api import errors, openapi
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


# Swagger UI ships in the package (swagger-ui-dist, see its README.md): /docs needs no internet.
SWAGGER_UI_DIR = Path(__file__).parent / "static" / "swagger-ui"
DOCS_ASSETS = "/docs/assets"


def install_docs(app: FastAPI) -> None:
    """/docs as FastAPI serves it, with Swagger UI's script, styles and icon from `DOCS_ASSETS`."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=SWAGGER_UI_DIR), name="docs-assets")
    redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + (app.openapi_url or ""),
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon-32x32.png",
            oauth2_redirect_url=root + redirect,
            # no badge fetched from validator.swagger.io
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


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
        docs_url=None,  # install_docs: Swagger UI from the package, not a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    errors.install(app)
    install_docs(app)
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

    app.openapi = lambda: openapi.document(app)  # type: ignore[method-assign]
    app.add_middleware(CanonicalPaths)
    return app
