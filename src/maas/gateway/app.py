"""The data plane: every serverless endpoint's Target URI.

Path-based by default (`{base}/endpoints/{region}/{name}/...`); host-based
(`{name}.{region}.{domain}`) when the operator sets a domain. Per request: authenticate the key
against the endpoint it names (a key opens only its own endpoint), or the access token of a
principal allowed to call it (`maas.gateway.keyless`), check the endpoint's state,
get the engine for its model, and hand over to the route. Errors are rendered in the inference
envelope; nothing here raises an HTTP exception.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from maas.core.errors import MaasError, NotFound
from maas.gateway.directory import Directory
from maas.gateway.errors import render
from maas.gateway.http import Exchange
from maas.gateway.keyless import BearerAuthority, check_bearer, looks_like_jwt
from maas.gateway.metering import Admission, Metering
from maas.gateway.readmodel import EndpointView
from maas.gateway.routes import inference
from maas.gateway.sse import ClientGone
from maas.serving.engines.base import Engine, ModelSpec
from maas.serving.pool.base import Pools

log = logging.getLogger("maas.gateway")
PREFIX = "/endpoints/"
MAX_BODY = 4 * 1024 * 1024

Handler = Callable[[Exchange, Engine, bytes, inference.Admit], Awaitable[None]]
_POST: dict[str, Handler] = {
    "chat/completions": inference.chat,
    "completions": inference.completions,
    "embeddings": inference.embeddings,
    "images/embeddings": inference.image_embeddings,
}
_GET: dict[str, Callable[[Exchange, EndpointView], Awaitable[None]]] = {
    "info": inference.info,
    "models": inference.models,
}


@dataclass
class Runtime:
    """What the gateway needs from the process, available once the app has started."""

    directory: Directory
    pools: Pools
    metering: Metering
    bearer: BearerAuthority | None = None  # None: keys only (no keyless calls)


def spec_of(view: EndpointView) -> ModelSpec:
    assert view.model is not None
    return view.model


def split_target(path: str, host: str | None, domain: str | None) -> tuple[str, str, str] | None:
    """(region, endpoint name, route) from a path-based or host-based Target URI, else None."""
    if domain and host:
        hostname = host.split(":", 1)[0].lower()
        suffix = "." + domain.lower()
        if hostname.endswith(suffix):
            labels = hostname[: -len(suffix)].split(".")
            if len(labels) == 2:
                return labels[1], labels[0], path.strip("/")
    if path.startswith(PREFIX):
        parts = path[len(PREFIX) :].split("/", 2)
        if len(parts) >= 2 and parts[0] and parts[1]:
            return parts[0], parts[1], parts[2] if len(parts) == 3 else ""
    return None


class Gateway:
    def __init__(self, runtime: Callable[[], Runtime], domain: str | None = None) -> None:
        self._runtime = runtime
        self.domain = domain

    def handles(self, scope: Scope) -> bool:
        """Target URIs, and every other path under `/endpoints/` (an incomplete one gets its 404 in
        the inference envelope, as its clients expect, not in the management API's)."""
        if scope["path"].startswith(PREFIX):
            return True
        host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1")
        return split_target(scope["path"], host, self.domain) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = Exchange(scope, receive, send)
        try:
            await self._serve(exchange)
        except ClientGone:
            return  # the engine call was cancelled; there is no one to answer
        except MaasError as error:
            await render(exchange, error)
        except Exception:
            log.exception("unhandled gateway error on %s", scope["path"])
            await render(
                exchange,
                MaasError("The gateway hit an unexpected error; it was logged.", code="internal_error"),
            )

    async def _serve(self, exchange: Exchange) -> None:
        target = split_target(exchange.scope["path"], exchange.header(b"host"), self.domain)
        if target is None:
            raise NotFound(
                f"'{exchange.scope['path']}' names no endpoint: Target URIs are "
                "/endpoints/{region}/{name}/... (a region and an endpoint name, neither empty).",
                code="endpoint_not_found",
            )
        region, name, route = target
        route = route.strip("/")
        if route.startswith("v1/"):
            route = route[3:]
        elif route == "v1":
            route = ""
        method = exchange.method
        if method == "POST" and route in _POST:
            raw = await exchange.body(MAX_BODY)
        elif method == "GET" and route in _GET:
            raw = b""
        else:
            known = route in _POST or route in _GET
            raise NotFound(
                f"'{method} /{route}' is not a route of this endpoint"
                + (" (wrong method)." if known else ".")
                + " Routes: GET /info, POST /chat/completions, /completions, /embeddings, GET /v1/models.",
                code="route_not_found",
            )
        runtime = self._runtime()
        view = await runtime.directory.find(region, name)
        key, bearer = _credential(exchange)
        if bearer and runtime.bearer is not None and looks_like_jwt(key):
            await check_bearer(runtime.bearer, view, key)
        else:
            peer, forwarded = exchange.scope.get("client"), exchange.header(b"x-forwarded-for")
            runtime.directory.check_key(view, key, peer, forwarded)
        metering = runtime.metering
        try:
            runtime.directory.check_state(view)
            if method == "GET":
                await metering.peek(exchange, view)
                await _GET[route](exchange, view)
                return

            async def admit(request: BaseModel, body: dict[str, Any]) -> Admission:
                return await metering.admit(exchange, view, route, request, body)

            engine = runtime.pools.engine_for(spec_of(view), view.region, tenant=_tenant(view))
            await _POST[route](exchange, engine, raw, admit)
        except MaasError:
            if not exchange.rate_headers:  # the key was good: even errors carry the quota headers
                await metering.peek(exchange, view)
            raise


def _tenant(view: EndpointView) -> str:
    """Fair queueing shares a pool between Azure subscriptions (the id's second segment)."""
    parts = view.id.split("/")
    return parts[2].lower() if len(parts) > 2 else view.id


def _credential(exchange: Exchange) -> tuple[str, bool]:
    """The key or token sent ("" when none), and whether it came as a bearer token (a key or an
    access token; `api-key` wins when both are sent)."""
    key = exchange.header(b"api-key")
    if key:
        return key.strip(), False
    authorization = exchange.header(b"authorization")
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip(), True
    return "", False
