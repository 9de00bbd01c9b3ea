"""Routes: the sign-in page of a user's interactive sign-in (Entra ID's v2.0 authorize path), its
single sign-on and sign-out.

GET  /{tenant}/oauth2/v2.0/authorize   the page: user name and password, the request in hidden
                                       fields; with a live session cookie (and no prompt=login)
                                       no page: the code goes straight to the redirect URI
POST /{tenant}/oauth2/v2.0/authorize   check them; start a session (cookie) and redirect to the
                                       client's loopback redirect URI with `code` and `state` (a
                                       302 for response_mode=query, an auto-posting form for
                                       form_post, which azure-identity asks for)
GET|POST /{tenant}/oauth2/v2.0/logout  end the session and clear its cookie; then a 302 to
                                       `post_logout_redirect_uri` if it is a loopback URI (as
                                       authorize's redirect URIs) or Studio's home, else a
                                       "signed out" page

Plain HTML that works without JavaScript (the form_post page submits itself on load and has a
button for when scripts are off). A wrong password, a throttled user or address, an expired
page or a post without the page's browser cookie re-renders the form with the message in an
element with role="alert", and redirects nowhere. An invalid request (unknown client, a redirect
URI that is not loopback, no PKCE) shows an error page: with no trusted redirect URI there is
nowhere safe to send the error. `prompt=none` with no session sends `error=login_required` to
the redirect URI, as Entra does. Cookies are set through `api/cookies.py`.
"""

from __future__ import annotations

import time
from html import escape
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from maas.controlplane.api import cookies
from maas.controlplane.api.correlation import request_info
from maas.controlplane.api.deps import ServicesDep, call
from maas.controlplane.api.routes.oauth import form_fields
from maas.controlplane.services import signin, tokens
from maas.controlplane.services.context import Services
from maas.core.errors import OAuthError

router = APIRouter()
PATH = "/{tenant}/oauth2/v2.0/authorize"
LOGOUT = "/{tenant}/oauth2/v2.0/logout"
HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",  # no clickjacking of the password form
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",  # the URL carries state and the PKCE challenge
}
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}"
    "label,input,button{display:block;width:100%;margin:.4rem 0}input{padding:.4rem}"
    "[role=alert]{color:#a4262c;border:1px solid #a4262c;padding:.5rem}"
)


def _html(title: str, body: str, status: int = 200, extra: dict[str, str] | None = None) -> HTMLResponse:
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width"><style>{STYLE}</style></head>'
        f"<body>{body}</body></html>"
    )
    return HTMLResponse(page, status_code=status, headers=HEADERS | (extra or {}))


def _alert(message: str) -> str:
    return f'<p role="alert">{escape(message)}</p>' if message else ""


