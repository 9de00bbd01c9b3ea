"""The one ASGI app `maas serve` runs: the gateway for Target URIs, the control plane for the rest.

The gateway is a bare ASGI app on the hot path; the control plane is FastAPI. They share one
`Services` (store, vault, settings), built in the control plane's lifespan; the gateway's runtime
(endpoint directory and model host) starts and stops with it as an extension.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from maas.controlplane.api.app import create_app
from maas.controlplane.services.context import Services
from maas.core.settings import Settings
from maas.gateway.app import Gateway, Runtime
from maas.gateway.directory import Directory
from maas.serving.host import ModelHost


class GatewayRuntime:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.runtime: Runtime | None = None

    async def start(self, services: Services) -> None:
        self.runtime = Runtime(directory=Directory(services, self.ttl), host=ModelHost())

    async def stop(self) -> None:
        if self.runtime is not None:
            await self.runtime.host.close()

    def get(self) -> Runtime:
        if self.runtime is None:
            raise RuntimeError("the gateway runtime is not started")
        return self.runtime


class MaasApp:
    def __init__(self, settings: Settings, *, reconcile: bool = True) -> None:
        self.runtime = GatewayRuntime(settings.directory_ttl)
        self.control: FastAPI = create_app(settings, reconcile=reconcile, extensions=[self.runtime])
        self.gateway = Gateway(self.runtime.get, settings.inference_domain)

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
