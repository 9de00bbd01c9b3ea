"""Rendering errors in the ARM envelope: `{"error": {"code", "message", "target", "details"}}`.

The only place control-plane errors become HTTP responses; the response renders whatever text the
error carries (see `responses.py`). Anything that is not a `MaasError`
is logged with its traceback and answered as a plain 500 envelope, without the traceback.
Refusals are recorded in the activity log here too: an RBAC denial (`AuthorizationFailed`) and a
presented token that signed in to nothing (401).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from maas.controlplane.api.correlation import request_info
from maas.controlplane.api.responses import ArmResponse
from maas.controlplane.domain.activity import Actor
from maas.controlplane.services import activity
from maas.core.errors import AuthorizationFailed, MaasError, OAuthError, Unauthenticated

log = logging.getLogger("maas.api")


def envelope(
    code: str, message: str, target: str | None = None, details: list[Any] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if target is not None:
        error["target"] = target
    if details:
        error["details"] = details
    return {"error": error}


def arm_error(status: int, code: str, message: str, **kwargs: Any) -> ArmResponse:
    return ArmResponse(
        envelope(code, message, **kwargs),
        status_code=status,
        headers={"x-ms-failure-cause": "gateway" if status >= 500 else "service"},
    )


def _requested_scope(path: str) -> str:
    """What a refused sign-in was for: the path's subscription, or `/`."""
    parts = path.strip("/").split("/")
    return f"/subscriptions/{parts[1]}" if len(parts) >= 2 and parts[0].lower() == "subscriptions" else "/"


async def _record_refusal(request: Request, exc: MaasError) -> None:
    """Put a denied attempt or a failed sign-in in the activity log: the one place both are
    seen, after the service's transaction has rolled back. Failing to record must not change
    the answer, so a store error here is logged and swallowed."""
    process = getattr(request.app.state, "process", None)
    if process is None:
        return
    services = process.services
    info = request_info(request, services.settings.trust_forwarded_for)
    try:
        if isinstance(exc, AuthorizationFailed):
            actor = Actor(exc.principal_id, exc.principal_name, info)
            await run_in_threadpool(activity.record_denied, services, actor, exc.action, exc.scope)
        elif isinstance(exc, Unauthenticated) and request.headers.get("authorization"):
            scope = _requested_scope(request.url.path)
            await run_in_threadpool(activity.record_sign_in, services, info, scope, succeeded=False)
    except Exception:
        log.exception("could not record a refused request in the activity log")


async def _maas_error(request: Request, exc: Exception) -> ArmResponse:
    assert isinstance(exc, MaasError)
    if exc.status >= 500:
        log.error("%s: %s", exc.code, exc.message)
    if exc.status in (401, 403):
        await _record_refusal(request, exc)
    return arm_error(exc.status, exc.code, exc.message, target=exc.target, details=exc.details or None)


async def _oauth_error(request: Request, exc: Exception) -> JSONResponse:
    """The token endpoint's errors in Entra ID's shape (MSAL and azure-identity read `error`,
    `error_description` and `error_codes`)."""
    assert isinstance(exc, OAuthError)
    now = datetime.now(UTC)
    trace = str(uuid.uuid4())
    correlation = request.headers.get("client-request-id") or str(uuid.uuid4())
    description = (
        f"AADSTS{exc.aadsts}: {exc.message} Trace ID: {trace} Correlation ID: {correlation} "
        f"Timestamp: {now:%Y-%m-%d %H:%M:%SZ}"
    )
    headers = {"Cache-Control": "no-store"}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    body = {
        "error": exc.code,
        "error_description": description,
        "error_codes": [exc.aadsts],
        "timestamp": f"{now:%Y-%m-%d %H:%M:%SZ}",
        "trace_id": trace,
        "correlation_id": correlation,
    }
    return JSONResponse(body, status_code=exc.status, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> ArmResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(p) for p in first.get("loc", ()))
    return arm_error(400, "InvalidRequestContent", f"'{where}': {first.get('msg')}.", target=where)


async def _http_error(request: Request, exc: Exception) -> ArmResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return arm_error(
            404,
            "NotFound",
            f"No route matches '{request.method} {request.url.path}'. Check the "
            "path and its casing against the API reference.",
        )
    if exc.status_code == 405:
        return arm_error(
            405,
            "MethodNotAllowed",
            f"The method '{request.method}' is not allowed on '{request.url.path}'.",
        )
    return arm_error(exc.status_code, "HttpError", str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> ArmResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return arm_error(500, "InternalServerError", "The server hit an unexpected error; it was logged.")


def install(app: FastAPI) -> None:
    app.add_exception_handler(MaasError, _maas_error)
    app.add_exception_handler(OAuthError, _oauth_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
