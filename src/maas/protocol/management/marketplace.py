"""Bodies for offers and marketplace subscriptions."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from maas.protocol.management.arm import ArmBody, ReadOnlyProperties, Strict


class SubscriptionStatus(StrEnum):
    PENDING_FULFILLMENT_START = "PendingFulfillmentStart"
    SUBSCRIBED = "Subscribed"
    SUSPENDED = "Suspended"
    UNSUBSCRIBED = "Unsubscribed"


class OfferKind(StrEnum):
    FIRST_PARTY = "FirstParty"
    MARKETPLACE = "Marketplace"


class MarketplaceSubscriptionProperties(ReadOnlyProperties):
    model_id: str = Field(alias="modelId", min_length=1, max_length=1024)
    marketplace_plan: Any = Field(default=None, alias="marketplacePlan")
    marketplace_subscription_status: Any = Field(default=None, alias="marketplaceSubscriptionStatus")
    saas_resource_id: Any = Field(default=None, alias="saasResourceId")


class MarketplaceSubscriptionBody(ArmBody):
    location: Any = None  # the seed's template sends one; a subscription lives in its workspace
    properties: MarketplaceSubscriptionProperties


class Meter(Strict):
    meter_id: str = Field(alias="meterId", min_length=1, max_length=128)
    unit: str = "1K tokens"
    price_per_1k: float = Field(alias="pricePer1K", ge=0)
    currency: str = Field(default="USD", min_length=3, max_length=3)


class OfferProperties(ReadOnlyProperties):
    model_id: str = Field(alias="modelId", min_length=1, max_length=1024)
    kind: OfferKind = OfferKind.MARKETPLACE
    publisher_id: str = Field(alias="publisherId", min_length=1, max_length=128)
    offer_id: Any = Field(default=None, alias="offerId")
    plan_id: str = Field(default="default", alias="planId", min_length=1, max_length=128)
    display_name: str | None = Field(default=None, alias="displayName", max_length=256)
    terms: str = Field(default="", max_length=100_000)
    regions: list[str] = Field(default_factory=list)
    meters: list[Meter] = Field(default_factory=list)


class OfferBody(ArmBody):
    location: Any = None  # offers are global; accepted so GET-modify-PUT works
    properties: OfferProperties
