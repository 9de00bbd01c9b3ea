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

from maas.controlplane.domain.authz import RoleDefinition
from maas.controlplane.domain.resources import Principal, Resource
from maas.controlplane.services.access import Issued
from maas.controlplane.services.quotas import QuotaState, quota_id
from maas.controlplane.store.repository import OperationRecord, RoleAssignmentRecord
from maas.core.clock import isoformat
from maas.core.ids import PRINCIPAL_TYPE, ROLE_ASSIGNMENT_TYPE, ROLE_DEFINITION_TYPE, principal_id


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


def principal_body(principal: Principal, token: str | None = None) -> dict[str, Any]:
    """A principal (`PrincipalResource`); its token only in the answer that created it."""
    properties: dict[str, Any] = {"principalId": principal.id, "principalType": str(principal.principal_type)}
    if token is not None:
        properties["token"] = token
    return {
        "id": principal_id(principal.name),
        "name": principal.name,
        "type": PRINCIPAL_TYPE,
        "properties": properties,
    }


def issued_body(issued: Issued) -> dict[str, Any]:
    return principal_body(issued.principal, issued.token)


def assignment_body(record: RoleAssignmentRecord) -> dict[str, Any]:
    """A role assignment (`RoleAssignmentResource`), as ARM's Authorization API shows it."""
    return {
        "id": record.id,
        "name": record.name,
        "type": ROLE_ASSIGNMENT_TYPE,
        "properties": {
            "roleDefinitionId": record.role_definition_id,
            "principalId": record.principal_id,
            "principalType": record.principal_type,
            "scope": record.scope,
            "description": record.description,
            "createdOn": isoformat(record.created_at),
            "createdBy": record.created_by,
        },
    }


def role_definition_body(role: RoleDefinition) -> dict[str, Any]:
    """A role definition (`RoleDefinitionResource`)."""
    return {
        "id": role.id,
        "name": role.guid,
        "type": ROLE_DEFINITION_TYPE,
        "properties": {
            "roleName": role.role_name,
            "description": role.description,
            "type": role.role_type,
            "permissions": [
                {
                    "actions": list(p.actions),
                    "notActions": list(p.not_actions),
                    "dataActions": list(p.data_actions),
                    "notDataActions": list(p.not_data_actions),
                }
                for p in role.permissions
            ],
            "assignableScopes": list(role.assignable_scopes),
        },
    }


def operation_body(record: OperationRecord) -> dict[str, Any]:
    """A long-running operation's status (`OperationStatus`), as `Azure-AsyncOperation` gives it."""
    body: dict[str, Any] = {
        "id": record.id,
        "name": record.id,
        "status": record.status,
        "startTime": isoformat(record.created_at),
    }
    if record.ended_at is not None:
        body["endTime"] = isoformat(record.ended_at)
    if record.error:
        body["error"] = record.error
    return body


def quota_body(state: QuotaState) -> dict[str, Any]:
    """An endpoint's quota (`QuotaResource`)."""
    return {
        "id": quota_id(state.endpoint_id),
        "name": "default",
        "type": "Microsoft.MaaS/quotas",
        "properties": {
            "tokensPerMinute": state.tokens_per_minute,
            "requestsPerMinute": state.requests_per_minute,
            "isDefault": state.default,
            "history": [
                {
                    "tokensPerMinute": c.tokens_per_minute,
                    "requestsPerMinute": c.requests_per_minute,
                    "previousTokensPerMinute": c.previous_tokens_per_minute,
                    "previousRequestsPerMinute": c.previous_requests_per_minute,
                    "reason": c.reason,
                    "changedBy": c.changed_by,
                    "changedAt": c.changed_at.isoformat().replace("+00:00", "Z"),
                }
                for c in state.history
            ],
        },
    }
