"""The correlation id of each management request, and what the activity log records about it.

Azure Resource Manager answers every request with `x-ms-correlation-request-id`: the client's own
when it sent one, else one made for it. This ASGI middleware does the same and keeps the id in
the request's scope, where `request_info` (used for the `Caller` and by the error handler that
records refusals) finds it. A client's id is taken only if it is short, printable ASCII; anything
else is replaced, so a log line cannot be forged or bloated through it.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maas.controlplane.domain.activity import RequestInfo, new_correlation_id
from maas.core.addresses import peer_address

__all__ = ["HEADER", "CorrelationIds", "request_info"]

HEADER = "x-ms-correlation-request-id"
_SCOPE_KEY = "maas.correlation_id"
_MAX = 64


def _acceptable(value: str) -> bool:
    return 0 < len(value) <= _MAX and value.isascii() and value.isprintable()


class CorrelationIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = (Headers(scope=scope).get(HEADER) or "").strip()
        correlation = given if _acceptable(given) else new_correlation_id()
        scope[_SCOPE_KEY] = correlation

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = correlation
            await send(message)

        await self.app(scope, receive, send_with_id)


def request_info(request: Request, trust_forwarded_for: bool) -> RequestInfo:
    correlation = request.scope.get(_SCOPE_KEY) or new_correlation_id()
    peer = (request.client.host, request.client.port) if request.client else None
    address = peer_address(peer, request.headers.get("x-forwarded-for"), trust_forwarded_for)
    return RequestInfo(correlation, address, request.method)
