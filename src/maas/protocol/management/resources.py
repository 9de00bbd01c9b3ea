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
    "EventData",
    "EventDataList",
    "GenericResource",
    "GenericResourceList",
    "OperationStatus",
    "PasswordCredential",
    "PrincipalResource",
    "QuotaRequestList",
    "QuotaRequestResource",
    "QuotaResource",
    "RoleAssignmentList",
    "RoleAssignmentResource",
    "RoleDefinitionList",
    "RoleDefinitionResource",
    "ServicePrincipalList",
    "ServicePrincipalResource",
    "SystemData",
    "TenantList",
    "TenantResource",
    "UserList",
    "UserResource",
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


class _Envelope(_Response):
    """The envelope of resources kept in their own tables: no location, tags or systemData."""

    id: str
    name: str
    type: str


class PrincipalProperties(_Response):
    principal_id: str = Field(alias="principalId")
    principal_type: str = Field(alias="principalType")
    token: str | None = None  # only in the answer that created the principal


class PrincipalResource(_Envelope):
    properties: PrincipalProperties


class RoleAssignmentProperties(_Response):
    role_definition_id: str = Field(alias="roleDefinitionId")
    principal_id: str = Field(alias="principalId")
    principal_type: str = Field(alias="principalType")
    scope: str
    description: str | None
    created_on: str = Field(alias="createdOn")
    created_by: str = Field(alias="createdBy")


class RoleAssignmentResource(_Envelope):
    properties: RoleAssignmentProperties


class RoleAssignmentList(_Response):
    value: list[RoleAssignmentResource]


class Permission(_Response):
    actions: list[str]
    not_actions: list[str] = Field(alias="notActions")
    data_actions: list[str] = Field(alias="dataActions")
    not_data_actions: list[str] = Field(alias="notDataActions")


class RoleDefinitionProperties(_Response):
    role_name: str = Field(alias="roleName")
    description: str
    type: str
    permissions: list[Permission]
    assignable_scopes: list[str] = Field(alias="assignableScopes")


class RoleDefinitionResource(_Envelope):
    properties: RoleDefinitionProperties


class RoleDefinitionList(_Response):
    value: list[RoleDefinitionResource]


class UserProperties(_Response):
    principal_id: str = Field(alias="principalId")
    user_principal_name: str = Field(alias="userPrincipalName")
    display_name: str = Field(alias="displayName")
    account_enabled: bool = Field(alias="accountEnabled")
    password_set: bool = Field(alias="passwordSet")  # false: the admin's token is its password
    created_date_time: str = Field(alias="createdDateTime")
    issuer: str | None = None  # an external user's issuer (a trusted OpenID Connect issuer)


class UserResource(_Envelope):
    properties: UserProperties


class UserList(_Response):
    value: list[UserResource]


class PasswordCredential(_Response):
    """A client secret as Graph shows one; `secretText` only in the answer that made it."""

    key_id: str = Field(alias="keyId")
    display_name: str | None = Field(alias="displayName")
    hint: str
    start_date_time: str = Field(alias="startDateTime")
    end_date_time: str = Field(alias="endDateTime")
    secret_text: str | None = Field(default=None, alias="secretText")


class ServicePrincipalProperties(_Response):
    principal_id: str = Field(alias="principalId")
    app_id: str = Field(alias="appId")
    display_name: str = Field(alias="displayName")
    account_enabled: bool = Field(alias="accountEnabled")
    app_owner_organization_id: str = Field(alias="appOwnerOrganizationId")  # the tenant
    password_credentials: list[PasswordCredential] = Field(alias="passwordCredentials")
    issuer: str | None = None  # an external service principal's issuer


class ServicePrincipalResource(_Envelope):
    properties: ServicePrincipalProperties


class ServicePrincipalList(_Response):
    value: list[ServicePrincipalResource]


class TenantResource(_Response):
    """ARM's `GET /tenants` item: this installation's one tenant."""

    id: str
    tenant_id: str = Field(alias="tenantId")
    tenant_category: str = Field(alias="tenantCategory")
    display_name: str = Field(alias="displayName")


class TenantList(_Response):
    value: list[TenantResource]


