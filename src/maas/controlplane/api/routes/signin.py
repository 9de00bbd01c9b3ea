"""Routes: the sign-in page of a user's interactive sign-in (Entra ID's v2.0 authorize path).

GET  /{tenant}/oauth2/v2.0/authorize   the page: user name and password, the request in hidden fields
POST /{tenant}/oauth2/v2.0/authorize   check them; redirect to the client's loopback redirect URI
                                       with `code` and `state` (a 302 for response_mode=query, an
                                       auto-posting form for form_post, which azure-identity asks for)

Plain HTML that works without JavaScript (the form_post page submits itself on load and has a
button for when scripts are off). A wrong password, a throttled user or address, or an expired
page re-renders the form with the message in an element with role="alert", and redirects nowhere.
An invalid request (unknown client, a redirect URI that is not loopback, no PKCE) shows an error
page: with no trusted redirect URI there is nowhere safe to send the error.
"""

from __future__ import annotations

import time
from html import escape
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from maas.controlplane.api.correlation import request_info
from maas.controlplane.api.deps import ServicesDep, call
from maas.controlplane.api.routes.oauth import form_fields
from maas.controlplane.services import signin
from maas.controlplane.services.context import Services
from maas.core.errors import OAuthError

router = APIRouter()
PATH = "/{tenant}/oauth2/v2.0/authorize"
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
    action: str,
    request: signin.AuthorizeRequest,
    username: str,
    error: str = "",
    status: int = 200,
    extra: dict[str, str] | None = None,
) -> HTMLResponse:
    issued = int(time.time())
    hidden = request.fields() | {
        "response_type": "code",
        "code_challenge_method": "S256",
        "issued": str(issued),
        "page_token": signin.page_token(services, request, issued),
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
    return _html("Sign in", body, status, extra)


def _error_page(error: OAuthError) -> HTMLResponse:
    message = f"AADSTS{error.aadsts}: {error}"
    body = f"<main><h1>Sign-in failed</h1>{_alert(message)}<p>Error: {escape(error.code)}</p></main>"
    return _html("Sign-in failed", body, error.status)


def _redirect(request: signin.AuthorizeRequest, code: str) -> Response:
    answer = {"code": code, "state": request.state} if request.state else {"code": code}
    if request.response_mode == "form_post":
        body = (
            "<main><h1>Signed in</h1><p>Returning to the application…</p>"
            f'<form method="post" action="{escape(request.redirect_uri)}">{_hidden(answer)}'
            '<button type="submit">Continue</button></form></main>'
            "<script>document.forms[0].submit()</script>"
        )
        # The auto-post needs the inline script; nothing else on the page runs any.
        return _html("Signed in", body)
    parts = urlsplit(request.redirect_uri)
    query = f"{parts.query}&{urlencode(answer)}" if parts.query else urlencode(answer)
    return RedirectResponse(urlunsplit(parts._replace(query=query)), status_code=302, headers=HEADERS)


@router.get(PATH, include_in_schema=False)
async def authorize_page(tenant: str, request: Request, services: ServicesDep) -> Response:
    params = dict(request.query_params)
    try:
        found = await call(signin.authorize_request, services, tenant, params)
    except OAuthError as error:
        return _error_page(error)
    return _page(services, request.url.path, found, found.login_hint)


@router.post(PATH, include_in_schema=False)
async def authorize_sign_in(tenant: str, request: Request, services: ServicesDep) -> Response:
    try:
        form = await form_fields(request)
        found = await call(signin.authorize_request, services, tenant, form)
    except OAuthError as error:
        return _error_page(error)
    info = request_info(request, services.settings.trust_forwarded_for)
    try:
        code = await call(signin.sign_in, services, found, form, info)
    except OAuthError as error:
        extra = {"Retry-After": str(error.retry_after)} if error.retry_after else None
        username = form.get("username", "")[:128]
        return _page(services, request.url.path, found, username, str(error), error.status, extra)
    return _redirect(found, code)
