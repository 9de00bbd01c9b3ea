"""Accepting an external OpenID Connect issuer's access tokens on the management API (issue 13
item 3; off unless `MAAS_TRUSTED_ISSUER` is set). The checks are in `domain.external`; this
module fetches the issuer's documents, keeps its keys, and maps a token to a principal.

- **Keys**: the discovery document (`{issuer}/.well-known/openid-configuration`, or
  `MAAS_TRUSTED_ISSUER_METADATA_URL`) names `jwks_uri`; both are fetched with httpx, redirects
  not followed, `MAAS_TRUSTED_ISSUER_TIMEOUT` seconds each at most (a slow body included), at
  most 512 KiB, from a host none of whose addresses the network policy refuses (metadata and
  link-local addresses; loopback and private ones are allowed: the operator chose the URL).
  Each process keeps the keys parsed in memory. They are fetched again at their first use after
  an hour, or when a token names a `kid` they lack, at most once a minute: a rotation at the
  issuer is picked up, and made-up kids cost no more than one fetch a minute. While the issuer
  cannot be reached the keys in hand keep verifying for up to a day; with none in hand, tokens
  are refused at once (401, saying why) and the fetch is tried again after ten seconds.
- **Principals**: the first valid token of an object id records an external principal (a user,
  or a service principal for an application's token) with the issuer; role assignments name
  its object id like any other, and may do so before its first sign-in. A token whose object id
  is a principal of this directory, or of another issuer, is refused: external tokens never act
  as local principals. A disabled external principal's tokens stop at once, as local ones do.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from sqlalchemy.exc import IntegrityError

from maas.controlplane.domain.activity import Actor, RequestInfo
from maas.controlplane.domain.directory import ExternalPrincipal
from maas.controlplane.domain.external import (
    ExternalIdentity,
    IssuerError,
    IssuerKeys,
    TrustedIssuer,
    identity_of,
    jwks_uri_of,
    keys_of,
    signing_header,
    verify_external,
)
from maas.controlplane.domain.resources import Principal, PrincipalType
from maas.controlplane.domain.tokens import InvalidAccessToken
from maas.controlplane.services.context import Services
from maas.controlplane.store.directory import DirectoryRepository
from maas.controlplane.store.repository import Repository
from maas.core.clock import utcnow
from maas.core.errors import Unauthenticated
from maas.core.ids import service_principal_id, user_id
from maas.core.netpolicy import refused_address, refused_url
from maas.protocol.management import kinds

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_STALE_S",
    "REFRESH_S",
    "RETRY_AFTER_FAILURE_S",
    "UNKNOWN_KID_REFETCH_S",
    "claimed_issuer",
    "config",
    "fetch_keys",
    "principal_for",
    "verify",
]

REFRESH_S = 3600.0  # keys older than this are fetched again at their next use
MAX_STALE_S = 86_400.0  # while refreshes fail, keys this old at most keep verifying
UNKNOWN_KID_REFETCH_S = 60.0  # a kid not in hand fetches the keys again at most this often
RETRY_AFTER_FAILURE_S = 10.0  # after a failed fetch, the next try waits this long
MAX_DOCUMENT_BYTES = 512 * 1024


def config(services: Services) -> TrustedIssuer | None:
    """The trusted issuer, or None when the operator configured none."""
    return TrustedIssuer.from_settings(services.settings)


def claimed_issuer(token: str) -> str | None:
    """The `iss` a JWT claims, unverified: only to choose which keys verify it."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    found = claims.get("iss")
    return found if isinstance(found, str) else None


# -- fetching ----------------------------------------------------------------------------------
def _check_host(url: str) -> None:
    """Refuse a URL whose host is, or resolves to, an address the network policy refuses."""
    reason = refused_url(url)
    if reason is not None:
        raise IssuerError(f"{url} may not be fetched: {reason}")
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise IssuerError(f"the host of {url} does not resolve ({exc})") from None
    for *_, address in found:
        why = refused_address(str(address[0]))
        if why is not None:
            raise IssuerError(f"{url} may not be fetched: {host} resolves to {address[0]}, {why}")


