"""A user's interactive sign-in: the authorize request, the sign-in page's check, and the
`authorization_code` (with PKCE) and `refresh_token` grants of the token endpoint.

MSAL's `acquire_token_interactive` (and azure-identity's `InteractiveBrowserCredential`) open
`{tenant}/oauth2/v2.0/authorize?client_id&redirect_uri&state&code_challenge&nonce&...` in a
browser, wait on a loopback server for the code (a query redirect, or a `form_post`), redeem it
with the PKCE verifier, and then refresh with the refresh token. What they read back: the access
token, `id_token` (nonce, `oid`/`sub`, `preferred_username`), `refresh_token` and `client_info`
(base64url `{"uid", "utid"}`, the key of MSAL's account cache).

Codes and refresh tokens are random strings, stored server-side as keyed digests in
`authorization_grants` (not as self-contained encrypted blobs: single use and rotation need a
row to delete, and a stateless code could be replayed until it expires). A code lives
`CODE_LIFETIME`, works once and is bound to its client id, redirect URI and PKCE challenge; a
refresh token lives `REFRESH_LIFETIME` and is replaced by a new one each time it is used. Both
stop working the moment the user is disabled or deleted.

Failed sign-ins on the page are throttled per user name and per client address (the same
`Lockout` as client secrets, under prefixed keys). The form carries a token bound to the page's
parameters, the time it was rendered and the browser's anti-forgery cookie (a keyed digest of
the three), so a post must come from a page this server rendered for exactly this request, in
this browser, within `PAGE_LIFETIME`: a cross-site post carries no such cookie (SameSite=Lax),
and a page the forger fetched himself is bound to his cookie, not the victim's.

A password sign-in also starts a browser session (`signin_sessions`, the cookie value kept as a
keyed digest, `SESSION_LIFETIME`): a later authorize request from that browser gets its code
without the password (single sign-on) unless it says `prompt=login`. A session ends when it
expires, when the browser signs out (`sign_out`), and at once when its user is disabled, deleted
or given a new password (the directory deletes the rows; `session_user` also checks the user is
still enabled).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from maas.controlplane.domain.activity import RequestInfo
from maas.controlplane.domain.directory import DirectoryUser
from maas.controlplane.domain.signin import (
    AZURE_CLI_CLIENT_ID,
    CODE_LIFETIME,
    ID_TOKEN_SCOPES,
    REFRESH_LIFETIME,
    SESSION_LIFETIME,
    STUDIO_CALLBACK,
    STUDIO_CLIENT_ID,
    STUDIO_HOME,
    client_info,
    is_loopback_redirect,
    pkce_matches,
    studio_uris,
    valid_code_challenge,
)
from maas.controlplane.domain.tokens import TOKEN_LIFETIME, sign
from maas.controlplane.services import activity, directory, signing_keys, tokens
from maas.controlplane.services.context import Services
from maas.controlplane.store.directory import DirectoryRepository
from maas.controlplane.store.grants import GrantRecord, GrantRepository
from maas.controlplane.store.sessions import SessionRecord, SessionRepository
from maas.core.clock import utcnow
from maas.core.errors import OAuthError, SignInThrottled

__all__ = [
    "PAGE_LIFETIME",
    "AuthorizeRequest",
    "SignedIn",
    "authorization_code",
    "authorize_request",
    "logout_redirect_allowed",
    "page_token",
    "refresh_token",
    "session_user",
    "sign_in",
    "sign_out",
    "single_sign_on",
    "user_for_code",
]

PAGE_LIFETIME = 15 * 60  # seconds a rendered sign-in page may be posted
MAX_PARAM = 2048
MAX_COOKIE = 128  # the session and anti-forgery cookies are 43 characters
# What a user's scopes may name: the management resource (the Azure CLI's older name for it too)
# and the data-plane resources endpoints take tokens for.
RESOURCES = (
    tokens.MANAGEMENT + "/",
    "https://management.core.windows.net/",
    *(resource + "/" for resource in tokens.DATA_PLANE),
)


@dataclass(frozen=True)
class AuthorizeRequest:
    """A validated authorize request: what the page carries in hidden fields."""

    tenant: str
    client_id: str
    redirect_uri: str
    response_mode: str  # "query" | "form_post"
    state: str
    scope: str
    nonce: str
    code_challenge: str
    login_hint: str = ""
    prompt: str = ""  # "login" forces the password page; "none" must not show it

    def fields(self) -> dict[str, str]:
        return {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_mode": self.response_mode,
            "state": self.state,
            "scope": self.scope,
            "nonce": self.nonce,
            "code_challenge": self.code_challenge,
        }


def _invalid(message: str, aadsts: int = 900144, error: str = "invalid_request") -> OAuthError:
    return OAuthError(error, aadsts, message)


def _public_client(services: Services, client_id: str) -> bool:
    if client_id in (AZURE_CLI_CLIENT_ID, STUDIO_CLIENT_ID):
        return True
    if len(client_id) > tokens.MAX_CLIENT_ID:
        return False
    with services.db.read() as connection:
        found = DirectoryRepository(connection).service_principal(client_id)
    return found is not None and found.app_id == client_id and found.enabled


def authorize_request(services: Services, segment: str, params: Mapping[str, str]) -> AuthorizeRequest:
    """Validate `GET|POST /{tenant}/oauth2/v2.0/authorize`'s parameters; an `OAuthError` names
    what is wrong (the page shows it: with a bad client or redirect URI there is nowhere safe
    to send the error)."""
    tenant = tokens.resolve_tenant(services, segment)
    if any(len(value) > MAX_PARAM for value in params.values()):
        raise _invalid("A request parameter is too long.", 90014)
    client_id = params.get("client_id", "")
    if not client_id:
        raise _invalid("The request must contain the parameter 'client_id'.")
    if not _public_client(services, client_id):
        raise _invalid(
            f"Application with identifier '{client_id}' was not found in the directory.",
            700016,
            "unauthorized_client",
        )
    redirect_uri = params.get("redirect_uri", "")
    if client_id == STUDIO_CLIENT_ID:
        allowed = studio_uris(services.settings.base_url, STUDIO_CALLBACK)
        if redirect_uri not in allowed:
            raise _invalid(
                f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect "
                f"URI configured for Studio: {min(allowed)}.",
                50011,
            )
    elif not is_loopback_redirect(redirect_uri):
        raise _invalid(
            f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect "
            "URIs configured for the application: a public client redirects to http://localhost.",
            50011,
        )
    if params.get("response_type") != "code":
        raise _invalid("The response_type must be 'code'.", 900144, "unsupported_response_type")
    mode = params.get("response_mode") or "query"
    if mode not in ("query", "form_post"):
        raise _invalid(f"The response_mode '{mode}' is not supported: use query or form_post.", 900144)
    challenge = params.get("code_challenge", "")
    if not valid_code_challenge(challenge, params.get("code_challenge_method", "")):
        raise _invalid(
            "Proof Key for Code Exchange is required: send code_challenge with code_challenge_method=S256.",
            50148,
        )
    return AuthorizeRequest(
        tenant=tenant,
        client_id=client_id,
        redirect_uri=redirect_uri,
        response_mode=mode,
        state=params.get("state", ""),
        scope=params.get("scope", ""),
        nonce=params.get("nonce", ""),
        code_challenge=challenge,
        login_hint=params.get("login_hint", ""),
        prompt=params.get("prompt", "").strip().lower(),
    )


@dataclass(frozen=True)
class SignedIn:
    """A password sign-in's result: the code for the redirect, and the new session's cookie value."""

    code: str
    session: str


def page_token(services: Services, request: AuthorizeRequest, issued: int, browser: str) -> str:
    """The form's anti-forgery token: a keyed digest of the page's parameters, its time and the
    browser's anti-forgery cookie."""
    bound = "\x1f".join([request.tenant, *request.fields().values(), str(issued), browser])
    return services.vault.digest("signin-page\x1f" + bound)


