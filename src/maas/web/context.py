"""The signed-in context every Studio page gets: who is asking (a `Caller`, resolved afresh on
each request from the `maas_studio` session), the workspace they chose, and the anti-forgery
token of their forms.

    @router.get("/studio/things")
    async def things(studio: StudioDep) -> Response:
        found = await studio.call(things_service.list_things, ...)   # as the signed-in caller
        return page(studio, "things.html", nav="things", things=found)

    @router.post("/studio/things")
    async def add_thing(studio: StudioFormDep) -> Response:   # CSRF checked before this runs
        ...

Without a live session a page dependency raises `SignInRequired` (a redirect to sign-in, set up
by `app.install`); a form without the session's token raises `CsrfRefused` (a 403 page). A
page that needs a workspace calls `studio.need_workspace()` (`WorkspaceRequired`: a redirect
to the picker that comes back here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Concatenate, ParamSpec, TypeVar
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from maas.controlplane.api import cookies
from maas.controlplane.api.correlation import request_info
from maas.controlplane.api.deps import services_of
from maas.controlplane.domain.resources import Resource
from maas.controlplane.services import studio as sessions
from maas.controlplane.services.context import Caller, Services
from maas.core.errors import AuthorizationFailed, BadRequest, MaasError, PayloadTooLarge

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "CsrfRefused",
    "Form",
    "SignInRequired",
    "Studio",
    "StudioDep",
    "StudioFormDep",
    "WorkspaceRequired",
    "in_words",
    "read_form",
    "requested_path",
    "studio_of",
]

P = ParamSpec("P")
R = TypeVar("R")
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class SignInRequired(Exception):
    """No live Studio session: send the browser to sign in, then back to `next`."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next = next_path


class WorkspaceRequired(Exception):
    """The page works in a workspace and none is chosen: send the browser to the picker."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next = next_path


class CsrfRefused(Exception):
    """A state-changing request without this session's anti-forgery token."""


@dataclass(frozen=True)
class Form:
    """A posted form (`application/x-www-form-urlencoded`, what HTML forms and htmx send)."""

    values: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        """The first value of `name`."""
        found = self.values.get(name)
        return found[0] if found else default

    def getlist(self, name: str) -> list[str]:
        return list(self.values.get(name, []))


async def read_form(request: Request) -> Form:
    """The request's form, read once and kept on the request (the CSRF check and the route
    both read it). Another content type gives an empty form; a body over the server's limit or
    not UTF-8 is a 400."""
    kept = getattr(request.state, "studio_form", None)
    if isinstance(kept, Form):
        return kept
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    values: dict[str, list[str]] = {}
    if media == "application/x-www-form-urlencoded":
        limit = services_of(request).settings.max_body_bytes
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > limit:
                raise PayloadTooLarge(f"The form is larger than {limit} bytes.")
        try:
            pairs = parse_qsl(raw.decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            raise BadRequest("The form is not valid UTF-8.") from None
        for name, value in pairs:
            values.setdefault(name, []).append(value)
    form = Form(values)
    request.state.studio_form = form
    return form


def requested_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def in_words(error: MaasError) -> str:
    """What a person reads for a refusal or failure a service raised."""
    if isinstance(error, AuthorizationFailed):
        return (
            f"You don't have permission to do this: you need {error.action} on {error.scope}. "
            "Ask an owner of that scope for a role that grants it."
        )
    return error.message


@dataclass(frozen=True)
class Studio:
    request: Request
    services: Services
    caller: Caller
    session: str
    csrf: str
    workspace: Resource | None

    async def call(
        self, fn: Callable[Concatenate[Services, Caller, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run a service call as the signed-in caller, off the event loop (as the API's `Ctx`)."""
        return await run_in_threadpool(fn, self.services, self.caller, *args, **kwargs)

    async def read(self, fn: Callable[Concatenate[Services, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a read any signed-in caller may make (the catalog), off the event loop."""
        return await run_in_threadpool(fn, self.services, *args, **kwargs)

    def can(self, action: str, scope: str) -> bool:
        return self.caller.can(action, scope)

    async def form(self) -> Form:
        """The posted form (read once; the CSRF check already read it)."""
        return await read_form(self.request)

    def need_workspace(self) -> Resource:
        if self.workspace is None:
            raise WorkspaceRequired(requested_path(self.request))
        return self.workspace

    @property
    def user_name(self) -> str:
        return self.caller.principal.name


async def studio_of(request: Request) -> Studio:
    services = services_of(request)
    session = cookies.read(request, cookies.STUDIO)
    info = request_info(request, services.settings.trust_forwarded_for)
    caller = await run_in_threadpool(sessions.caller, services, session, info) if session else None
    if caller is None:
        raise SignInRequired(requested_path(request))
    workspace = await run_in_threadpool(sessions.remembered_workspace, services, caller)
    csrf = sessions.csrf_token(services, session)
    return Studio(request, services, caller, session, csrf, workspace)


async def _studio_form(request: Request) -> Studio:
    studio = await studio_of(request)
    presented = request.headers.get(CSRF_HEADER, "") or (await read_form(request)).get(CSRF_FIELD)
    if not sessions.csrf_matches(studio.services, studio.session, presented):
        raise CsrfRefused()
    return studio


StudioDep = Annotated[Studio, Depends(studio_of)]
StudioFormDep = Annotated[Studio, Depends(_studio_form)]