def _get_json(client: httpx.Client, url: str, what: str, timeout: float) -> Any:
    _check_host(url)
    deadline = time.monotonic() + timeout
    body = bytearray()
    try:
        with client.stream("GET", url, headers={"Accept": "application/json"}) as response:
            if response.is_redirect:
                raise IssuerError(
                    f"its {what} at {url} answered a redirect ({response.status_code}); redirects "
                    "are not followed"
                )
            if response.status_code != 200:
                raise IssuerError(f"its {what} at {url} answered HTTP {response.status_code}")
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise IssuerError(f"its {what} at {url} is larger than {MAX_DOCUMENT_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the body took too long")
    except httpx.TimeoutException:
        raise IssuerError(f"its {what} at {url} did not answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise IssuerError(f"its {what} at {url} could not be fetched ({exc or type(exc).__name__})") from None
    try:
        return json.loads(body)
    except ValueError:
        raise IssuerError(f"its {what} at {url} is not JSON") from None


def fetch_keys(issuer: TrustedIssuer) -> dict[str, jwt.PyJWK]:
    """The issuer's signing keys: its discovery document, then the JWKS it names."""
    with httpx.Client(timeout=issuer.timeout, follow_redirects=False) as client:
        discovery = _get_json(client, issuer.metadata_url, "discovery document", issuer.timeout)
        uri = jwks_uri_of(discovery, issuer)
        return keys_of(_get_json(client, uri, "JWKS", issuer.timeout))


def _wait_s(cache: IssuerKeys, known_kid: bool) -> float:
    """How long after the last try the next fetch may start."""
    if cache.error is not None:
        return RETRY_AFTER_FAILURE_S
    return 0.0 if known_kid else UNKNOWN_KID_REFETCH_S


def _key(cache: IssuerKeys, kid: str, now: float) -> jwt.PyJWK | None:
    """The key named `kid` if it is in hand and fresh enough to use without a fetch."""
    found = cache.keys.get(kid)
    return found if found is not None and now - cache.fetched_at < REFRESH_S else None


def _key_for(services: Services, issuer: TrustedIssuer, kid: str) -> jwt.PyJWK:
    cache = services.issuer_keys
    found = _key(cache, kid, time.monotonic())
    if found is not None:
        return found
    # One thread fetches; the others wait for it (a fetch is bounded by the timeout), then use
    # what it found.
    if not cache.lock.acquire(timeout=4 * issuer.timeout + 1):
        raise IssuerError("its keys are being fetched; try again")
    try:
        now = time.monotonic()
        found = _key(cache, kid, now)
        if found is not None:
            return found
        known = kid in cache.keys
        if now - cache.attempted_at >= _wait_s(cache, known):
            cache.attempted_at = now
            try:
                cache.keys = fetch_keys(issuer)
            except IssuerError as exc:
                cache.error = str(exc)
            else:
                cache.fetched_at, cache.error = time.monotonic(), None
        stale = cache.keys.get(kid)
        if stale is not None and time.monotonic() - cache.fetched_at < MAX_STALE_S:
            return stale  # the refresh failed: the keys in hand keep working for a while
        if cache.error is not None:
            raise IssuerError(
                f"the trusted issuer's signing keys could not be fetched: {cache.error}; try again shortly"
            )
        raise InvalidAccessToken(f"the token's signing key '{kid}' is not one the trusted issuer publishes")
    finally:
        cache.lock.release()


def verify(services: Services, issuer: TrustedIssuer, token: str) -> ExternalIdentity:
    """Who a token from the trusted issuer names, if it is valid; else `InvalidAccessToken`
    (`IssuerError` when the issuer's keys could not be had) saying why."""
    alg, kid = signing_header(token)
    key = _key_for(services, issuer, kid)
    return identity_of(verify_external(token, alg, key, issuer), issuer)


# -- principals --------------------------------------------------------------------------------
def _refuse(message: str) -> Unauthenticated:
    return Unauthenticated(f"Authentication failed: {message}", code="InvalidAuthenticationToken")


def _checked(
    found: ExternalPrincipal | None, local: Principal | None, identity: ExternalIdentity, issuer: str
) -> Principal | None:
    if found is None:
        if local is not None:
            raise _refuse(
                f"the token's object id '{identity.object_id}' is a principal of this directory; "
                "tokens from the trusted issuer cannot act as it"
            )
        return None
    if found.issuer != issuer:
        raise _refuse(
            f"the object id '{identity.object_id}' belongs to a principal of the issuer "
            f"'{found.issuer}', not of '{issuer}'"
        )
    if not found.enabled:
        raise _refuse(f"the principal '{identity.object_id}' is disabled")
    return found.principal


def principal_for(
    services: Services, issuer: TrustedIssuer, identity: ExternalIdentity, request: RequestInfo
) -> Principal:
    """The enabled external principal a valid token names; recorded at its first sign-in."""
    with services.db.read() as connection:
        directory = DirectoryRepository(connection)
        found = directory.external_principal(identity.object_id)
        local = Repository(connection).principal(identity.object_id) if found is None else None
    principal = _checked(found, local, identity, issuer.issuer)
    if principal is not None:
        assert found is not None
        if (found.display_name, found.user_principal_name, found.app_id) != (
            identity.display_name,
            identity.user_principal_name,
            identity.app_id,
        ):
            with services.db.write() as connection:
                DirectoryRepository(connection).update_external_profile(
                    principal.id, identity.display_name, identity.user_principal_name, identity.app_id
                )
        return principal
    return _enrol(services, issuer, identity, request)


def _enrol(
    services: Services, issuer: TrustedIssuer, identity: ExternalIdentity, request: RequestInfo
) -> Principal:
    now = utcnow()
    principal = Principal(identity.object_id, identity.object_id, identity.principal_type)
    record = ExternalPrincipal(
        principal=principal,
        issuer=issuer.issuer,
        enabled=True,
        display_name=identity.display_name,
        user_principal_name=identity.user_principal_name,
        app_id=identity.app_id,
        tenant_id=identity.tenant_id,
        created_at=now,
        updated_at=now,
    )
    is_user = identity.principal_type == PrincipalType.USER
    action = (kinds.USER if is_user else kinds.SERVICE_PRINCIPAL).write
    resource = user_id(principal.id) if is_user else service_principal_id(principal.id)
    try:
        with services.db.write() as connection:
            DirectoryRepository(connection).add_external_principal(record)
            actor = Actor(principal.id, principal.name, request)
            Repository(connection).log_activity(actor, action, resource, "Succeeded")
    except IntegrityError:
        # Another request made it first (or a local principal took the name): judge what is there.
        with services.db.read() as connection:
            found = DirectoryRepository(connection).external_principal(identity.object_id)
            local = Repository(connection).principal(identity.object_id) if found is None else None
        checked = _checked(found, local, identity, issuer.issuer)
        if checked is None:
            raise _refuse(f"the principal '{identity.object_id}' could not be recorded; try again") from None
        return checked
    return principal
