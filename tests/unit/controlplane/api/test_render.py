"""What routes render is what the response models (and so the OpenAPI document) declare."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from maas.controlplane.api.render import (
    account_body,
    added_password_body,
    arm_body,
    assignment_body,
    event_body,
    generic_body,
    operation_body,
    principal_body,
    quota_body,
    quota_request_body,
    role_definition_body,
    service_principal_body,
    tenant_body,
    user_body,
)
from maas.controlplane.domain.activity import ActivityEvent
from maas.controlplane.domain.authz import BUILTIN_ROLES
from maas.controlplane.domain.credentials import ClientSecret
from maas.controlplane.domain.directory import DirectoryUser, ServicePrincipal
from maas.controlplane.domain.quota_requests import QuotaRequest
from maas.controlplane.domain.resources import Principal, PrincipalType, ProvisioningState, Quota, Resource
from maas.controlplane.services.directory import AddedPassword
from maas.controlplane.services.quotas import QuotaState
from maas.controlplane.store.repository import OperationRecord, QuotaChange, RoleAssignmentRecord
from maas.protocol.management.quota_requests import QuotaRequestStatus
from maas.protocol.management.resources import (
    AccountResource,
    ArmResource,
    EventData,
    GenericResource,
    OperationStatus,
    PasswordCredential,
    PrincipalResource,
    QuotaRequestResource,
    QuotaResource,
    RoleAssignmentResource,
    RoleDefinitionResource,
    ServicePrincipalResource,
    TenantResource,
    UserResource,
)

WHEN = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def _resource(**overrides: Any) -> Resource:
    fields: dict[str, Any] = {
        "id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w",
        "type": "Microsoft.MachineLearningServices/workspaces",
        "name": "w",
        "parent_id": "/subscriptions/s/resourceGroups/g",
        "properties": {"friendlyName": "w", "nothing": None},
        "created_at": WHEN,
        "created_by": "admin",
        "created_by_type": "User",
        "last_modified_at": WHEN,
        "last_modified_by": "admin",
        "last_modified_by_type": "User",
        "provisioning_state": ProvisioningState.SUCCEEDED,
        "tags": {"team": "a"},
        "model_version_id": "/registries/r/models/m/versions/1",
        "quota": Quota(700, 3),
        "billing_suspended": True,
    }
    return Resource(**(fields | overrides))


@pytest.mark.parametrize(
    ("render", "model", "resource"),
    [
        (arm_body, ArmResource, _resource()),
        (arm_body, ArmResource, _resource(location="eastus2", kind="Default", sku={"name": "Consumption"})),
        (generic_body, GenericResource, _resource(location="eastus2")),
        (account_body, AccountResource, _resource(name="s", properties={"displayName": "Mine"})),
    ],
)
def test_each_body_is_exactly_its_response_model(
    render: Any, model: type[BaseModel], resource: Resource
) -> None:
    body = render(resource)
    dumped = model.model_validate(body).model_dump(by_alias=True, exclude_unset=True)
    assert dumped == body  # nothing the model lacks (extra is forbidden), nothing left out


def test_bookkeeping_is_never_rendered_and_nulls_in_properties_stay() -> None:
    body = arm_body(_resource())
    assert body["properties"] == {"friendlyName": "w", "nothing": None, "provisioningState": "Succeeded"}
    assert "location" not in body and "kind" not in body
    text = str(body)
    assert "versions/1" not in text and "700" not in text and "billing" not in text


def test_an_account_shows_its_display_name_at_the_top() -> None:
    body = account_body(_resource(name="s", properties={"displayName": "Mine", "billingProfile": {}}))
    assert (body["subscriptionId"], body["displayName"], body["state"]) == ("s", "Mine", "Enabled")
    assert "displayName" not in body["properties"]


PRINCIPAL = Principal("0f0f", "ci-bot", PrincipalType.SERVICE_PRINCIPAL)
ASSIGNMENT = RoleAssignmentRecord(
    id="/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/1",
    name="1",
    scope="/subscriptions/s",
    role_definition_id=BUILTIN_ROLES[0].id,
    principal_id="0f0f",
    principal_type="ServicePrincipal",
    description=None,
    created_at=WHEN,
    created_by="admin",
)
CHANGE = QuotaChange(
    endpoint_id="/e",
    tokens_per_minute=700,
    requests_per_minute=3,
    previous_tokens_per_minute=1000,
    previous_requests_per_minute=1000,
    reason="load test",
    changed_by="admin",
    changed_at=WHEN,
)

REQUEST = QuotaRequest(
    id="/e/providers/Microsoft.MaaS/quotaRequests/q1",
    name="q1",
    endpoint_id="/e",
    subscription="s",
    resource_group="g",
    workspace="w",
    tokens_per_minute=500_000,
    requests_per_minute=None,
    previous=Quota(200_000, 1_000),
    reason="launch week",
    status=QuotaRequestStatus.PENDING,
    message="",
    requested_by="alice",
    requested_by_id="oid",
    submitted_at=WHEN,
    updated_at=WHEN,
).moved(QuotaRequestStatus.PENDING, WHEN, "alice", "launch week")
APPROVED = REQUEST.moved(QuotaRequestStatus.APPROVED, WHEN, "admin", "ok", Quota(500_000, 1_000))

USER = DirectoryUser(Principal("oid", "alice", PrincipalType.USER), "alice", "Alice", None, True, WHEN, WHEN)
SECRET = ClientSecret("kid", "oid2", None, "abc", "$argon2id$...", WHEN, WHEN)
SP = ServicePrincipal(
    Principal("oid2", "app", PrincipalType.SERVICE_PRINCIPAL), "app", "ci", True, WHEN, (SECRET,)
)


@pytest.mark.parametrize(
    ("body", "model"),
    [
        (user_body(USER), UserResource),
        (service_principal_body(SP, "tenant"), ServicePrincipalResource),
        (added_password_body(AddedPassword(SP, SECRET, "abcdef", "tenant")), PasswordCredential),
        (tenant_body("tenant"), TenantResource),
        (principal_body(PRINCIPAL), PrincipalResource),
        (principal_body(PRINCIPAL, "token-shown-once"), PrincipalResource),
        (assignment_body(ASSIGNMENT), RoleAssignmentResource),
        *[(role_definition_body(role), RoleDefinitionResource) for role in BUILTIN_ROLES],
        (
            operation_body(OperationRecord("op", "/e", "create", "InProgress", None, WHEN, None)),
            OperationStatus,
        ),
        (
            operation_body(
                OperationRecord("op", "/e", "create", "Failed", {"code": "X", "message": "m"}, WHEN, WHEN)
            ),
            OperationStatus,
        ),
        (quota_body(QuotaState("/e", 700, 3, False, [CHANGE])), QuotaResource),
        (quota_request_body(REQUEST), QuotaRequestResource),
        (quota_request_body(APPROVED), QuotaRequestResource),
    ],
)
def test_records_render_exactly_as_their_models_say(body: dict[str, Any], model: type[BaseModel]) -> None:
    assert model.model_validate(body).model_dump(by_alias=True, exclude_unset=True) == body


@pytest.mark.parametrize(
    ("resource_id", "status", "sub_status"),
    [
        (
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w",
            "Succeeded",
            None,
        ),
        ("/subscriptions/s", "Failed", "Forbidden"),
        ("/", "Failed", "Unauthorized"),
    ],
)
def test_event_body_is_an_event_data(resource_id: str, status: str, sub_status: str | None) -> None:
    event = ActivityEvent(
        seq=1,
        event_id="e1",
        at=WHEN,
        principal_id="p",
        caller="admin",
        action="Microsoft.MachineLearningServices/workspaces/write",
        resource_id=resource_id,
        subscription="s" if resource_id != "/" else None,
        resource_group="g" if "resourceGroups" in resource_id else None,
        status=status,
        sub_status=sub_status,
        correlation_id="c1",
        client_address="203.0.113.9",
        method="PUT",
    )
    body = event_body(event, "tenant-1")
    EventData.model_validate(body)
    # .NET ticks: 621355968000000000 at the Unix epoch, plus 10^7 a second.
    assert body["id"] == f"{resource_id.rstrip('/')}/events/e1/ticks/639321228000000000"
    assert body["level"] == ("Error" if status == "Failed" else "Informational")
    assert body["resourceProviderName"]["value"] == "Microsoft.MachineLearningServices"
