"""The cookies of this server's browser pages (the sign-in page and Studio): their names and
attributes, in one place.

- `SESSION` (`maas_session`): the browser's sign-in session. An opaque random value (32 bytes,
  base64url); the server keeps only its keyed digest, with the user and the expiry, in
  `signin_sessions` (`services/signin.py`). A browser-session cookie (no `Max-Age`): the
  server-side expiry (8 hours) is what counts.
- `BROWSER` (`maas_browser`): an opaque random value the sign-in form's anti-forgery token is bound
  to (a keyed digest of the page's parameters, its time and this value), so a post is accepted
  only from the browser the page was rendered for.
- `STUDIO` (`maas_studio`): a Studio session (`maas.web`). Opaque like `SESSION`, kept server-side
  as a keyed digest with the user and the expiry (`controlplane/services/studio.py`).
- `STUDIO_STATE` (`maas_studio_state`): the nonce of one Studio sign-in round trip (the OAuth
  `state` is checked against it at the callback, and the PKCE verifier derived from it), for
  ten minutes (`Max-Age`).

Every cookie is `HttpOnly` (no script reads it), `SameSite=Lax` (not sent with a cross-site POST
or sub-request, so a form on another site cannot post with them; sent on a top-level link, so a
link to /authorize still finds the session), `Path=/`, host-only (no `Domain`), and `Secure` when
the server runs with TLS, its public URL is https, or the request itself came over https.
"""

from __future__ import annotations

import secrets

from fastapi import Request, Response

from maas.core.settings import Settings

__all__ = ["BROWSER", "SESSION", "STUDIO", "STUDIO_STATE", "clear", "is_secure", "new_value", "read", "write"]

SESSION = "maas_session"
BROWSER = "maas_browser"
STUDIO = "maas_studio"
STUDIO_STATE = "maas_studio_state"
MAX_VALUE = 128  # the values are 43 characters; anything longer is not ours


def is_secure(request: Request, settings: Settings) -> bool:
    return settings.tls or settings.base_url.startswith("https://") or request.url.scheme == "https"


def new_value() -> str:
    return secrets.token_urlsafe(32)


def read(request: Request, name: str) -> str:
    """The cookie's value, or "" when absent or not one this server could have set."""
    value = request.cookies.get(name, "")
    return value if len(value) <= MAX_VALUE else ""


def write(
    response: Response,
    request: Request,
    settings: Settings,
    name: str,
    value: str,
    max_age: int | None = None,
) -> None:
    """Set the cookie; a browser-session cookie unless `max_age` (seconds) is given."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=is_secure(request, settings),
        httponly=True,
        samesite="lax",
    )


def clear(response: Response, request: Request, settings: Settings, name: str) -> None:
    response.delete_cookie(name, path="/", secure=is_secure(request, settings), httponly=True, samesite="lax")
