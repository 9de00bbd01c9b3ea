"""Bodies for accounts (`/subscriptions/{id}`) and resource groups."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from maas.protocol.management.arm import ArmBody, ReadOnlyProperties, Strict


class PaymentMethod(StrEnum):
    NONE = "None"
    CREDIT_CARD = "CreditCard"
    INVOICE = "Invoice"


class OfferType(StrEnum):
    PAY_AS_YOU_GO = "PayAsYouGo"
    FREE_TRIAL = "FreeTrial"
    FREE = "Free"


class BillingProfile(Strict):
    payment_method: PaymentMethod = Field(default=PaymentMethod.NONE, alias="paymentMethod")
    offer_type: OfferType = Field(default=OfferType.PAY_AS_YOU_GO, alias="offerType")


class AccountProperties(ReadOnlyProperties):
    billing_profile: BillingProfile = Field(default_factory=BillingProfile, alias="billingProfile")


class AccountBody(ArmBody):
    display_name: str | None = Field(default=None, alias="displayName", max_length=256)
    subscription_id: Any = Field(default=None, alias="subscriptionId")
    state: Any = None
    properties: AccountProperties = Field(default_factory=AccountProperties)


class ResourceGroupProperties(ReadOnlyProperties):
    pass


class ResourceGroupBody(ArmBody):
    location: str = Field(min_length=1, max_length=64)
    managed_by: str | None = Field(default=None, alias="managedBy")
    properties: ResourceGroupProperties = Field(default_factory=ResourceGroupProperties)
