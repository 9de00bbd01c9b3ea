"""The directory: this installation's one tenant, its users and service principals.

Users sign in with a password, service principals with a client secret (item 2's token endpoint
calls `verify_user_password` and `verify_client_secret`): passwords as argon2id hashes, client
secrets (256 random bits) as keyed digests, never in clear (`domain/credentials.py` says why).
Every user and service principal is a principal: its object id is what role assignments name,
and its `enabled` flag is read by `access.authenticate` on every request, in the same
indexed query that finds the token, so disabling one stops its tokens at once with no cache to
invalidate. The bootstrap admin is the user `admin`: until an operator sets its password, its
static admin token is its password.

External principals (a trusted OpenID Connect issuer's, `services.external_issuer`) are listed
with the users or service principals, found by object id, with `issuer` set: only their
`accountEnabled` changes here; deleting one lets its next token record it again.

Routes: `PUT|GET|DELETE /providers/Microsoft.MaaS/users/{upn}`, `GET .../users`,
`PUT|GET|DELETE /providers/Microsoft.MaaS/servicePrincipals/{appId}`, `GET .../servicePrincipals`,
`POST .../servicePrincipals/{appId}/addPassword`, and ARM's `GET /tenants`.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from maas.controlplane.domain.credentials import (
    DEFAULT_SECRET_LIFETIME,
    DIGEST_PREFIX,
    ClientSecret,
    hash_password,
    new_client_secret,
    spend_decoy_check,
    verify_password,
)
from maas.controlplane.domain.directory import (
    ADMIN_NAME,
    DirectoryUser,
    ExternalPrincipal,
    ServicePrincipal,
)
from maas.controlplane.domain.resources import Principal, PrincipalType
from maas.controlplane.services.context import Caller, Saved, Services
from maas.controlplane.store.directory import DirectoryRepository
from maas.controlplane.store.repository import Repository
from maas.controlplane.store.sessions import SessionRepository
from maas.core.clock import utcnow
from maas.core.errors import BadRequest, Conflict, NotFound
from maas.core.ids import service_principal_id, user_id
from maas.protocol.management import kinds
from maas.protocol.management.directory import AddPasswordBody, ServicePrincipalBody, UserBody
from maas.protocol.management.naming import ResourceKind, validate_name

__all__ = [
    "AddedPassword",
    "add_password",
    "delete_service_principal",
    "delete_user",
    "ensure_admin_user",
    "ensure_tenant",
    "get_service_principal",
    "get_user",
    "list_service_principals",
    "list_users",
    "put_service_principal",
    "put_user",
    "tenant_id",
    "verify_client_secret",
    "verify_user_password",
]

USERS = kinds.USER
SERVICE_PRINCIPALS = kinds.SERVICE_PRINCIPAL
ADD_PASSWORD = f"{SERVICE_PRINCIPALS.action}/addPassword/action"


# -- tenant ------------------------------------------------------------------------------------
def ensure_tenant(services: Services) -> str:
    """The installation's tenant id, made (a random GUID) at first start. Processes that start
    together agree: the first insert wins and the others read it."""
    try:
        with services.db.write() as connection:
            repo = DirectoryRepository(connection)
            existing = repo.tenant_id()
            if existing is not None:
                return existing
            made = str(uuid.uuid4())
            repo.add_tenant_id(made)
            return made
    except IntegrityError:
        return tenant_id(services)


def tenant_id(services: Services) -> str:
    with services.db.read() as connection:
        found = DirectoryRepository(connection).tenant_id()
    if found is None:  # only before the first start's bootstrap ran
        raise NotFound("The directory has no tenant yet; start the server once to make it.")
    return found


def ensure_admin_user(services: Services) -> None:
    """The bootstrap admin is the directory user `admin`, with no password of its own (its token
    is its password) until an operator sets one. Installations from before the directory get
    the user at their next start."""
    with services.db.write() as connection:
        repo = DirectoryRepository(connection)
        admin = Repository(connection).principal(ADMIN_NAME)
        if admin is not None and repo.user(admin.id) is None and repo.user(ADMIN_NAME) is None:
            repo.add_user(admin, ADMIN_NAME, "Administrator", None)


# -- users -------------------------------------------------------------------------------------
def _refuse_self(caller: Caller, principal: Principal, what: str) -> None:
    if caller.principal.id == principal.id:
        raise BadRequest(
            f"A principal cannot {what} itself; ask another administrator.", code="CannotChangeSelf"
        )


def put_user(services: Services, caller: Caller, upn: str, body: UserBody) -> Saved[DirectoryUser]:
    """Create a user (display name and password required), or update the fields given."""
    validate_name(ResourceKind.USER, upn)
    caller.require(USERS.write, "/")
    props = body.properties
    password = props.password_profile.password if props.password_profile else None
    # Hash outside the transaction: it takes tens of milliseconds and 64 MiB by design.
    password_hash = hash_password(password) if password is not None else None
    with services.db.write() as connection:
        repo = DirectoryRepository(connection)
        existing = repo.user(upn)
        external = repo.external_principal(upn) if existing is None else None
        if external is not None and external.principal.principal_type == PrincipalType.USER:
            return _put_external(caller, repo, external, props.display_name, props.account_enabled, password)
        if existing is None:
            if props.display_name is None or password_hash is None:
                raise BadRequest(
                    "A new user needs properties.displayName and properties.passwordProfile.password.",
                    target="properties",
                )
            if Repository(connection).principal(upn) is not None:
                raise Conflict(f"Another principal is named '{upn}'.", code="PrincipalExists")
            principal = Principal(str(uuid.uuid4()), upn, PrincipalType.USER)
            repo.add_user(principal, upn, props.display_name, password_hash)
            if props.account_enabled is False:
                repo.set_enabled(principal.id, False)
        else:
            principal = existing.principal
            if props.account_enabled is False and existing.enabled:
                _refuse_self(caller, principal, "disable")
            repo.update_user(principal.id, display_name=props.display_name, password_hash=password_hash)
            if props.account_enabled is not None:
                repo.set_enabled(principal.id, props.account_enabled)
            if password_hash is not None or props.account_enabled is False:
                # A new password or a disabled account ends the user's browser sessions now.
                SessionRepository(connection).remove_principal(principal.id)
        Repository(connection).log_activity(caller.actor, USERS.write, user_id(upn), "Succeeded")
        saved = repo.user(principal.id)
    assert saved is not None
    return Saved(saved, existing is None)


def _external_user(repo: DirectoryRepository, object_id: str) -> DirectoryUser | None:
    found = repo.external_principal(object_id)
    return found.as_user() if found and found.principal.principal_type == PrincipalType.USER else None


def _external_sp(repo: DirectoryRepository, object_id: str) -> ServicePrincipal | None:
    found = repo.external_principal(object_id)
    if found is None or found.principal.principal_type != PrincipalType.SERVICE_PRINCIPAL:
        return None
    return found.as_service_principal()


def _put_external(
    caller: Caller,
    repo: DirectoryRepository,
    external: ExternalPrincipal,
    display_name: str | None,
    account_enabled: bool | None,
    password: str | None,
) -> Saved[Any]:
    """An external principal (a user or a service principal of the trusted issuer): only
    `accountEnabled` changes here; its name and credentials are the issuer's."""
    principal = external.principal
    if password is not None or (display_name is not None and display_name != external.display_name):
        raise BadRequest(
            f"'{principal.id}' is a principal of the external issuer '{external.issuer}': its name "
            "and credentials are the issuer's; only properties.accountEnabled can be changed here.",
            code="ExternalPrincipal",
            target="properties",
        )
    is_user = principal.principal_type == PrincipalType.USER
    if account_enabled is not None:
        if account_enabled is False and external.enabled:
            _refuse_self(caller, principal, "disable")
        repo.set_enabled(principal.id, account_enabled)
    action, resource = (
        (USERS.write, user_id(principal.id))
        if is_user
        else (SERVICE_PRINCIPALS.write, service_principal_id(principal.id))
    )
    Repository(repo.c).log_activity(caller.actor, action, resource, "Succeeded")
    saved = repo.external_principal(principal.id)
    assert saved is not None
    return Saved(saved.as_user() if is_user else saved.as_service_principal(), False)