def _check_page(services: Services, request: AuthorizeRequest, form: Mapping[str, str], browser: str) -> None:
    if not browser or len(browser) > MAX_COOKIE:
        raise _invalid(
            "Your browser sent no sign-in cookie: allow cookies for this site and sign in again.", 90023
        )
    try:
        issued = int(form.get("issued", ""))
    except ValueError:
        issued = 0
    fresh = 0 <= time.time() - issued <= PAGE_LIFETIME
    if not fresh or not services.vault.same(
        form.get("page_token", ""), page_token(services, request, issued, browser)
    ):
        raise _invalid("The sign-in page has expired or was not issued by this server; sign in again.", 90023)


def _digest(services: Services, kind: str, value: str) -> str:
    return services.vault.digest(f"grant\x1f{kind}\x1f{value}")


def sign_in(
    services: Services,
    request: AuthorizeRequest,
    form: Mapping[str, str],
    info: RequestInfo,
    browser: str,
    previous_session: str = "",
) -> SignedIn:
    """Check the page's user name and password (and that the post comes from a page rendered
    for this browser); the authorization code for the redirect and a new session (replacing
    `previous_session`), or an `OAuthError` whose message the page shows. Each attempt is an
    activity-log sign-in."""
    _check_page(services, request, form, browser)
    upn = form.get("username", "").strip()[:128]
    password = form.get("password", "")
    if not upn or not password:
        raise _invalid("Enter your user name and password.", 50126, "invalid_grant")
    keys = (f"user\x1f{upn.lower()}", f"address\x1f{info.client_address}")
    waits = [w for w in (services.lockout.retry_after(k) for k in keys) if w is not None]
    if waits:
        raise SignInThrottled(
            "temporarily_unavailable",
            50053,
            f"Too many failed sign-ins; try again in {max(waits)} seconds.",
            retry_after=max(waits),
        )
    user = directory.verify_user_password(services, upn, password)
    activity.record_sign_in(
        services,
        info,
        "/",
        succeeded=user is not None,
        principal_id=user.principal.id if user is not None else "",
        name=upn,
    )
    if user is None:
        for key in keys:
            services.lockout.failed(key)
        raise _invalid("Your account or password is incorrect.", 50126, "invalid_grant")
    session = secrets.token_urlsafe(32)
    now = utcnow()
    with services.db.write() as connection:
        sessions = SessionRepository(connection)
        sessions.prune(now)
        if previous_session:
            sessions.remove(_session_digest(services, previous_session))
        sessions.add(
            SessionRecord(
                digest=_session_digest(services, session),
                principal_id=user.principal.id,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
    return SignedIn(_issue_code(services, request, user.principal.id), session)


def _session_digest(services: Services, value: str) -> str:
    return services.vault.digest(f"signin-session\x1f{value}")


def session_user(services: Services, session: str) -> DirectoryUser | None:
    """The enabled user whose live browser session this cookie value is, or None (an expired
    session, or one whose user is disabled or gone, is deleted)."""
    if not session or len(session) > MAX_COOKIE:
        return None
    digest = _session_digest(services, session)
    with services.db.read() as connection:
        found = SessionRepository(connection).find(digest)
        user = DirectoryRepository(connection).user(found.principal_id) if found is not None else None
    if found is None:
        return None
    if (
        found.expires_at > utcnow()
        and user is not None
        and user.principal.id == found.principal_id
        and user.enabled
    ):
        return user
    with services.db.write() as connection:
        SessionRepository(connection).remove(digest)
    return None


def single_sign_on(
    services: Services, request: AuthorizeRequest, user: DirectoryUser, info: RequestInfo
) -> str | None:
    """The authorization code for a browser whose session is `user`'s, with no password; None
    when the request's `login_hint` names someone else (the page then asks who signs in).
    Recorded in the activity log as a sign-in."""
    hint = request.login_hint.strip().lower()
    if hint and hint not in (user.user_principal_name.lower(), user.principal.id):
        return None
    activity.record_sign_in(
        services, info, "/", succeeded=True, principal_id=user.principal.id, name=user.user_principal_name
    )
    return _issue_code(services, request, user.principal.id)


def logout_redirect_allowed(services: Services, uri: str) -> bool:
    """Where `/logout` may send the browser afterwards: a loopback URI (a public client's, as
    authorize's redirect URIs), or Studio's home on this server."""
    return is_loopback_redirect(uri) or uri in studio_uris(services.settings.base_url, STUDIO_HOME)


def sign_out(services: Services, session: str) -> bool:
    """End the browser session with this cookie value; whether there was one."""
    if not session or len(session) > MAX_COOKIE:
        return False
    with services.db.write() as connection:
        return SessionRepository(connection).remove(_session_digest(services, session))


def _issue_code(services: Services, request: AuthorizeRequest, principal_id: str) -> str:
    code = secrets.token_urlsafe(32)
    now = utcnow()
    with services.db.write() as connection:
        repo = GrantRepository(connection)
        repo.prune(now)
        repo.add(
            GrantRecord(
                digest=_digest(services, "code", code),
                kind="code",
                principal_id=principal_id,
                client_id=request.client_id,
                scope=request.scope,
                created_at=now,
                expires_at=now + CODE_LIFETIME,
                redirect_uri=request.redirect_uri,
                code_challenge=request.code_challenge,
                nonce=request.nonce or None,
            )
        )
    return code


def _bad_grant(aadsts: int, message: str) -> OAuthError:
    return OAuthError("invalid_grant", aadsts, message)


def _granted_scope(requested: str) -> str:
    """The resource scopes a user's token is for (the management resource or a data-plane one),
    plus the OpenID ones asked for; a request naming no resource gets the management resource."""
    resources = [s for s in requested.split() if s.lower() not in tokens.RESERVED_SCOPES]
    for scope in resources:
        if not any(scope.lower().startswith(prefix) for prefix in RESOURCES):
            raise OAuthError(
                "invalid_resource",
                500011,
                f"The resource principal named {scope} was not found in the tenant. This server "
                f"issues tokens for {', '.join(tokens.ISSUED)} only.",
            )
    if len({_audience(scope) for scope in resources}) > 1:
        raise OAuthError(
            "invalid_scope",
            28000,
            f"Provided value for the input parameter scope '{requested}' is not valid because it "
            "contains more than one resource. The scope is not valid.",
        )
    reserved = [s for s in requested.split() if s.lower() in tokens.RESERVED_SCOPES]
    return " ".join((resources or [tokens.MANAGEMENT + "/.default"]) + reserved)


def _audience(scope: str) -> str:
    """The resource a granted scope is for: the data-plane one it names, else management."""
    for resource in tokens.DATA_PLANE:
        if scope.lower().startswith(resource + "/"):
            return resource
    return tokens.MANAGEMENT


def _user(services: Services, principal_id: str) -> DirectoryUser:
    with services.db.read() as connection:
        user = DirectoryRepository(connection).user(principal_id)
    if user is None or user.principal.id != principal_id:
        raise _bad_grant(50034, "The user account does not exist in the directory.")
    if not user.enabled:
        raise _bad_grant(50057, "The user account is disabled.")
    return user


def _issue(
    services: Services, tenant: str, user: DirectoryUser, client_id: str, scope: str, nonce: str | None
) -> dict[str, Any]:
    oid = user.principal.id
    profile = {"name": user.display_name, "upn": user.user_principal_name}
    resources = [s for s in scope.split() if s.lower() not in tokens.RESERVED_SCOPES]
    audience = _audience(resources[0]) if resources else tokens.MANAGEMENT
    issued = tokens.access_token(services, tenant, oid, client_id, profile, resource=audience)
    scopes = {s.lower() for s in scope.split()}
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": scope,
        **{k: v for k, v in issued.items() if k != "token_type"},
        "client_info": client_info(oid, tenant),
    }
    if scopes & ID_TOKEN_SCOPES:
        now = int(utcnow().timestamp())
        claims: dict[str, Any] = {
            "aud": client_id,
            "iss": tokens.issuer(services, tenant),
            "iat": now,
            "nbf": now,
            "exp": now + int(TOKEN_LIFETIME.total_seconds()),
            "sub": oid,
            "oid": oid,
            "tid": tenant,
            "preferred_username": user.user_principal_name,
            "name": user.display_name,
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        body["id_token"] = sign(signing_keys.active_key(services), claims)
    if "offline_access" in scopes:
        refresh = secrets.token_urlsafe(48)
        now_at = utcnow()
        with services.db.write() as connection:
            GrantRepository(connection).add(
                GrantRecord(
                    digest=_digest(services, "refresh", refresh),
                    kind="refresh",
                    principal_id=oid,
                    client_id=client_id,
                    scope=scope,
                    created_at=now_at,
                    expires_at=now_at + REFRESH_LIFETIME,
                )
            )
        body["refresh_token"] = refresh
    return body


def _take(services: Services, kind: str, value: str, now: datetime) -> GrantRecord | None:
    with services.db.write() as connection:
        found = GrantRepository(connection).take(kind, _digest(services, kind, value))
    return found if found is not None and found.expires_at > now else None


def _redeem(services: Services, form: Mapping[str, str]) -> tuple[GrantRecord, DirectoryUser]:
    """Take the code (once): it must be this client's, sent to this redirect URI, with the PKCE
    verifier of its challenge, and its user still enabled."""
    client_id = tokens.required(form, "client_id")
    code = tokens.required(form, "code")
    redirect_uri = tokens.required(form, "redirect_uri")
    verifier = tokens.required(form, "code_verifier")
    found = _take(services, "code", code, utcnow())
    if found is None or found.client_id != client_id:
        raise _bad_grant(
            70008,
            "The provided authorization code or refresh token has expired, was already used or is not valid.",
        )
    if found.redirect_uri != redirect_uri:
        raise _bad_grant(
            50011, "The redirect URI does not match the one the authorization code was issued to."
        )
    if found.code_challenge is None or not pkce_matches(verifier, found.code_challenge):
        raise _bad_grant(
            50148,
            "The code_verifier does not match the code_challenge supplied in the authorization request.",
        )
    return found, _user(services, found.principal_id)


def authorization_code(services: Services, tenant: str, form: Mapping[str, str]) -> dict[str, Any]:
    """`grant_type=authorization_code`: the code from the sign-in page, the redirect URI it was
    sent to and the PKCE verifier; a used, expired or mismatched code is AADSTS70008/50148."""
    found, user = _redeem(services, form)
    scope = _granted_scope(form.get("scope") or found.scope)
    return _issue(services, tenant, user, found.client_id, scope, found.nonce)


def user_for_code(services: Services, form: Mapping[str, str]) -> DirectoryUser:
    """The same checks as the `authorization_code` grant (`client_id`, `code`, `redirect_uri`,
    `code_verifier`), for a client of this process that needs the signed-in user, not tokens:
    Studio's callback redeems its code here, with no HTTP call to itself."""
    return _redeem(services, form)[1]


def refresh_token(services: Services, tenant: str, form: Mapping[str, str]) -> dict[str, Any]:
    """`grant_type=refresh_token`: a new access token and a new refresh token; the one used stops
    working (rotation), and a disabled or deleted user's are refused."""
    client_id = tokens.required(form, "client_id")
    token = tokens.required(form, "refresh_token")
    found = _take(services, "refresh", token, utcnow())
    if found is None or found.client_id != client_id:
        raise _bad_grant(
            700082, "The refresh token has expired, was already used or is not valid. Sign in again."
        )
    user = _user(services, found.principal_id)
    requested = form.get("scope") or found.scope
    # Keep offline_access from the original grant, so the rotation goes on.
    if "offline_access" in found.scope.split() and "offline_access" not in requested.split():
        requested += " offline_access"
    return _issue(services, tenant, user, client_id, _granted_scope(requested), None)
