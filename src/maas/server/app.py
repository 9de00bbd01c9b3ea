"""The one ASGI app `maas serve` runs: the gateway for Target URIs, the control plane (with
Studio, the web UI, at `/studio`) for the rest.

The gateway is a bare ASGI app on the hot path; the control plane is FastAPI. They share one
per-process context (`maas.server.process.ServeProcess`: store, vault, settings, reconciler,
pools, metering, endpoint directory), opened and closed by the control plane's lifespan.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from maas.controlplane.api.app import create_app
from maas.core.settings import Settings
from maas.gateway.app import Gateway
from maas.protocol.inference import openapi as inference_openapi
from maas.server.process import ServeProcess, serve_process
from maas.web.app import install as install_studio

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
        self.control: FastAPI = create_app(
            settings, reconcile=reconcile, process=lambda: serve_process(settings)
        )
        install_inference_spec(self.control, settings)
        self.gateway = Gateway(lambda: self.process.gateway(), settings.inference_domain)
        install_studio(self.control, data_plane=self.gateway)  # the playground calls it in-process

    @property
    def process(self) -> ServeProcess:
        """The running process's context (once the app has started)."""
        process: ServeProcess = self.control.state.process
        return process

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
