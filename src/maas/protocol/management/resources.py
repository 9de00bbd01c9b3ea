"""Response models: the ARM resource envelope every GET and PUT answers with, and its listings.

Routes render resources in these shapes (`maas.controlplane.api.render`) and name them in the
OpenAPI document, so it describes what the API really returns and a fuzzer checks responses
against it. `properties` is
each kind's own object, kept as stored (a null stays null).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AccountResource",
    "AccountResourceList",
    "ArmResource",
    "ArmResourceList",
    "GenericResource",
    "GenericResourceList",
    "SystemData",
]


class _Response(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class SystemData(_Response):
    created_at: str = Field(alias="createdAt")
    created_by: str = Field(alias="createdBy")
    created_by_type: str = Field(alias="createdByType")
    last_modified_at: str = Field(alias="lastModifiedAt")
    last_modified_by: str = Field(alias="lastModifiedBy")
    last_modified_by_type: str = Field(alias="lastModifiedByType")


class GenericResource(_Response):
    """A resource as the generic listing (`/resources`) shows it: the envelope, no properties."""

    id: str
    name: str
    type: str
    location: str | None = None
    kind: str | None = None
    sku: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    system_data: SystemData = Field(alias="systemData")


class ArmResource(GenericResource):
    """A resource as its own GET returns it; `properties.provisioningState` is always there."""

    properties: dict[str, Any]


class AccountResource(ArmResource):
    """An account (`/subscriptions/{id}`), with the fields ARM's subscriptions carry."""

    subscription_id: str = Field(alias="subscriptionId")
    display_name: str = Field(alias="displayName")
    state: str


class ArmResourceList(_Response):
    value: list[ArmResource]
    next_link: str | None = Field(default=None, alias="nextLink")


class AccountResourceList(_Response):
    value: list[AccountResource]


class GenericResourceList(_Response):
    value: list[GenericResource]
    next_link: str | None = Field(default=None, alias="nextLink")
