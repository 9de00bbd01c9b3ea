"""Body of a deployment's quota (`{endpoint id}/providers/Microsoft.MaaS/quotas/default`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from maas.protocol.management.arm import ArmBody, ReadOnlyProperties

MAX_PER_MINUTE = 1_000_000_000


class QuotaProperties(ReadOnlyProperties):
    tokens_per_minute: int | None = Field(default=None, alias="tokensPerMinute", ge=1, le=MAX_PER_MINUTE)
    requests_per_minute: int | None = Field(default=None, alias="requestsPerMinute", ge=1, le=MAX_PER_MINUTE)
    reason: str = Field(default="", max_length=1000)
    # read-only fields a client may echo back from a GET
    is_default: Any = Field(default=None, alias="isDefault")
    history: Any = None


class QuotaBody(ArmBody):
    properties: QuotaProperties