class QuotaChangeEntry(_Response):
    tokens_per_minute: int = Field(alias="tokensPerMinute")
    requests_per_minute: int = Field(alias="requestsPerMinute")
    previous_tokens_per_minute: int = Field(alias="previousTokensPerMinute")
    previous_requests_per_minute: int = Field(alias="previousRequestsPerMinute")
    reason: str | None
    changed_by: str = Field(alias="changedBy")
    changed_at: str = Field(alias="changedAt")


class QuotaProperties(_Response):
    tokens_per_minute: int = Field(alias="tokensPerMinute")
    requests_per_minute: int = Field(alias="requestsPerMinute")
    is_default: bool = Field(alias="isDefault")
    history: list[QuotaChangeEntry]


class QuotaResource(_Envelope):
    properties: QuotaProperties


class QuotaRequestedLimits(_Response):
    """What a quota request asks for; a limit it leaves as it is is null."""

    tokens_per_minute: int | None = Field(alias="tokensPerMinute")
    requests_per_minute: int | None = Field(alias="requestsPerMinute")


class QuotaLimits(_Response):
    tokens_per_minute: int = Field(alias="tokensPerMinute")
    requests_per_minute: int = Field(alias="requestsPerMinute")


class QuotaRequestEvent(_Response):
    """One change of a quota request's state: to what, when, by whom, with which message."""

    status: str
    at: str
    by: str
    message: str


class QuotaRequestProperties(_Response):
    endpoint_id: str = Field(alias="endpointId")
    limits: QuotaRequestedLimits
    reason: str
    status: str  # Pending | Approved | Denied | Cancelled
    provisioning_state: str = Field(alias="provisioningState")  # InProgress | Succeeded | Failed | Canceled
    message: str  # the operator's (or the cancellation's) message; "" while pending
    request_submit_time: str = Field(alias="requestSubmitTime")
    requested_by: str = Field(alias="requestedBy")
    previous_limits: QuotaLimits = Field(alias="previousLimits")  # in force when it was filed
    applied_limits: QuotaLimits | None = Field(alias="appliedLimits")  # put in force by approval
    history: list[QuotaRequestEvent]


class QuotaRequestResource(_Envelope):
    """A quota increase request (`{endpoint id}/providers/Microsoft.MaaS/quotaRequests/{name}`)."""

    properties: QuotaRequestProperties


class QuotaRequestList(_Response):
    value: list[QuotaRequestResource]
    next_link: str | None = Field(default=None, alias="nextLink")


class OperationStatus(_Response):
    """What an `Azure-AsyncOperation` URL answers."""

    id: str
    name: str
    status: str
    start_time: str = Field(alias="startTime")
    end_time: str | None = Field(default=None, alias="endTime")
    error: dict[str, Any] | None = None


class LocalizableString(_Response):
    value: str
    localized_value: str = Field(alias="localizedValue")


class SenderAuthorization(_Response):
    action: str
    scope: str


class HttpRequestInfo(_Response):
    client_request_id: str | None = Field(default=None, alias="clientRequestId")
    client_ip_address: str = Field(alias="clientIpAddress")
    method: str


class EventData(_Response):
    """One activity-log event, as Azure Monitor's `eventtypes/management/values` answers it."""

    authorization: SenderAuthorization
    caller: str
    channels: str
    category: LocalizableString
    correlation_id: str = Field(alias="correlationId")
    event_data_id: str = Field(alias="eventDataId")
    event_name: LocalizableString = Field(alias="eventName")
    http_request: HttpRequestInfo = Field(alias="httpRequest")
    id: str
    level: str
    resource_group_name: str | None = Field(default=None, alias="resourceGroupName")
    resource_provider_name: LocalizableString = Field(alias="resourceProviderName")
    resource_id: str = Field(alias="resourceId")
    operation_id: str = Field(alias="operationId")
    operation_name: LocalizableString = Field(alias="operationName")
    status: LocalizableString
    sub_status: LocalizableString = Field(alias="subStatus")
    event_timestamp: str = Field(alias="eventTimestamp")
    submission_timestamp: str = Field(alias="submissionTimestamp")
    subscription_id: str | None = Field(default=None, alias="subscriptionId")
    tenant_id: str = Field(alias="tenantId")


class EventDataList(_Response):
    value: list[EventData]
    next_link: str | None = Field(default=None, alias="nextLink")
