"""Bodies for the directory: users, service principals and their password credentials.

Loosely Microsoft Graph's (`displayName`, `accountEnabled`, `passwordProfile.password`,
`endDateTime`) inside ARM's `{"properties": ...}` envelope, under MaaS's own namespace:
`/providers/Microsoft.MaaS/users/{userPrincipalName}` and
`/providers/Microsoft.MaaS/servicePrincipals/{appId}`. Read-only fields a GET shows are accepted
and ignored, so GET-modify-PUT works.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from maas.protocol.management.arm import ArmBody, ReadOnlyProperties, Strict

__all__ = ["AddPasswordBody", "PasswordProfile", "ServicePrincipalBody", "UserBody"]


class PasswordProfile(Strict):
    password: str = Field(min_length=8, max_length=256)


class UserProperties(ReadOnlyProperties):
    display_name: str | None = Field(default=None, alias="displayName", min_length=1, max_length=256)
    password_profile: PasswordProfile | None = Field(default=None, alias="passwordProfile")
    account_enabled: bool | None = Field(default=None, alias="accountEnabled")
    # read-only
    user_principal_name: Any = Field(default=None, alias="userPrincipalName")
    principal_id: Any = Field(default=None, alias="principalId")
    password_set: Any = Field(default=None, alias="passwordSet")
    created_date_time: Any = Field(default=None, alias="createdDateTime")
    issuer: Any = None


class UserBody(ArmBody):
    properties: UserProperties = Field(default_factory=UserProperties)


class ServicePrincipalProperties(ReadOnlyProperties):
    display_name: str | None = Field(default=None, alias="displayName", min_length=1, max_length=256)
    account_enabled: bool | None = Field(default=None, alias="accountEnabled")
    # read-only
    app_id: Any = Field(default=None, alias="appId")
    principal_id: Any = Field(default=None, alias="principalId")
    password_credentials: Any = Field(default=None, alias="passwordCredentials")
    app_owner_organization_id: Any = Field(default=None, alias="appOwnerOrganizationId")
    issuer: Any = None


class ServicePrincipalBody(ArmBody):
    properties: ServicePrincipalProperties = Field(default_factory=ServicePrincipalProperties)


class AddPasswordBody(Strict):
    """`POST .../servicePrincipals/{appId}/addPassword`: a new client secret (shown once).
    `replaceExisting` removes the others first, as `az ad sp credential reset` does."""

    display_name: str | None = Field(default=None, alias="displayName", max_length=256)
    end_date_time: datetime | None = Field(default=None, alias="endDateTime")
    replace_existing: bool = Field(default=False, alias="replaceExisting")
