"""Resources to wire JSON, in the shapes `maas.protocol.management.resources` declares.

Services return domain objects (`Resource`, `Saved`, `Page`); only routes turn them into bodies,
here. The bodies are built as plain dicts, since validating every item of a 100-item page through
pydantic cost ~10% of a listing's time. The response models say what the bodies are: the routes
publish them in the OpenAPI document, the fuzz tests check every response against that document,
and `tests/unit/controlplane/api/test_render.py` validates each shape against its model. Optional
envelope fields are left out when unset, as ARM does; `properties` is kept as stored, with the
provisioning state added.
"""

from __future__ import annotations

from typing import Any

from maas.controlplane.domain.resources import Resource
from maas.core.clock import isoformat


def generic_body(resource: Resource) -> dict[str, Any]:
    """The resource as the generic listing (`/resources`) returns it: no properties
    (`GenericResource`)."""
    body: dict[str, Any] = {"id": resource.id, "name": resource.name, "type": resource.type}
    for key in ("location", "kind", "sku", "plan"):
        value = getattr(resource, key)
        if value is not None:
            body[key] = value
    body["tags"] = dict(resource.tags)
    body["systemData"] = {
        "createdAt": isoformat(resource.created_at),
        "createdBy": resource.created_by,
        "createdByType": resource.created_by_type,
        "lastModifiedAt": isoformat(resource.last_modified_at),
        "lastModifiedBy": resource.last_modified_by,
        "lastModifiedByType": resource.last_modified_by_type,
    }
    return body


def arm_body(resource: Resource) -> dict[str, Any]:
    """The resource as ARM returns it from GET (`ArmResource`)."""
    body = generic_body(resource)
    body["properties"] = {**resource.properties, "provisioningState": str(resource.provisioning_state)}
    return body


def account_body(resource: Resource) -> dict[str, Any]:
    """An account (`AccountResource`): its display name moves out of `properties` to the top,
    as ARM shows subscriptions."""
    body = arm_body(resource)
    sub = resource.name
    body["subscriptionId"] = sub
    body["displayName"] = body["properties"].pop("displayName", sub)
    body["state"] = "Enabled"
    return body
