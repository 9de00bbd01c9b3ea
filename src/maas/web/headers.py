"""The security headers of every Studio response (`/studio` and below).

The Content-Security-Policy allows scripts, styles, images, fonts and fetches from this server
only, and no inline script or style at all: Studio's pages load `static/app.js`,
`static/app.css` and the vendored htmx, nothing else. No page may be framed (clickjacking):
`frame-ancestors 'none'` and `X-Frame-Options: DENY`. Pages are `no-store` (they show keys
and who is signed in); static files may be cached (their URLs carry their content's hash).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSP", "StudioHeaders", "is_studio_path"]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PREFIX = "/studio"
STATIC_PREFIX = "/studio/static/"


def is_studio_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class StudioHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_studio_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(STATIC_PREFIX)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CSP
                headers["X-Frame-Options"] = "DENY"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                if static:
                    headers["Cache-Control"] = "public, max-age=3600"
                else:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)
