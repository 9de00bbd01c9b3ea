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

from datetime import UTC, datetime
from typing import Any

from maas.controlplane.domain.activity import ActivityEvent
from maas.controlplane.domain.authz import RoleDefinition
from maas.controlplane.domain.credentials import ClientSecret
from maas.controlplane.domain.directory import DirectoryUser, ServicePrincipal
from maas.controlplane.domain.quota_requests import QuotaRequest
from maas.controlplane.domain.resources import Principal, Resource
from maas.controlplane.services.access import Issued
from maas.controlplane.services.directory import AddedPassword
from maas.controlplane.services.quotas import QuotaState, quota_id
from maas.controlplane.store.repository import OperationRecord, RoleAssignmentRecord
from maas.core.clock import isoformat
from maas.core.ids import (
    PRINCIPAL_TYPE,
    QUOTA_REQUEST_TYPE,
    ROLE_ASSIGNMENT_TYPE,
    ROLE_DEFINITION_TYPE,
    SERVICE_PRINCIPAL_TYPE,
    USER_TYPE,
    principal_id,
    service_principal_id,
    tenant_id,
    user_id,
)


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


def user_body(user: DirectoryUser) -> dict[str, Any]:
    """A directory user (`UserResource`); never its password or hash. An external user (a
    trusted issuer's) is named by its object id, and shows its `issuer`."""
    upn = user.user_principal_name
    name = upn if user.issuer is None else user.principal.id
    return {
        "id": user_id(name),
        "name": name,
        "type": USER_TYPE,
        "properties": {
            "principalId": user.principal.id,
            "userPrincipalName": upn,
            "displayName": user.display_name,
            "accountEnabled": user.enabled,
            "passwordSet": user.password_hash is not None,
            "createdDateTime": isoformat(user.created_at),
            "issuer": user.issuer,
        },
    }


def password_credential_body(credential: ClientSecret, secret_text: str | None = None) -> dict[str, Any]:
    """A client secret (`PasswordCredential`): its text only in the answer that made it."""
    body: dict[str, Any] = {
        "keyId": credential.key_id,
        "displayName": credential.display_name,
        "hint": credential.hint,
        "startDateTime": isoformat(credential.start),
        "endDateTime": isoformat(credential.end),
    }
    if secret_text is not None:
        body["secretText"] = secret_text
    return body


def service_principal_body(sp: ServicePrincipal, tenant: str) -> dict[str, Any]:
    """A service principal (`ServicePrincipalResource`); its secrets' hints, never their text.
    An external one (a trusted issuer's) is named by its object id, and shows its `issuer`."""
    name = sp.app_id if sp.issuer is None else sp.principal.id
    return {
        "id": service_principal_id(name),
        "name": name,
        "type": SERVICE_PRINCIPAL_TYPE,
        "properties": {
            "principalId": sp.principal.id,
            "appId": sp.app_id,
            "displayName": sp.display_name,
            "accountEnabled": sp.enabled,
            "appOwnerOrganizationId": sp.tenant_id or tenant,
            "passwordCredentials": [password_credential_body(c) for c in sp.secrets],
            "issuer": sp.issuer,
        },
    }


def added_password_body(added: AddedPassword) -> dict[str, Any]:
    """`addPassword`'s answer (`PasswordCredential`): the secret's text, shown this once."""
    return password_credential_body(added.credential, added.secret_text)


def tenant_body(tenant: str) -> dict[str, Any]:
    """This installation's tenant (`TenantResource`), as ARM's `GET /tenants` lists one."""
    return {"id": tenant_id(tenant), "tenantId": tenant, "tenantCategory": "Home", "displayName": "MaaS"}


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


def quota_request_body(request: QuotaRequest) -> dict[str, Any]:
    """A quota increase request (`QuotaRequestResource`)."""
    applied = request.applied
    return {
        "id": request.id,
        "name": request.name,
        "type": QUOTA_REQUEST_TYPE,
        "properties": {
            "endpointId": request.endpoint_id,
            "limits": {
                "tokensPerMinute": request.tokens_per_minute,
                "requestsPerMinute": request.requests_per_minute,
            },
            "reason": request.reason,
            "status": str(request.status),
            "provisioningState": request.status.provisioning_state,
            "message": request.message,
            "requestSubmitTime": isoformat(request.submitted_at),
            "requestedBy": request.requested_by,
            "previousLimits": {
                "tokensPerMinute": request.previous.tokens_per_minute,
                "requestsPerMinute": request.previous.requests_per_minute,
            },
            "appliedLimits": None
            if applied is None
            else {
                "tokensPerMinute": applied.tokens_per_minute,
                "requestsPerMinute": applied.requests_per_minute,
            },
            "history": [
                {"status": str(e.status), "at": isoformat(e.at), "by": e.by, "message": e.message}
                for e in request.history
            ],
        },
    }


_DOTNET_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
_SUB_STATUS_TEXT = {
    "Forbidden": "Forbidden (HTTP Status Code: 403)",
    "Unauthorized": "Unauthorized (HTTP Status Code: 401)",
}


def _ticks(moment: datetime) -> int:
    """.NET ticks (100 ns since 0001-01-01), which Azure puts in an event's id."""
    since = moment - _DOTNET_EPOCH
    return since.days * 864_000_000_000 + since.seconds * 10_000_000 + since.microseconds * 10


def _text(value: str, localized: str | None = None) -> dict[str, str]:
    return {"value": value, "localizedValue": value if localized is None else localized}


def event_body(event: ActivityEvent, tenant: str) -> dict[str, Any]:
    """An activity-log event (`EventData`), in Azure Monitor's shape."""
    at = isoformat(event.at)
    sub_status = event.sub_status or ""
    return {
        "authorization": {"action": event.action, "scope": event.resource_id},
        "caller": event.caller,
        "channels": "Operation",
        "category": _text("Administrative"),
        "correlationId": event.correlation_id,
        "eventDataId": event.event_id,
        "eventName": _text("EndRequest", "End request"),
        "httpRequest": {"clientIpAddress": event.client_address, "method": event.method},
        "id": f"{event.resource_id.rstrip('/')}/events/{event.event_id}/ticks/{_ticks(event.at)}",
        "level": str(event.level),
        "resourceGroupName": event.resource_group,
        "resourceProviderName": _text(event.action.split("/", 1)[0]),
        "resourceId": event.resource_id,
        "operationId": event.correlation_id,
        "operationName": _text(event.action),
        "status": _text(event.status),
        "subStatus": _text(sub_status, _SUB_STATUS_TEXT.get(sub_status, sub_status)),
        "eventTimestamp": at,
        "submissionTimestamp": at,
        "subscriptionId": event.subscription,
        "tenantId": tenant,
    }
