"""Request-scoped dependencies: the process's services, the authenticated caller, bodies,
paging links and long-running-operation headers."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from maas.controlplane.api.correlation import request_info
from maas.controlplane.api.openapi import json_body as json_body  # routes name their body with it
from maas.controlplane.api.process import ControlProcess
from maas.controlplane.api.render import arm_body
from maas.controlplane.api.responses import ArmResponse
from maas.controlplane.domain.resources import Resource
from maas.controlplane.services import access
from maas.controlplane.services.context import Caller, Page, Saved, Services
from maas.core.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from maas.protocol.management.arm import parse_body

P = ParamSpec("P")
R = TypeVar("R")
B = TypeVar("B", bound=BaseModel)
ML = "Microsoft.MachineLearningServices"


def process_of(request: Request) -> ControlProcess:
    process: ControlProcess = request.app.state.process
    return process


def services_of(request: Request) -> Services:
    return process_of(request).services


def _caller(request: Request) -> Caller:
    services = services_of(request)
    info = request_info(request, services.settings.trust_forwarded_for)
    return access.authenticate(services, request.headers.get("authorization"), info)


CallerDep = Annotated[Caller, Depends(_caller)]
ServicesDep = Annotated[Services, Depends(services_of)]


async def call(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a (blocking) service call off the event loop."""
    return await run_in_threadpool(fn, *args, **kwargs)


@dataclass(frozen=True)
class Context:
    """What a route hands its service: the process's services and the authenticated caller."""

    services: Services
    caller: Caller

    async def call(
        self, fn: Callable[Concatenate[Services, Caller, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run the service call as the caller, off the event loop."""
        return await run_in_threadpool(fn, self.services, self.caller, *args, **kwargs)

    async def read(self, fn: Callable[Concatenate[Services, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a read that any authenticated caller may make (the catalog), off the event loop."""
        return await run_in_threadpool(fn, self.services, *args, **kwargs)


def _context(request: Request) -> Context:
    return Context(services_of(request), _caller(request))


Ctx = Annotated[Context, Depends(_context)]


def _json_media_type(value: str | None) -> bool:
    """application/json, application/*+json, with any parameters; a body without a
    Content-Type is read as JSON too (ARM does the same)."""
    if value is None:
        return True
    media = value.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def _raw_body(request: Request) -> bytes:
    content_type = request.headers.get("content-type")
    if not _json_media_type(content_type):
        raise UnsupportedMediaType(
            f"The content media type '{content_type}' is not supported. Only 'application/json' is supported."
        )
    limit = services_of(request).settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    return bytes(raw)


async def read_body(request: Request, model: type[B]) -> B:
    return parse_body(model, await _raw_body(request))


async def read_optional_body(request: Request, model: type[B]) -> B:
    """The body of an action whose options may all be left out: none (or an empty one) is the
    model's defaults; anything else is parsed as `read_body` does."""
    raw = await _raw_body(request)
    return parse_body(model, raw) if raw.strip() else model()


def arm(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> ArmResponse:
    return ArmResponse(body, status_code=status, headers=headers)


Render = Callable[[Resource], dict[str, Any]]


def rendered(found: Resource, render: Render = arm_body) -> ArmResponse:
    return arm(render(found))


def rendered_list(found: list[Resource], render: Render = arm_body) -> ArmResponse:
    return arm({"value": [render(r) for r in found]})


def saved(
    result: Saved[Any],
    render: Callable[[Any], dict[str, Any]] = arm_body,
    headers: dict[str, str] | None = None,
) -> ArmResponse:
    """A create-or-update's answer, rendered by `render` (the kind's body): 201 when it created
    the resource, else 200."""
    return arm(render(result.resource), 201 if result.created else 200, headers)


def deleted() -> Response:
    return Response(status_code=204)


def skiptoken(request: Request) -> str | None:
    """The resource key a listing resumes after. Tokens are ones `paged` wrote: the base64 of a
    resource key (a lower-case id, so it starts with '/'); anything else is refused, not guessed."""
    token = request.query_params.get("$skiptoken")
    if token is None:
        return None
    try:
        padded = token.encode("ascii") + b"=" * (-len(token) % 4)
        key = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeError):
        key = ""
    if not key.startswith("/") or not key.isprintable() or key != key.lower():
        raise BadRequest("The $skiptoken is not valid; start the listing again.", target="$skiptoken")
    return key


def page_size(request: Request) -> int:
    default = services_of(request).settings.page_size
    top = request.query_params.get("$top")
    if top is None:
        return default
    if not top.isdigit() or not 1 <= int(top) <= 1000:
        raise BadRequest("$top must be a whole number from 1 to 1000.", target="$top")
    return int(top)


def paged(request: Request, page: Page, render: Render = arm_body) -> ArmResponse:
    body: dict[str, Any] = {"value": [render(r) for r in page.items]}
    if page.next_token is not None:
        params = {k: v for k, v in request.query_params.items() if k != "$skiptoken"}
        params["$skiptoken"] = base64.urlsafe_b64encode(page.next_token.encode()).decode().rstrip("=")
        base = services_of(request).settings.base_url
        body["nextLink"] = f"{base}{request.url.path}?{urlencode(params)}"
    return arm(body)


def listing(items: list[dict[str, Any]]) -> ArmResponse:
    return arm({"value": items})


def operation_headers(request: Request, sub: str, location: str, operation: str) -> dict[str, str]:
    base = f"{services_of(request).settings.base_url}/subscriptions/{sub}/providers/{ML}/locations/{location}"
    return {
        "Azure-AsyncOperation": f"{base}/mfeOperationsStatus/{operation}?api-version=2024-01-01-preview",
        "Location": f"{base}/mfeOperationResults/{operation}?api-version=2024-01-01-preview",
        "Retry-After": "1",
    }
