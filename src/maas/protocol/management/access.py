"""Bodies for principals and role assignments."""

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
