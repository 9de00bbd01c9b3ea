"""Bodies for principals, role assignments and (custom) role definitions."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import Field

from maas.core.errors import ValidationFailed
from maas.protocol.management.arm import ArmBody, ReadOnlyProperties, Strict, parse_body


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


_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def role_definition_file(text: str) -> tuple[str | None, RoleDefinitionBody]:
    """A role definition as `maas role definition create --role-definition role.json` takes it
    (and `az`): the file `az` documents (`Name`, `Description`, `Actions`, `NotActions`,
    `DataActions`, `NotDataActions`, `AssignableScopes`, keys in any case), or a role as `show`
    prints it (ARM's, `properties` nested or not). Returns the GUID the text names (`Id`, or
    `name` beside `roleName`), if any, and the ARM body; every fault is a 400 in words."""
    try:
        loaded = json.loads(text)
    except ValueError as exc:
        raise ValidationFailed(
            f"The role definition is not valid JSON: {exc}.", target="roleDefinition"
        ) from None
    if not isinstance(loaded, dict):
        raise ValidationFailed("The role definition must be a JSON object.", target="roleDefinition")
    fields = {str(k).lower(): v for k, v in loaded.items()}
    nested = fields.pop("properties", None)
    if isinstance(nested, dict):
        fields.update({str(k).lower(): v for k, v in nested.items()})
    if "rolename" in fields:  # as list/show print it: `name` is the GUID
        role_name, guid_text = fields.get("rolename"), fields.get("name") or fields.get("id")
    else:  # az's create file: `Name` is the role name
        role_name, guid_text = fields.get("name"), fields.get("id")
    guid = None
    if guid_text:
        match = _GUID.search(str(guid_text).rsplit("/", 1)[-1])
        guid = match.group(0).lower() if match else None
    if not role_name:
        raise ValidationFailed("The role definition needs the role's name ('Name').", target="Name")
    if "permissions" in fields:
        permissions = fields["permissions"]
    else:
        permissions = [
            {
                "actions": fields.get("actions") or [],
                "notActions": fields.get("notactions") or [],
                "dataActions": fields.get("dataactions") or [],
                "notDataActions": fields.get("notdataactions") or [],
            }
        ]
    scopes = fields.get("assignablescopes")
    if not isinstance(scopes, list) or not scopes:
        raise ValidationFailed(
            "The role definition needs 'AssignableScopes': the subscriptions, resource groups or "
            "workspaces where it can be assigned.",
            target="AssignableScopes",
        )
    body = {
        "properties": {
            "roleName": role_name,
            "description": fields.get("description") or "",
            "permissions": permissions,
            "assignableScopes": scopes,
        }
    }
    return guid, parse_body(RoleDefinitionBody, json.dumps(body).encode())
