"""The ARM resource envelope shared by every resource, and the states it moves through.

Desired state (spec: `properties`, bumping `generation`) is written by the API; observed state
(`provisioning_state`, `observed_generation`, status fields) by the reconciler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ProvisioningState(StrEnum):
    CREATING = "Creating"
    UPDATING = "Updating"
    DELETING = "Deleting"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELED = "Canceled"

    @property
    def is_terminal(self) -> bool:
        return self in (self.SUCCEEDED, self.FAILED, self.CANCELED)


class PrincipalType(StrEnum):
    USER = "User"
    SERVICE_PRINCIPAL = "ServicePrincipal"
    GROUP = "Group"


@dataclass(frozen=True)
class Principal:
    id: str
    name: str
    principal_type: PrincipalType


SYSTEM = Principal(
    id="00000000-0000-0000-0000-000000000000",
    name="maas",
    principal_type=PrincipalType.SERVICE_PRINCIPAL,
)


@dataclass(frozen=True)
class Quota:
    """A quota set on an endpoint through the API (else the platform's default applies)."""

    tokens_per_minute: int
    requests_per_minute: int


@dataclass
class Resource:
    id: str
    type: str
    name: str
    parent_id: str
    properties: dict[str, Any]
    created_at: datetime
    created_by: str
    created_by_type: str
    last_modified_at: datetime
    last_modified_by: str
    last_modified_by_type: str
    provisioning_state: ProvisioningState = ProvisioningState.SUCCEEDED
    subscription: str | None = None
    resource_group: str | None = None
    location: str | None = None
    kind: str | None = None
    sku: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    plan: dict[str, Any] | None = None
    generation: int = 1
    observed_generation: int = 0
    # The platform's own bookkeeping, in typed columns and never shown to clients. Set on
    # serverless endpoints only: the model version they serve, the offer they bill under, the
    # quota set through the API, and whether the billing rule suspended them.
    model_version_id: str | None = None
    offer_id: str | None = None
    quota: Quota | None = None
    billing_suspended: bool = False

    @property
    def key(self) -> str:
        return self.id.rstrip("/").lower()