def get_user(services: Services, caller: Caller, upn: str) -> DirectoryUser:
    caller.require(USERS.read, "/")
    with services.db.read() as connection:
        repo = DirectoryRepository(connection)
        found = repo.user(upn) or _external_user(repo, upn)
    if found is None:
        raise NotFound(f"The user '{upn}' was not found.", code="UserNotFound")
    return found


def list_users(services: Services, caller: Caller) -> list[DirectoryUser]:
    caller.require(USERS.read, "/")
    with services.db.read() as connection:
        repo = DirectoryRepository(connection)
        external = [e.as_user() for e in repo.external_principals(PrincipalType.USER)]
        return repo.users() + external


def delete_user(services: Services, caller: Caller, upn: str) -> bool:
    caller.require(USERS.delete, "/")
    with services.db.write() as connection:
        repo = DirectoryRepository(connection)
        found = repo.user(upn) or _external_user(repo, upn)
        if found is None:
            return False
        _refuse_self(caller, found.principal, "delete")
        if found.issuer is not None:  # its next token records it again: disable it to keep it out
            repo.remove_external_principal(found.principal.id)
            name = found.principal.id
        else:
            repo.remove_user(found.principal.id)
            name = found.user_principal_name
        SessionRepository(connection).remove_principal(found.principal.id)
        Repository(connection).log_activity(caller.actor, USERS.delete, user_id(name), "Succeeded")
    return True


