"""The directory's entities: the tenant's users and service principals (no I/O).

Each is a `Principal` (its object id is what role assignments name, its `enabled` flag is checked
on every request) with what the directory adds: a user's principal name, display name and
password hash; a service principal's application id, display name and client secrets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from maas.controlplane.domain.credentials import ClientSecret
from maas.controlplane.domain.resources import Principal

__all__ = ["ADMIN_NAME", "DirectoryUser", "ExternalPrincipal", "ServicePrincipal"]

# The bootstrap admin: a user of the directory, and the principal `maas serve` makes first.
ADMIN_NAME = "admin"


@dataclass(frozen=True)
class DirectoryUser:
    principal: Principal
    user_principal_name: str
    display_name: str
    password_hash: str | None  # None: the bootstrap admin, whose token is its password until set
    enabled: bool
    created_at: datetime
    updated_at: datetime
    issuer: str | None = None  # an external user's issuer (it signs in there, has no password)


@dataclass(frozen=True)
class ServicePrincipal:
    principal: Principal
    app_id: str
    display_name: str
    enabled: bool
    created_at: datetime
    secrets: tuple[ClientSecret, ...] = ()
    issuer: str | None = None  # an external service principal's issuer (no secrets here)
    tenant_id: str | None = None  # an external one's tenant (`tid`), if its tokens carry one


@dataclass(frozen=True)
class ExternalPrincipal:
    """A principal a trusted external issuer's token named, recorded at its first sign-in (or
    seen since): its object id is the token's `oid`/`sub`; what else it shows is the token's."""

    principal: Principal
    issuer: str
    enabled: bool
    display_name: str
    user_principal_name: str | None
    app_id: str | None
    tenant_id: str | None
    created_at: datetime
    updated_at: datetime

    def as_user(self) -> DirectoryUser:
        return DirectoryUser(
            principal=self.principal,
            user_principal_name=self.user_principal_name or self.principal.id,
            display_name=self.display_name,
            password_hash=None,
            enabled=self.enabled,
            created_at=self.created_at,
            updated_at=self.updated_at,
            issuer=self.issuer,
        )

    def as_service_principal(self) -> ServicePrincipal:
        return ServicePrincipal(
            principal=self.principal,
            app_id=self.app_id or self.principal.id,
            display_name=self.display_name,
            enabled=self.enabled,
            created_at=self.created_at,
            issuer=self.issuer,
            tenant_id=self.tenant_id,
        )
