"""Studio's sessions and what Studio remembers for a user: the service side of `maas.web`.

Studio signs a browser in as an OAuth public client of this server's own authorize endpoint
(`signin.authorize_request` accepts `STUDIO_CLIENT_ID` with its one redirect URI); its callback
redeems the code with `signin.user_for_code` and calls `start_session`. A Studio session is an
opaque random cookie value (`maas_studio`); the server keeps only its keyed digest, with the
user's object id and the expiry (`SESSION_LIFETIME`), in `signin_sessions` beside the sign-in
page's sessions. The digests are keyed apart ("studio-session" here, "signin-session" there), so
a Studio cookie never opens a sign-in session or the other way round, and the directory's
"end every session of this user" (disable, delete, new password) ends both.

Every Studio request resolves its caller afresh (`caller`): the session must be live, and
`access.caller_for` checks the principal is still enabled and reads its grants, as a token's
are read on every API call. State-changing Studio requests carry `csrf_token` (a keyed digest of
the session value: nothing more to store), checked with `csrf_matches`.

The sign-in round trip's PKCE verifier is derived from the `state` nonce the browser keeps in a
short-lived cookie (`pkce_verifier`): a keyed digest, so only this server can compute it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from maas.controlplane.domain.activity import RequestInfo
from maas.controlplane.domain.resources import Resource
from maas.controlplane.domain.signin import SESSION_LIFETIME
from maas.controlplane.services import access, workspaces
from maas.controlplane.services.context import Caller, Services
from maas.controlplane.store.preferences import PreferencesRepository
from maas.controlplane.store.sessions import SessionRecord, SessionRepository
from maas.core.clock import utcnow
from maas.core.errors import MaasError, Unauthenticated
from maas.core.ids import WORKSPACE_TYPE, type_of

__all__ = [
    "MAX_COOKIE",
    "caller",
    "csrf_matches",
    "csrf_token",
    "end_session",
    "pkce_challenge",
    "pkce_verifier",
    "remember_workspace",
    "remembered_workspace",
    "start_session",
]

MAX_COOKIE = 128


def _digest(services: Services, value: str) -> str:
    return services.vault.digest(f"studio-session\x1f{value}")


def start_session(services: Services, principal_id: str) -> str:
    """A new Studio session for a signed-in user; the cookie value (shown to the browser only)."""
    value = secrets.token_urlsafe(32)
    now = utcnow()
    with services.db.write() as connection:
        sessions = SessionRepository(connection)
        sessions.prune(now)
        sessions.add(
            SessionRecord(
                digest=_digest(services, value),
                principal_id=principal_id,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
    return value


def caller(services: Services, session: str, request: RequestInfo | None = None) -> Caller | None:
    """The caller of a live Studio session, or None (no session, expired, signed out, or its user
    disabled or gone; an expired row is deleted when presented)."""
    if not session or len(session) > MAX_COOKIE:
        return None
    digest = _digest(services, session)
    with services.db.read() as connection:
        found = SessionRepository(connection).find(digest)
    if found is None:
        return None
    if found.expires_at <= utcnow():
        with services.db.write() as connection:
            SessionRepository(connection).remove(digest)
        return None
    try:
        return access.caller_for(services, found.principal_id, request)
    except Unauthenticated:
        return None


def end_session(services: Services, session: str) -> bool:
    """Sign the browser out of Studio; whether there was a session."""
    if not session or len(session) > MAX_COOKIE:
        return False
    with services.db.write() as connection:
        return SessionRepository(connection).remove(_digest(services, session))


def csrf_token(services: Services, session: str) -> str:
    """The anti-forgery token of a Studio session's forms and htmx requests."""
    return services.vault.digest(f"studio-csrf\x1f{session}")


def csrf_matches(services: Services, session: str, presented: str) -> bool:
    return bool(session) and services.vault.same(presented, csrf_token(services, session))


def pkce_verifier(services: Services, nonce: str) -> str:
    """The PKCE verifier of the sign-in round trip whose `state` nonce is `nonce`: 64 hex
    characters, a keyed digest only this server can compute."""
    return services.vault.digest(f"studio-pkce\x1f{nonce}")


def pkce_challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def remembered_workspace(services: Services, caller: Caller) -> Resource | None:
    """The workspace this user last chose in Studio, if it still exists and they may still read it."""
    with services.db.read() as connection:
        chosen = PreferencesRepository(connection).workspace(caller.principal.id)
    if not chosen:
        return None
    parts = chosen.strip("/").split("/")
    if len(parts) != 8 or type_of(chosen).lower() != WORKSPACE_TYPE.lower():
        return None
    try:
        return workspaces.get_workspace(services, caller, parts[1], parts[3], parts[7])
    except MaasError:
        return None


def remember_workspace(services: Services, caller: Caller, sub: str, rg: str, name: str) -> Resource:
    """Choose the workspace Studio's pages work in (the caller must be allowed to read it)."""
    found = workspaces.get_workspace(services, caller, sub, rg, name)
    with services.db.write() as connection:
        PreferencesRepository(connection).set_workspace(caller.principal.id, found.id, utcnow())
    return found
