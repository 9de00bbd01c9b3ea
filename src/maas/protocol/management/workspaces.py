"""Bodies for workspaces and their connections."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AnyHttpUrl, Field

from maas.protocol.management.arm import ArmBody, ReadOnlyProperties, Strict


class WorkspaceKind(StrEnum):
    DEFAULT = "Default"
    HUB = "Hub"
    PROJECT = "Project"


class WorkspaceProperties(ReadOnlyProperties):
    friendly_name: str | None = Field(default=None, alias="friendlyName", max_length=256)
    description: str | None = Field(default=None, max_length=4096)
    workspace_id: Any = Field(default=None, alias="workspaceId")
    discovery_url: Any = Field(default=None, alias="discoveryUrl")


class WorkspaceBody(ArmBody):
    location: str = Field(min_length=1, max_length=64)
    kind: WorkspaceKind = WorkspaceKind.DEFAULT
    sku: Any = None
    identity: Any = None
    properties: WorkspaceProperties = Field(default_factory=WorkspaceProperties)


class ConnectionCredentials(Strict):
    key: str = Field(min_length=1, max_length=4096)


class ConnectionProperties(ReadOnlyProperties):
    category: str
    target: AnyHttpUrl
    auth_type: str = Field(default="ApiKey", alias="authType")
    credentials: ConnectionCredentials | None = None
    is_shared_to_all: bool = Field(default=False, alias="isSharedToAll")
    metadata: dict[str, str] = Field(default_factory=dict)
    created_by_workspace_arm_id: Any = Field(default=None, alias="createdByWorkspaceArmId")


class ConnectionBody(ArmBody):
    properties: ConnectionProperties