# -- service principals ------------------------------------------------------------------------
def put_service_principal(
    services: Services, caller: Caller, app_id: str, body: ServicePrincipalBody
) -> Saved[ServicePrincipal]:
    """Create a service principal under a client-chosen application id (a GUID, as role
    assignments' names are), or rename, enable or disable one."""
    validate_name(ResourceKind.SERVICE_PRINCIPAL, app_id)
    caller.require(SERVICE_PRINCIPALS.write, "/")
    props = body.properties
    with services.db.write() as connection:
        repo = DirectoryRepository(connection)
        existing = repo.service_principal(app_id.lower())
        external = repo.external_principal(app_id) if existing is None else None
        if external is not None and external.principal.principal_type == PrincipalType.SERVICE_PRINCIPAL:
            return _put_external(caller, repo, external, props.display_name, props.account_enabled, None)
        app_id = app_id.lower()
        if existing is None:
            if props.display_name is None:
                raise BadRequest("A new service principal needs properties.displayName.", target="properties")
            principal = Principal(str(uuid.uuid4()), app_id, PrincipalType.SERVICE_PRINCIPAL)
            repo.add_service_principal(principal, app_id, props.display_name)
        else:
            principal = existing.principal
            if props.display_name is not None:
                repo.rename_service_principal(principal.id, props.display_name)
        if props.account_enabled is not None:
            if props.account_enabled is False:
                _refuse_self(caller, principal, "disable")
            repo.set_enabled(principal.id, props.account_enabled)
        Repository(connection).log_activity(
            caller.actor, SERVICE_PRINCIPALS.write, service_principal_id(app_id), "Succeeded"
        )
        saved = repo.service_principal(app_id)
    assert saved is not None
    return Saved(saved, existing is None)


def get_service_principal(services: Services, caller: Caller, app_id: str) -> ServicePrincipal:
    caller.require(SERVICE_PRINCIPALS.read, "/")
    with services.db.read() as connection:
        repo = DirectoryRepository(connection)
        found = repo.service_principal(app_id) or _external_sp(repo, app_id)
    if found is None:
        raise NotFound(f"The service principal '{app_id}' was not found.", code="ServicePrincipalNotFound")
    return found


def list_service_principals(services: Services, caller: Caller) -> list[ServicePrincipal]:
    caller.require(SERVICE_PRINCIPALS.read, "/")
    with services.db.read() as connection:
        repo = DirectoryRepository(connection)
        external = [
            e.as_service_principal() for e in repo.external_principals(PrincipalType.SERVICE_PRINCIPAL)
        ]
        return repo.service_principals() + external


