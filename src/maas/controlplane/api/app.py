"""The control-plane application factory.

`create_app(settings)` builds one ASGI app; its lifespan opens the per-process context (the
store, migrated to the newest revision, the `Services` and the reconciler thread) as
`app.state.process`, the one place routes find per-process objects. No module here does anything
at import time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from maas.controlplane.api import errors, openapi
from maas.controlplane.api.correlation import CorrelationIds
from maas.controlplane.api.paths import CanonicalPaths
from maas.controlplane.api.process import ControlProcess, open_control_process
from maas.controlplane.api.responses import ArmResponse
from maas.controlplane.api.routes import (
    access,
    accounts,
    activity,
    catalog,
    costs,
    deployments,
    directory,
    endpoints,
    oauth,
    operations,
    pools,
    quota_requests,
    quotas,
    signin,
    workspaces,
)
from maas.core.settings import Settings

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


ProcessLifespan = Callable[[], AbstractAsyncContextManager[ControlProcess]]


def create_app(
    settings: Settings, *, reconcile: bool = True, process: ProcessLifespan | None = None
) -> FastAPI:
    """`process` opens the per-process context for the app's lifetime; by default the control
    plane's own (no pools). The reconciler starts once the context is open, unless `reconcile`
    is off (tests that drive it by hand)."""

    @asynccontextmanager
    async def control_only() -> AsyncIterator[ControlProcess]:
        context = open_control_process(settings)
        try:
            yield context
        finally:
            context.services.db.dispose()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (process or control_only)() as context:
            app.state.process = context
            if reconcile:
                context.reconciler.start()
            try:
                yield
            finally:
                context.reconciler.stop()

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
        quota_requests,
        catalog,
        access,
        directory,
        operations,
        pools,
        costs,
        deployments,
        activity,
        signin,  # last, with oauth: their /{tenant}/... paths must not shadow another route
        oauth,
    ):
        app.include_router(module.router)

    @app.get("/health", include_in_schema=False)
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    app.openapi = lambda: openapi.document(app)  # type: ignore[method-assign]
    app.add_middleware(CanonicalPaths)
    app.add_middleware(CorrelationIds)
    return app
