"""Bodies for principals, role assignments and (custom) role definitions."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from maas.protocol.management.arm import ArmBody, ReadOnlyProperties, Strict


class RoleAssignmentProperties(Strict):
    role_definition_id: str = Field(alias="roleDefinitionId", min_length=1, max_length=1024)
    principal_id: str = Field(alias="principalId", min_length=1, max_length=128)
    principal_type: str = Field(default="User", alias="principalType")
    description: str | None = Field(default=None, max_length=2048)
    condition: str | None = None
    condition_version: str | None = Field(default=None, alias="conditionVersion")
    scope: Any = None
    created_on: Any = Field(default=None, alias="createdOn")
    updated_on: Any = Field(default=None, alias="updatedOn")
    created_by: Any = Field(default=None, alias="createdBy")
    updated_by: Any = Field(default=None, alias="updatedBy")


class RoleAssignmentBody(ArmBody):
    properties: RoleAssignmentProperties


class PrincipalProperties(ReadOnlyProperties):
    principal_type: str = Field(default="User", alias="principalType")
    principal_id: Any = Field(default=None, alias="principalId")


class PrincipalBody(ArmBody):
    properties: PrincipalProperties = Field(default_factory=PrincipalProperties)


class PermissionBody(Strict):
    """One `permissions[]` block of a role definition, in ARM's spelling."""

    actions: list[str] = Field(default_factory=list, max_length=500)
    not_actions: list[str] = Field(default_factory=list, alias="notActions", max_length=500)
    data_actions: list[str] = Field(default_factory=list, alias="dataActions", max_length=500)
    not_data_actions: list[str] = Field(default_factory=list, alias="notDataActions", max_length=500)
    condition: Any = None
    condition_version: Any = Field(default=None, alias="conditionVersion")


class RoleDefinitionProperties(Strict):
    """ARM's `RoleDefinitionProperties`: `type` (`roleType` in the SDKs) is read-only here, as
    only custom roles can be written."""

    role_name: str = Field(alias="roleName", min_length=1, max_length=256)
    description: str = Field(default="", max_length=2048)
    type: Any = None
    role_type: Any = Field(default=None, alias="roleType")
    permissions: list[PermissionBody] = Field(min_length=1, max_length=10)
    assignable_scopes: list[str] = Field(alias="assignableScopes", min_length=1, max_length=100)
    created_on: Any = Field(default=None, alias="createdOn")
    updated_on: Any = Field(default=None, alias="updatedOn")
    created_by: Any = Field(default=None, alias="createdBy")
    updated_by: Any = Field(default=None, alias="updatedBy")


class RoleDefinitionBody(ArmBody):
    properties: RoleDefinitionProperties