def delete_service_principal(services: Services, caller: Caller, app_id: str) -> bool:
    caller.require(SERVICE_PRINCIPALS.delete, "/")
    with services.db.write() as connection:
        repo = DirectoryRepository(connection)
        found = repo.service_principal(app_id) or _external_sp(repo, app_id)
        if found is None:
            return False
        _refuse_self(caller, found.principal, "delete")
        if found.issuer is not None:  # its next token records it again: disable it to keep it out
            repo.remove_external_principal(found.principal.id)
            Repository(connection).log_activity(
                caller.actor, SERVICE_PRINCIPALS.delete, service_principal_id(found.principal.id), "Succeeded"
            )
            return True
        repo.remove_service_principal(found.principal.id)
        Repository(connection).log_activity(
            caller.actor, SERVICE_PRINCIPALS.delete, service_principal_id(found.app_id), "Succeeded"
        )
    return True


@dataclass(frozen=True)
class AddedPassword:
    """A new client secret: its text is in this answer only."""

    service_principal: ServicePrincipal
    credential: ClientSecret
    secret_text: str
    tenant_id: str


def add_password(services: Services, caller: Caller, app_id: str, body: AddPasswordBody) -> AddedPassword:
    caller.require(ADD_PASSWORD, "/")
    now = utcnow()
    end = body.end_date_time or now + DEFAULT_SECRET_LIFETIME
    if end.tzinfo is None:
        raise BadRequest("endDateTime needs a time zone, e.g. 2030-01-01T00:00:00Z.", target="endDateTime")
    if end <= now:
        raise BadRequest("endDateTime must be in the future.", target="endDateTime")
    text = new_client_secret()
    secret_hash = DIGEST_PREFIX + services.vault.digest(text)
    with services.db.write() as connection:
        repo = DirectoryRepository(connection)
        found = repo.service_principal(app_id)
        if found is None:
            if _external_sp(repo, app_id) is not None:
                raise BadRequest(
                    f"'{app_id}' is a service principal of the trusted external issuer: it signs in "
                    "there and has no client secrets here.",
                    code="ExternalPrincipal",
                )
            raise NotFound(
                f"The service principal '{app_id}' was not found.", code="ServicePrincipalNotFound"
            )
        if body.replace_existing:
            repo.remove_client_secrets(found.principal.id)
        credential = ClientSecret(
            key_id=str(uuid.uuid4()),
            principal_id=found.principal.id,
            display_name=body.display_name,
            hint=text[:3],
            secret_hash=secret_hash,
            start=now,
            end=end,
        )
        repo.add_client_secret(credential)
        Repository(connection).log_activity(
            caller.actor, ADD_PASSWORD, service_principal_id(found.app_id), "Succeeded"
        )
        saved = repo.service_principal(found.app_id)
        tenant = repo.tenant_id() or ""
    assert saved is not None
    return AddedPassword(saved, credential, text, tenant)


# -- sign-in checks (for the token endpoint) ---------------------------------------------------
def verify_user_password(services: Services, upn: str, password: str) -> DirectoryUser | None:
    """The enabled user whose password this is; None otherwise (unknown, wrong or disabled),
    after the same work either way. The admin with no password set is checked against its
    static token (a keyed digest, compared in constant time)."""
    with services.db.read() as connection:
        user = DirectoryRepository(connection).user(upn)
        token_digest = None
        if user is not None and user.password_hash is None:
            token_digest = DirectoryRepository(connection).token_digest(user.principal.id)
    if user is None or (user.password_hash is None and token_digest is None):
        spend_decoy_check(password)
        return None
    if user.password_hash is not None:
        matched = verify_password(user.password_hash, password)
    else:
        assert token_digest is not None
        spend_decoy_check(password)
        matched = hmac.compare_digest(services.vault.digest(password), token_digest)
    return user if matched and user.enabled else None


def verify_client_secret(
    services: Services, app_id: str, secret: str, now: datetime | None = None
) -> ServicePrincipal | None:
    """The enabled service principal one of whose unexpired client secrets this is; else None."""
    with services.db.read() as connection:
        found = DirectoryRepository(connection).service_principal(app_id)
    moment = now or utcnow()
    live = [c for c in found.secrets if not c.expired(moment)] if found is not None else []
    if found is None or not live:
        # The work of one digest check, so an unknown application id answers like a wrong secret.
        hmac.compare_digest(services.vault.digest(secret), services.vault.digest(""))
        return None
    matched = any(c.check(secret, moment, services.vault.digest) for c in live)
    return found if matched and found.enabled else None
