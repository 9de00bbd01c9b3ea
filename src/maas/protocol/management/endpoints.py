"""Bodies for serverless endpoints and their keys (api-version 2024-01-01-preview shapes)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from maas.protocol.management.arm import ArmBody, ReadOnlyProperties, Strict


class AuthMode(StrEnum):
    KEY = "Key"
    AAD = "AAD"


class KeyType(StrEnum):
    PRIMARY = "Primary"
    SECONDARY = "Secondary"


class EndpointState(StrEnum):
    CREATING = "Creating"
    ONLINE = "Online"
    DELETING = "Deleting"
    SUSPENDED = "Suspended"
    UNHEALTHY = "Unhealthy"
    CREATION_FAILED = "CreationFailed"


class Sku(Strict):
    name: str = "Consumption"
    tier: str | None = None
    size: str | None = None
    family: str | None = None
    capacity: int | None = None


class ModelSettings(Strict):
    model_id: str = Field(alias="modelId", min_length=1, max_length=1024)


class ContentSafety(Strict):
    content_safety_status: str = Field(default="Disabled", alias="contentSafetyStatus")


class EndpointProperties(ReadOnlyProperties):
    model_settings: ModelSettings = Field(alias="modelSettings")
    auth_mode: AuthMode = Field(default=AuthMode.KEY, alias="authMode")
    content_safety: ContentSafety | None = Field(default=None, alias="contentSafety")
    inference_endpoint: Any = Field(default=None, alias="inferenceEndpoint")
    endpoint_state: Any = Field(default=None, alias="endpointState")
    marketplace_subscription_id: Any = Field(default=None, alias="marketplaceSubscriptionId")


class EndpointBody(ArmBody):
    location: str | None = Field(default=None, max_length=64)
    kind: str | None = Field(default=None, max_length=64)
    sku: Sku = Field(default_factory=Sku)
    identity: Any = None
    properties: EndpointProperties


class RegenerateKeysBody(Strict):
    key_type: KeyType = Field(alias="keyType")
    # The rule for a chosen value is the service's (maas.controlplane.domain.keys): the key being
    # replaced, which may predate that rule, is also accepted here (azure-ai-ml sends it).
    key_value: str | None = Field(default=None, alias="keyValue", min_length=1, max_length=256)
