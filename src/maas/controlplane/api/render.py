"""Resources to wire JSON, through the response models of `maas.protocol.management.resources`.

Services return domain objects (`Resource`, `Saved`, `Page`); only routes turn them into bodies,
here. Optional envelope fields are left out when unset, as ARM does; `properties` is kept as
stored, with the provisioning state added.
"""

from __future__ import annotations

from typing import Any

from maas.controlplane.domain.resources import Resource
from maas.core.clock import isoformat
from maas.protocol.management.resources import AccountResource, ArmResource, GenericResource, SystemData


def _envelope(resource: Resource) -> dict[str, Any]:
    fields: dict[str, Any] = {"id": resource.id, "name": resource.name, "type": resource.type}
    for key in ("location", "kind", "sku", "plan"):
        value = getattr(resource, key)
        if value is not None:
            fields[key] = value
    fields["tags"] = dict(resource.tags)
    fields["system_data"] = SystemData(
        created_at=isoformat(resource.created_at),
        created_by=resource.created_by,
        created_by_type=resource.created_by_type,
        last_modified_at=isoformat(resource.last_modified_at),
        last_modified_by=resource.last_modified_by,
        last_modified_by_type=resource.last_modified_by_type,
    )
    return fields


def _properties(resource: Resource) -> dict[str, Any]:
    return {**resource.properties, "provisioningState": str(resource.provisioning_state)}


def arm_body(resource: Resource) -> dict[str, Any]:
    """The resource as ARM returns it from GET."""
    model = ArmResource(**_envelope(resource), properties=_properties(resource))
    return model.model_dump(by_alias=True, exclude_unset=True)


def generic_body(resource: Resource) -> dict[str, Any]:
    """The resource as the generic listing (`/resources`) returns it: no properties."""
    return GenericResource(**_envelope(resource)).model_dump(by_alias=True, exclude_unset=True)


def account_body(resource: Resource) -> dict[str, Any]:
    """An account: its display name moves out of `properties` to the top, as ARM shows it."""
    sub = resource.name
    properties = _properties(resource)
    display = properties.pop("displayName", sub)
    model = AccountResource(
        **_envelope(resource),
        properties=properties,
        subscription_id=sub,
        display_name=display,
        state="Enabled",
    )
    return model.model_dump(by_alias=True, exclude_unset=True)
