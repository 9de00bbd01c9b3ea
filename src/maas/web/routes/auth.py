"""Signing in to Studio and out of it.

GET  /studio/signin?next=<path>  start the round trip: a state nonce in a short-lived cookie, and
                                 a 302 to this server's own `/{tenant}/oauth2/v2.0/authorize` as
                                 the Studio public client (authorization code + PKCE S256)
GET  /studio/auth/callback       check `state` against the cookie, redeem the code in-process
                                 (`signin.user_for_code`: no HTTP to itself), start a Studio
                                 session (`maas_studio`), go to `next`
GET  /studio/signout             a page with the Sign out button (for a link, or no JavaScript)
POST /studio/signout             end the Studio session (anti-forgery token required), then the
                                 sign-in page's session through `/{tenant}/oauth2/v2.0/logout`,
                                 which comes back to /studio: the sign-in page again

The sign-in page itself is the authorize page: a wrong password is its alert, and a browser that
is still signed in there (single sign-on) comes straight back with a code.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from maas.controlplane.api import cookies
from maas.controlplane.api.deps import services_of
from maas.controlplane.domain.signin import STUDIO_CALLBACK, STUDIO_CLIENT_ID, STUDIO_HOME, studio_uris
from maas.controlplane.services import directory, signin
from maas.controlplane.services import studio as sessions
from maas.controlplane.services.context import Services
from maas.core.errors import OAuthError
from maas.web import render
from maas.web.context import SignInRequired, StudioDep, StudioFormDep, studio_of

router = APIRouter(include_in_schema=False)

STATE_LIFETIME = 600  # seconds a sign-in round trip may take
MAX_NEXT = 1024
SCOPE = "openid profile"


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a Studio path on this server, never elsewhere."""
    if (
        not value
        or len(value) > MAX_NEXT
        or not (value == STUDIO_HOME or value.startswith(STUDIO_HOME + "/") or value.startswith("/studio?"))
        or "\\" in value
        or "//" in value
        or any(ord(c) < 0x20 for c in value)
        or value.startswith(("/studio/signin", "/studio/auth/", "/studio/signout"))
    ):
        return STUDIO_HOME
    return value


def _here(request: Request, services: Services, path: str) -> str:
    """The absolute URI of a Studio path on the host this browser uses, if it is one of this
    server's (a loopback name other than the configured one); else on the public base URL."""
    allowed = studio_uris(services.settings.base_url, path)
    candidate = f"{request.url.scheme}://{request.url.netloc}{path}"
    return candidate if candidate in allowed else services.settings.base_url + path


def _encode_next(next_path: str) -> str:
    return base64.urlsafe_b64encode(next_path.encode()).decode().rstrip("=")


def _decode_next(encoded: str) -> str:
    try:
        return safe_next(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return STUDIO_HOME


@router.get("/studio/signin")
async def sign_in(request: Request) -> Response:
    next_path = safe_next(request.query_params.get("next"))
    try:
        await studio_of(request)
    except SignInRequired:
        pass
    else:
        return render.redirect(request, next_path)  # already signed in
    services = services_of(request)
    tenant = await run_in_threadpool(directory.tenant_id, services)
    nonce = secrets.token_urlsafe(32)
    verifier = sessions.pkce_verifier(services, nonce)
    params = {
        "client_id": STUDIO_CLIENT_ID,
        "redirect_uri": _here(request, services, STUDIO_CALLBACK),
        "response_type": "code",
        "response_mode": "query",
        "scope": SCOPE,
        "state": f"{nonce}.{_encode_next(next_path)}",
        "code_challenge": sessions.pkce_challenge(verifier),
        "code_challenge_method": "S256",
    }
    response = render.redirect(request, f"/{tenant}/oauth2/v2.0/authorize?{urlencode(params)}")
    cookies.write(response, request, services.settings, cookies.STUDIO_STATE, nonce, max_age=STATE_LIFETIME)
    return response


def _failed(request: Request, message: str, status: int = 400) -> Response:
    return render.bare(request, "auth/failed.html", status=status, message=message)


@router.get("/studio/auth/callback")
async def callback(request: Request) -> Response:
    services = services_of(request)
    params = request.query_params
    expected = cookies.read(request, cookies.STUDIO_STATE)
    nonce, _, encoded_next = params.get("state", "").partition(".")
    if not expected or not nonce or not services.vault.same(nonce, expected):
        return _failed(
            request,
            "This sign-in did not start in this browser, or it took longer than ten minutes. Sign in again.",
        )
    if params.get("error"):
        detail = params.get("error_description") or params["error"]
        return _failed(request, f"The sign-in did not complete: {detail[:500]}")
    form = {
        "client_id": STUDIO_CLIENT_ID,
        "code": params.get("code", ""),
        "redirect_uri": _here(request, services, STUDIO_CALLBACK),
        "code_verifier": sessions.pkce_verifier(services, nonce),
    }
    try:
        user = await run_in_threadpool(signin.user_for_code, services, form)
    except OAuthError as error:
        return _failed(request, f"The sign-in could not be completed: {error.message} Sign in again.")
    previous = cookies.read(request, cookies.STUDIO)
    if previous:
        await run_in_threadpool(sessions.end_session, services, previous)
    session = await run_in_threadpool(sessions.start_session, services, user.principal.id)
    response = render.redirect(request, _decode_next(encoded_next))
    cookies.write(response, request, services.settings, cookies.STUDIO, session)
    cookies.clear(response, request, services.settings, cookies.STUDIO_STATE)
    return response


@router.get("/studio/signout")
async def sign_out_page(studio: StudioDep) -> Response:
    return render.page(studio, "auth/signout.html", crumbs=[("Sign out", None)])


@router.post("/studio/signout")
async def sign_out(studio: StudioFormDep) -> Response:
    request, services = studio.request, studio.services
    await run_in_threadpool(sessions.end_session, services, studio.session)
    tenant = await run_in_threadpool(directory.tenant_id, services)
    home = _here(request, services, STUDIO_HOME)
    response = render.redirect(
        request, f"/{tenant}/oauth2/v2.0/logout?{urlencode({'post_logout_redirect_uri': home})}"
    )
    cookies.clear(response, request, services.settings, cookies.STUDIO)
    return response
