"""Putting Studio into the control plane's app: `install(app)`, called by `maas.server.app`.

- the page routers of `PAGES` (one module per area under `routes/`), and `/studio/static`;
- `GET /`: a browser (`Accept: text/html`) is sent to `/studio`; any other client gets the
  JSON 404 it always got;
- the security headers of every `/studio` response (`headers.py`);
- Studio's answers to errors under `/studio`, wrapped around the API's own handlers (which still
  run first for what they record: refusals in the activity log, 5xx in the server log):
  - no Studio session: a redirect to sign-in, for every Studio URL, known or not (never a 404
    before sign-in);
  - a route that does not exist, signed in: the "not found" page in Studio's look;
  - a service's refusal or error: a page that says it in words (a 403 names the missing action);
  - a form without its anti-forgery token: a 403 page;
  - anything unexpected: a 500 page (the traceback goes to the server log only).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from types import ModuleType
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from maas.core.errors import AuthorizationFailed, MaasError
from maas.web import render
from maas.web.context import (
    CsrfRefused,
    SignInRequired,
    WorkspaceRequired,
    in_words,
    requested_path,
    studio_of,
)
from maas.web.headers import StudioHeaders, is_studio_path
from maas.web.routes import (
    access,
    auth,
    catalog,
    connections,
    costs,
    deploy,
    endpoint,
    endpoint_list,
    home,
    operator,
    playground,
    resource_groups,
    workspace,
)

__all__ = ["PAGES", "install"]

# The page routers, in this order. A new area adds its module here (docs/architecture.md).
PAGES: list[ModuleType] = [
    auth,
    home,
    workspace,
    catalog,
    deploy,
    endpoint_list,
    endpoint,
    playground,
    resource_groups,
    connections,
    costs,
    access,
    operator,
]
SIGN_IN = "/studio/signin"

Handler = Callable[[Request, Exception], Awaitable[Response]]


def sign_in_redirect(request: Request, next_path: str) -> Response:
    return render.redirect(request, f"{SIGN_IN}?next={quote(next_path, safe='/')}")


async def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    """The error in Studio's look: in the layout when signed in, else a bare page."""
    try:
        studio = await studio_of(request)
    except SignInRequired:
        return render.bare(request, "error.html", status=status, title=title, message=message)
    return render.page(studio, "error.html", status=status, title=title, message=message)


async def _not_found(request: Request) -> Response:
    try:
        studio = await studio_of(request)
    except SignInRequired:
        return sign_in_redirect(request, "/studio" if request.method != "GET" else requested_path(request))
    return render.page(
        studio,
        "error.html",
        status=404,
        title="Page not found",
        message=f"There is no Studio page at {request.url.path}. Use the sidebar to find your way.",
    )


def _wrap(app: FastAPI, kind: type[Exception], studio: Handler) -> None:
    """Answer `kind` with `studio` under /studio, after the API's handler has had its say."""
    previous = app.exception_handlers.get(kind)

    async def api_answer(request: Request, exc: Exception) -> Response:
        if previous is None:
            raise exc
        answer = previous(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    async def handler(request: Request, exc: Exception) -> Response:
        if not is_studio_path(request.url.path):
            return await api_answer(request, exc)
        if previous is not None:
            await api_answer(request, exc)  # it records refusals and logs; its JSON is not sent
        return await studio(request, exc)

    app.add_exception_handler(kind, handler)


async def _maas_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MaasError)
    if exc.status == 404:
        return await _error_page(request, 404, "Not found", in_words(exc))
    if isinstance(exc, AuthorizationFailed) or exc.status == 403:
        return await _error_page(request, 403, "You don't have access", in_words(exc))
    if exc.status == 401:
        return sign_in_redirect(request, "/studio")
    return await _error_page(request, exc.status, "Something went wrong", in_words(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code in (404, 405):
        return await _not_found(request)
    return await _error_page(request, exc.status_code, "Something went wrong", str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> Response:
    message = "The server hit an unexpected error; it was logged. Try again, or tell your operator."
    return await _error_page(request, 500, "Something went wrong", message)


def install(app: FastAPI, data_plane: ASGIApp | None = None) -> None:
    """Add Studio to `app` (the control plane's FastAPI app, before it starts). `data_plane`: the
    gateway's ASGI app, which the playground calls in-process (`dataplane.py`); without it the
    playground says the data plane does not run here."""
    app.state.studio_data_plane = data_plane
    app.mount(render.STATIC_URL, StaticFiles(directory=render.STATIC_DIR), name="studio-static")
    for module in PAGES:
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    async def root(request: Request) -> Response:
        if "text/html" in request.headers.get("accept", ""):
            return render.redirect(request, "/studio")
        raise StarletteHTTPException(404)

    async def sign_in_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return sign_in_redirect(request, exc.next if request.method == "GET" else "/studio")

    async def workspace_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WorkspaceRequired)
        return render.redirect(request, f"/studio/workspace?next={quote(exc.next, safe='/')}")

    async def csrf_refused(request: Request, exc: Exception) -> Response:
        message = (
            "This form did not come from your Studio session (or the session changed since the page "
            "was loaded). Reload the page and try again."
        )
        return await _error_page(request, 403, "Request refused", message)

    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(WorkspaceRequired, workspace_required)
    app.add_exception_handler(CsrfRefused, csrf_refused)
    _wrap(app, MaasError, _maas_error)
    _wrap(app, StarletteHTTPException, _http_error)
    _wrap(app, Exception, _unexpected)
    app.add_middleware(StudioHeaders)