def _hidden(fields: dict[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in fields.items()
    )


def _page(
    services: Services,
    http: Request,
    request: signin.AuthorizeRequest,
    username: str,
    error: str = "",
    status: int = 200,
    extra: dict[str, str] | None = None,
) -> HTMLResponse:
    """The form, its token bound to this browser's anti-forgery cookie (set here if missing)."""
    browser = cookies.read(http, cookies.BROWSER)
    fresh_browser = not browser
    browser = browser or cookies.new_value()
    issued = int(time.time())
    action = http.url.path
    hidden = request.fields() | {
        "response_type": "code",
        "code_challenge_method": "S256",
        "issued": str(issued),
        "page_token": signin.page_token(services, request, issued, browser),
    }
    body = (
        "<main><h1>Sign in</h1>"
        f"{_alert(error)}"
        f'<form method="post" action="{escape(action)}">{_hidden(hidden)}'
        '<label for="username">User name</label>'
        f'<input id="username" name="username" autocomplete="username" required value="{escape(username)}">'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" required>'
        '<button type="submit">Sign in</button></form></main>'
    )
    response = _html("Sign in", body, status, extra)
    if fresh_browser:
        cookies.write(response, http, services.settings, cookies.BROWSER, browser)
    return response


def _error_page(error: OAuthError) -> HTMLResponse:
    message = f"AADSTS{error.aadsts}: {error}"
    body = f"<main><h1>Sign-in failed</h1>{_alert(message)}<p>Error: {escape(error.code)}</p></main>"
    return _html("Sign-in failed", body, error.status)


def _redirect(request: signin.AuthorizeRequest, answer: dict[str, str]) -> Response:
    """Send `answer` (a code, or an error) and the request's state to its redirect URI."""
    answer = answer | {"state": request.state} if request.state else answer
    if request.response_mode == "form_post":
        body = (
            "<main><h1>Signed in</h1><p>Returning to the application…</p>"
            f'<form method="post" action="{escape(request.redirect_uri)}">{_hidden(answer)}'
            '<button type="submit">Continue</button></form></main>'
            "<script>document.forms[0].submit()</script>"
        )
        # The auto-post needs the inline script; nothing else on the page runs any.
        return _html("Signed in", body)
    return _found(request.redirect_uri, answer)


def _found(uri: str, answer: dict[str, str]) -> Response:
    parts = urlsplit(uri)
    added = urlencode(answer)
    query = f"{parts.query}&{added}" if parts.query and added else parts.query or added
    return RedirectResponse(urlunsplit(parts._replace(query=query)), status_code=302, headers=HEADERS)


@router.get(PATH, include_in_schema=False)
async def authorize_page(tenant: str, request: Request, services: ServicesDep) -> Response:
    params = dict(request.query_params)
    try:
        found = await call(signin.authorize_request, services, tenant, params)
    except OAuthError as error:
        return _error_page(error)
    session = cookies.read(request, cookies.SESSION)
    user = await call(signin.session_user, services, session) if session else None
    if user is not None and found.prompt != "login":
        info = request_info(request, services.settings.trust_forwarded_for)
        code = await call(signin.single_sign_on, services, found, user, info)
        if code is not None:
            return _redirect(found, {"code": code})
    if found.prompt == "none":
        message = "AADSTS50058: A silent sign-in request was sent but no user is signed in."
        return _redirect(found, {"error": "login_required", "error_description": message})
    page = _page(services, request, found, found.login_hint)
    if session and user is None:
        cookies.clear(page, request, services.settings, cookies.SESSION)
    return page


@router.post(PATH, include_in_schema=False)
async def authorize_sign_in(tenant: str, request: Request, services: ServicesDep) -> Response:
    try:
        form = await form_fields(request)
        found = await call(signin.authorize_request, services, tenant, form)
    except OAuthError as error:
        return _error_page(error)
    info = request_info(request, services.settings.trust_forwarded_for)
    browser = cookies.read(request, cookies.BROWSER)
    previous = cookies.read(request, cookies.SESSION)
    try:
        signed = await call(signin.sign_in, services, found, form, info, browser, previous)
    except OAuthError as error:
        extra = {"Retry-After": str(error.retry_after)} if error.retry_after else None
        username = form.get("username", "")[:128]
        return _page(services, request, found, username, str(error), error.status, extra)
    response = _redirect(found, {"code": signed.code})
    cookies.write(response, request, services.settings, cookies.SESSION, signed.session)
    return response


async def _sign_out(tenant: str, request: Request, services: ServicesDep, params: dict[str, str]) -> Response:
    try:
        await call(tokens.resolve_tenant, services, tenant)
    except OAuthError as error:
        return _error_page(error)
    session = cookies.read(request, cookies.SESSION)
    if session:
        await call(signin.sign_out, services, session)
    target = params.get("post_logout_redirect_uri", "")
    if target and signin.logout_redirect_allowed(services, target):
        state = params.get("state", "")[: signin.MAX_PARAM]
        response = _found(target, {"state": state} if state else {})
    else:
        note = (
            f"<p>{escape(target)} is not an allowed sign-out redirect URI: "
            "a public client's is a loopback address, or Studio's page on this server.</p>"
            if target
            else ""
        )
        body = f"<main><h1>Signed out</h1><p>You have signed out. You can close this window.</p>{note}</main>"
        response = _html("Signed out", body)
    cookies.clear(response, request, services.settings, cookies.SESSION)
    return response


@router.get(LOGOUT, include_in_schema=False)
async def logout(tenant: str, request: Request, services: ServicesDep) -> Response:
    return await _sign_out(tenant, request, services, dict(request.query_params))


@router.post(LOGOUT, include_in_schema=False)
async def logout_post(tenant: str, request: Request, services: ServicesDep) -> Response:
    params: dict[str, str] = {}
    if request.headers.get("content-type"):
        try:
            params = await form_fields(request)
        except OAuthError as error:
            return _error_page(error)
    return await _sign_out(tenant, request, services, params)
