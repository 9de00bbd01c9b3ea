"""What every service call gets: the store, the vault, the settings and who is asking.

One `Services` object is built per process in the app's lifespan; a `Caller` is built per
request by the API after authentication and carries the principal's grants, loaded once.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from maas.controlplane.domain.activity import Actor, RequestInfo
from maas.controlplane.domain.authz import Grant, is_allowed, scope_contains
from maas.controlplane.domain.external import IssuerKeys
from maas.controlplane.domain.lockout import Lockout
from maas.controlplane.domain.resources import Principal, ProvisioningState, Resource
from maas.controlplane.domain.tokens import KeyRing
from maas.controlplane.store.database import Database
from maas.controlplane.store.repository import Repository
from maas.core.clock import utcnow
from maas.core.crypto import Vault
from maas.core.errors import AuthorizationFailed, NotFound
from maas.core.settings import Settings


@dataclass(frozen=True)
class LiveQuota:
    """What an endpoint's quota window holds now (the gateway's quota store, admitting nothing)."""

    remaining_requests: int
    remaining_tokens: int
    reset_seconds: float  # until the window is empty again


# (endpoint id, requests per minute, tokens per minute) -> the window now
QuotaReader = Callable[[str, int, int], Awaitable[LiveQuota]]


@dataclass
class Services:
    db: Database
    vault: Vault
    settings: Settings
    # Called after a commit that left work for the reconciler, so it need not wait for its poll.
    wake_reconciler: Callable[[], None] = field(default=lambda: None)
    # Called after a commit that changed what the gateway caches about endpoints (state, keys).
    endpoint_listeners: list[Callable[[], None]] = field(default_factory=list)
    # The token signing keys, parsed once and refreshed from the store (`services.signing_keys`).
    keyring: KeyRing = field(default_factory=KeyRing)
    # Failed client-secret sign-ins per client id (the token endpoint's throttle).
    lockout: Lockout = field(default_factory=Lockout)
    # The trusted external issuer's keys, fetched and kept by `services.external_issuer`.
    issuer_keys: IssuerKeys = field(default_factory=IssuerKeys)
    # The gateway's quota store as it stands, wired by `maas.server.process` (None: no gateway in
    # this process); `services.quotas.live_quota` reads it.
    quota_reader: QuotaReader | None = None

    def endpoints_changed(self) -> None:
        for listener in self.endpoint_listeners:
            listener()


@dataclass(frozen=True)
class Caller:
    principal: Principal
    grants: tuple[Grant, ...]
    # The request this caller came in on (correlation id, address, method), for the activity log.
    request: RequestInfo = field(default_factory=RequestInfo)

    @property
    def actor(self) -> Actor:
        return Actor(self.principal.id, self.principal.name, self.request)

    def can(self, action: str, scope: str) -> bool:
        return is_allowed(self.grants, action, scope)

    def holds_within(self, scope: str) -> bool:
        """Whether any of the caller's grants sits at or below `scope`."""
        return any(scope_contains(scope, grant.scope) for grant in self.grants)

    def require(self, action: str, scope: str) -> None:
        if not self.can(action, scope):
            raise AuthorizationFailed(
                f"The client '{self.principal.name}' with object id '{self.principal.id}' does not "
                f"have authorization to perform action '{action}' over scope '{scope}' or the "
                "scope is invalid.",
                action=action,
                scope=scope,
                principal_id=self.principal.id,
                principal_name=self.principal.name,
            )


@dataclass(frozen=True)
class Page:
    """One page of a listing; `next_token` is the key the next page resumes after."""

    items: list[Resource]
    next_token: str | None = None


T = TypeVar("T")


@dataclass(frozen=True)
class Saved(Generic[T]):
    """What a create-or-update did: the resource as stored (a `Resource`, or the record of a
    resource kept in its own table), whether it was created, and the long-running operation the
    client follows, if one continues."""

    resource: T
    created: bool
    operation: str | None = None


def new_operation_id() -> str:
    return str(uuid.uuid4())


def new_resource(
    caller: Caller,
    *,
    id: str,
    type: str,
    name: str,
    parent_id: str,
    properties: dict[str, Any],
    state: ProvisioningState = ProvisioningState.SUCCEEDED,
    **envelope: Any,
) -> Resource:
    now = utcnow()
    who, kind = caller.principal.name, str(caller.principal.principal_type)
    return Resource(
        id=id,
        type=type,
        name=name,
        parent_id=parent_id,
        properties=properties,
        created_at=now,
        created_by=who,
        created_by_type=kind,
        last_modified_at=now,
        last_modified_by=who,
        last_modified_by_type=kind,
        provisioning_state=state,
        **envelope,
    )


def touch(resource: Resource, caller: Caller) -> None:
    resource.last_modified_at = utcnow()
    resource.last_modified_by = caller.principal.name
    resource.last_modified_by_type = str(caller.principal.principal_type)


def require_resource(repo: Repository, resource_id: str, what: str, *, for_update: bool = False) -> Resource:
    resource = repo.get(resource_id, for_update=for_update)
    if resource is None:
        raise NotFound(f"The {what} '{resource_id}' was not found.", code="ResourceNotFound")
    return resource


def workspace_children(
    services: Services, caller: Caller, ws_id: str, type_: str, action: str, after: str | None, limit: int
) -> Page:
    """One page of a workspace's children of one type, for a caller allowed `action` on it."""
    caller.require(action, ws_id)
    with services.db.read() as connection:
        repo = Repository(connection)
        require_resource(repo, ws_id, "workspace")
        found = repo.children(ws_id, type_, after=after, limit=limit + 1)
    more = len(found) > limit
    found = found[:limit]
    return Page(found, found[-1].key if more else None)


def require_parent(repo: Repository, resource_id: str, what: str) -> Resource:
    resource = repo.get(resource_id)
    if resource is None:
        raise NotFound(
            f"The parent {what} '{resource_id}' was not found; create it first.",
            code="ParentResourceNotFound",
        )
    return resource
