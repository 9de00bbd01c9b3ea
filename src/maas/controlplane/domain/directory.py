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

__all__ = ["ADMIN_NAME", "DirectoryUser", "ServicePrincipal"]

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


@dataclass(frozen=True)
class ServicePrincipal:
    principal: Principal
    app_id: str
    display_name: str
    enabled: bool
    created_at: datetime
    secrets: tuple[ClientSecret, ...] = ()
