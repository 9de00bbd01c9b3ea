"""Who is calling and what they may do: principals, tokens, role assignments (the roles they name,
built-in or custom, are `role_definitions`).

Every control-plane request goes through `authenticate` (bearer token → principal and grants)
and then `Caller.require(action, scope)` with the action string Azure uses for that operation.
Assignments may sit at `/`, an account, a resource group or a workspace, and are inherited down.
A bearer token is either a static token (found by its keyed digest) or an access token from the
token endpoint (a JWT, verified with the cached signing keys; `services.tokens`), or, when the
operator trusts an external OpenID Connect issuer, an access token of that issuer (chosen by
its `iss`; verified with that issuer's keys only, `services.external_issuer`). Either way the
principal must exist and be enabled, checked in the query that finds it, so disabling one stops
its tokens at once. A role assignment may name an external object id before its first sign-in.

`DataPlaneTokens` is the same check for the gateway's keyless calls (`maas.gateway.keyless`): an
access token for a data-plane resource (never a management one, nor a static token) names an
enabled principal, whose grants the gateway reads the endpoint's data action from.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from maas.controlplane.domain.activity import RequestInfo
from maas.controlplane.domain.authz import Grant, RoleDefinition, find_builtin_role
from maas.controlplane.domain.directory import ADMIN_NAME
from maas.controlplane.domain.external import OBJECT_ID, TrustedIssuer
from maas.controlplane.domain.resources import Principal, PrincipalType
from maas.controlplane.domain.tokens import LEEWAY, InvalidAccessToken, kid_of, looks_like_jwt
from maas.controlplane.services import external_issuer, signing_keys, tokens
from maas.controlplane.services.context import Caller, Saved, Services
from maas.controlplane.services.role_definitions import grants_for, resolve_assignable
from maas.controlplane.store.repository import Repository, RoleAssignmentRecord
from maas.core.clock import utcnow
from maas.core.crypto import new_token
from maas.core.errors import BadRequest, Conflict, NotFound, Unauthenticated
from maas.core.ids import principal_id
from maas.protocol.management import kinds
from maas.protocol.management.access import PrincipalBody, RoleAssignmentBody, RoleAssignmentProperties
from maas.protocol.management.naming import ResourceKind, validate_name

ROLE_ASSIGNMENTS = kinds.ROLE_ASSIGNMENT.action


def _grants(repo: Repository, principal: Principal) -> tuple[Grant, ...]:
    return grants_for(repo, repo.role_assignments_for(principal.id))


class DataPlaneTokens:
    """The gateway's `BearerAuthority`, wired in by `maas.server.process`: the token endpoint's
    verification (`tokens.verified_claims`, with the data-plane audiences) and the principal and
    grants `authenticate` reads, in one read transaction per call. Blocking: the gateway calls it
    off the event loop.

    Verified signatures are remembered (by the token's SHA-256, at most `MAX_VERIFIED`, the least
    recently used dropped first) until the token expires, give or take the verifier's leeway: a
    token seen again skips parsing and RSA, which measured 35-40% of a keyless call's added cost.
    The answer is the verifier's: a remembered token still needs its signing key in the key ring
    (a deleted key stops its tokens as before) and is dropped once expired. The principal and its
    grants are never remembered: they are read on every call."""

    MAX_VERIFIED = 10_000

    def __init__(self, services: Services) -> None:
        self.services = services
        self._verified: OrderedDict[bytes, tuple[str, str, float]] = OrderedDict()  # oid, kid, until
        self._lock = threading.Lock()

    def _object_id(self, token: str) -> str:
        services = self.services
        digest = hashlib.sha256(token.encode()).digest()
        with self._lock:
            hit = self._verified.get(digest)
            if hit is not None:
                self._verified.move_to_end(digest)
        if hit is not None:
            object_id, kid, until = hit
            if time.time() <= until and signing_keys.key_for(services, kid) is not None:
                return object_id
            with self._lock:
                self._verified.pop(digest, None)
        claims = tokens.verified_claims(services, token, tokens.DATA_PLANE_AUDIENCES)
        until = float(claims["exp"]) + LEEWAY.total_seconds()
        with self._lock:
            self._verified[digest] = (claims["oid"], kid_of(token), until)
            while len(self._verified) > self.MAX_VERIFIED:
                self._verified.popitem(last=False)
        return str(claims["oid"])

    def authenticate(self, token: str) -> tuple[Principal, tuple[Grant, ...]]:
        """The enabled principal a data-plane access token names, and its grants;
        `InvalidAccessToken` for a token that is not one (a management token included) or names
        no enabled principal."""
        services = self.services
        object_id = self._object_id(token)
        with services.db.read() as connection:
            repo = Repository(connection)
            principal = repo.enabled_principal(object_id)
            if principal is None:
                raise InvalidAccessToken("The token's principal does not exist or is disabled.")
            return principal, _grants(repo, principal)


def authenticate(services: Services, authorization: str | None, request: RequestInfo | None = None) -> Caller:
    if not authorization:
        raise Unauthenticated(
            "Authentication failed: the 'Authorization' header is missing.",
            code="AuthenticationFailed",
        )
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "Authentication failed: use 'Authorization: Bearer <token>'.",
            code="InvalidAuthenticationToken",
        )
    token = token.strip()
    info = request or RequestInfo()
    object_id = None
    if looks_like_jwt(token):
        trusted = external_issuer.config(services)
        claimed = external_issuer.claimed_issuer(token) if trusted is not None else None
        if trusted is not None and claimed is not None and claimed != _own_issuer(services):
            if claimed == trusted.issuer:
                return _external_caller(services, trusted, token, info)
            raise Unauthenticated(
                f"Authentication failed: tokens from the issuer '{claimed}' are not accepted; this "
                f"server accepts its own and those of '{trusted.issuer}'.",
                code="InvalidAuthenticationToken",
            )
        try:
            object_id = tokens.verify_access_token(services, token)
        except InvalidAccessToken:
            raise Unauthenticated(
                "Authentication failed: the access token is not valid or has expired.",
                code="InvalidAuthenticationToken",
            ) from None
    with services.db.read() as connection:
        repo = Repository(connection)
        if object_id is not None:
            principal = repo.enabled_principal(object_id)
        else:
            principal = repo.principal_by_token(services.vault.digest(token))
        if principal is None:
            raise Unauthenticated(
                "Authentication failed: the token is not valid.", code="InvalidAuthenticationToken"
            )
        return Caller(principal, _grants(repo, principal), info)


def caller_for(services: Services, object_id: str, request: RequestInfo | None = None) -> Caller:
    """The caller for a principal already signed in another way (a Studio session names its
    object id): the same check as a token's, made afresh on every call: the principal must exist
    and be enabled, and its grants are read now."""
    with services.db.read() as connection:
        repo = Repository(connection)
        principal = repo.enabled_principal(object_id)
        if principal is None:
            raise Unauthenticated(
                "Authentication failed: the signed-in principal does not exist or is disabled.",
                code="InvalidAuthenticationToken",
            )
        return Caller(principal, _grants(repo, principal), request or RequestInfo())


def _own_issuer(services: Services) -> str:
    return tokens.issuer(services, tokens.directory_tenant(services))


def _external_caller(services: Services, trusted: TrustedIssuer, token: str, info: RequestInfo) -> Caller:
    """A caller with a token of the trusted external issuer (`services.external_issuer`)."""
    try:
        identity = external_issuer.verify(services, trusted, token)
    except InvalidAccessToken as exc:
        raise Unauthenticated(f"Authentication failed: {exc}.", code="InvalidAuthenticationToken") from None
    principal = external_issuer.principal_for(services, trusted, identity, info)
    with services.db.read() as connection:
        return Caller(principal, _grants(Repository(connection), principal), info)


def ensure_admin(services: Services, token: str | None) -> str | None:
    """Create the bootstrap admin (Owner at `/`) once. Returns a generated token to print once."""
    with services.db.write() as connection:
        repo = Repository(connection)
        existing = repo.principal(ADMIN_NAME)
        generated = None
        if existing is None:
            if token is None:
                token = generated = new_token()
            admin = Principal(str(uuid.uuid4()), ADMIN_NAME, PrincipalType.USER)
            repo.add_principal(admin, services.vault.digest(token))
            owner = find_builtin_role("Owner")
            assert owner is not None
            _insert_assignment(repo, "/", str(uuid.uuid4()), owner, admin.id, "User", ADMIN_NAME, None)
        elif token is not None:
            # MAAS_ADMIN_TOKEN changed between starts: the environment wins.
            repo.set_principal_token(existing.id, services.vault.digest(token))
        return generated


# -- principals ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Issued:
    """A principal as PUT answers it: its token only when this call created it (shown once)."""

    principal: Principal
    created: bool
    token: str | None = None


def put_principal(services: Services, caller: Caller, name: str, body: PrincipalBody) -> Issued:
    """Create a principal and return its token once. An existing principal is left as it is."""
    validate_name(ResourceKind.PRINCIPAL, name)
    caller.require("Microsoft.MaaS/principals/write", "/")
    try:
        principal_type = PrincipalType(body.properties.principal_type)
    except ValueError:
        raise BadRequest(
            f"principalType must be one of {', '.join(p.value for p in PrincipalType)}.",
            target="properties.principalType",
        ) from None
    with services.db.write() as connection:
        repo = Repository(connection)
        existing = repo.principal(name)
        if existing is not None:
            return Issued(existing, False)
        principal = Principal(str(uuid.uuid4()), name, principal_type)
        token = new_token()
        repo.add_principal(principal, services.vault.digest(token))
        repo.log_activity(caller.actor, "Microsoft.MaaS/principals/write", principal_id(name), "Succeeded")
    return Issued(principal, True, token)


def get_principal(services: Services, caller: Caller, name: str) -> Principal:
    caller.require("Microsoft.MaaS/principals/read", "/")
    with services.db.read() as connection:
        principal = Repository(connection).principal(name)
    if principal is None:
        raise NotFound(f"The principal '{name}' was not found.")
    return principal


# -- role assignments ------------------------------------------------------------------------
def _assignment_id(scope: str, name: str) -> str:
    return f"{scope.rstrip('/')}/providers/{ROLE_ASSIGNMENTS}/{name}"


def _insert_assignment(
    repo: Repository,
    scope: str,
    name: str,
    role: RoleDefinition,
    principal: str,
    principal_type: str,
    created_by: str,
    description: str | None,
) -> RoleAssignmentRecord:
    record = RoleAssignmentRecord(
        id=_assignment_id(scope, name),
        name=name,
        scope=scope or "/",
        role_definition_id=role.id,
        principal_id=principal,
        principal_type=principal_type,
        description=description,
        created_at=utcnow(),
        created_by=created_by,
    )
    repo.add_role_assignment(record)
    return record


def _pending_external(services: Services, props: RoleAssignmentProperties) -> Principal:
    """The principal an assignment names that is not in the directory: with a trusted external
    issuer, an external object id not signed in yet (it will be this id at its first sign-in,
    of the `principalType` given); otherwise, or if it cannot be an object id, a 400."""
    wanted = props.principal_id
    if external_issuer.config(services) is None or not OBJECT_ID.fullmatch(wanted):
        raise BadRequest(
            f"Principal {wanted} does not exist.", code="PrincipalNotFound", target="properties.principalId"
        )
    if props.principal_type not in (PrincipalType.USER, PrincipalType.SERVICE_PRINCIPAL):
        raise BadRequest(
            "principalType must be User or ServicePrincipal for an object id of the trusted issuer "
            "that has not signed in yet.",
            target="properties.principalType",
        )
    return Principal(wanted, wanted, PrincipalType(props.principal_type))


def put_role_assignment(
    services: Services, caller: Caller, scope: str, name: str, body: RoleAssignmentBody
) -> Saved[RoleAssignmentRecord]:
    validate_name(ResourceKind.ROLE_ASSIGNMENT, name)
    caller.require(f"{ROLE_ASSIGNMENTS}/write", scope)
    props = body.properties
    with services.db.write() as connection:
        repo = Repository(connection)
        role = resolve_assignable(repo, props.role_definition_id, scope)
        if scope != "/" and repo.get(scope) is None:
            raise NotFound(f"The scope '{scope}' does not exist.", code="InvalidScope")
        principal = repo.principal(props.principal_id) or _pending_external(services, props)
        existing = repo.role_assignment(_assignment_id(scope, name))
        if existing is not None:
            if existing.principal_id != principal.id or existing.role_definition_id != role.id:
                raise Conflict(
                    "The role assignment already exists with another role or principal.",
                    code="RoleAssignmentUpdateNotPermitted",
                )
            return Saved(existing, False)
        for other in repo.role_assignments_at(scope):
            if other.principal_id == principal.id and other.role_definition_id == role.id:
                raise Conflict("The role assignment already exists.", code="RoleAssignmentExists")
        record = _insert_assignment(
            repo,
            scope,
            name,
            role,
            principal.id,
            str(principal.principal_type),
            caller.principal.name,
            props.description,
        )
        repo.log_activity(caller.actor, f"{ROLE_ASSIGNMENTS}/write", record.id, "Succeeded")
    return Saved(record, True)


def get_role_assignment(services: Services, caller: Caller, scope: str, name: str) -> RoleAssignmentRecord:
    caller.require(f"{ROLE_ASSIGNMENTS}/read", scope)
    with services.db.read() as connection:
        record = Repository(connection).role_assignment(_assignment_id(scope, name))
    if record is None:
        raise NotFound(f"The role assignment '{name}' is not found.", code="RoleAssignmentNotFound")
    return record


def list_role_assignments(services: Services, caller: Caller, scope: str) -> list[RoleAssignmentRecord]:
    caller.require(f"{ROLE_ASSIGNMENTS}/read", scope)
    with services.db.read() as connection:
        return Repository(connection).role_assignments_at(scope)


def delete_role_assignment(services: Services, caller: Caller, scope: str, name: str) -> bool:
    caller.require(f"{ROLE_ASSIGNMENTS}/delete", scope)
    with services.db.write() as connection:
        repo = Repository(connection)
        assignment_id = _assignment_id(scope, name)
        if repo.role_assignment(assignment_id) is None:
            return False
        repo.delete_role_assignment(assignment_id)
        repo.log_activity(caller.actor, f"{ROLE_ASSIGNMENTS}/delete", assignment_id, "Succeeded")
    return True
