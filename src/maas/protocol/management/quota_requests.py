"""Quota increase requests: what a user files on a deployment and an operator decides.

A request is an extension resource of the serverless endpoint, in the shape of Azure's
`Microsoft.Quota/quotaRequests` (a status, a message, `requestSubmitTime`):

    PUT  {endpoint id}/providers/Microsoft.MaaS/quotaRequests/{name}
         {"properties": {"limits": {"tokensPerMinute": N, "requestsPerMinute": M}, "reason": "…"}}
    POST {request id}/cancel | /approve | /deny   {"message": "…"} (optional body)
    GET  {scope}/providers/Microsoft.MaaS/quotaRequests[?$filter=status eq 'Pending']

`status` is Pending, then Approved, Denied or Cancelled; `provisioningState` says the same in
Azure's quota-request words (InProgress, Succeeded, Failed, Canceled).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator, model_validator

from maas.core.errors import BadRequest
from maas.protocol.management.arm import ArmBody, ReadOnlyProperties, Strict
from maas.protocol.management.quotas import MAX_PER_MINUTE

__all__ = [
    "MAX_MESSAGE",
    "MAX_REASON",
    "QuotaRequestActionBody",
    "QuotaRequestBody",
    "QuotaRequestLimits",
    "QuotaRequestStatus",
    "parse_status_filter",
]

MAX_REASON = 1000
MAX_MESSAGE = 1000


class QuotaRequestStatus(StrEnum):
    PENDING = "Pending"
    APPROVED = "Approved"
    DENIED = "Denied"
    CANCELLED = "Cancelled"

    @property
    def provisioning_state(self) -> str:
        """The same state in Azure's quota-request words (`Microsoft.Quota` RequestState)."""
        return _PROVISIONING[self]


_PROVISIONING = {
    QuotaRequestStatus.PENDING: "InProgress",
    QuotaRequestStatus.APPROVED: "Succeeded",
    QuotaRequestStatus.DENIED: "Failed",
    QuotaRequestStatus.CANCELLED: "Canceled",
}


def _text(value: str, what: str, limit: int, *, required: bool) -> str:
    stripped = value.strip()
    if required and not stripped:
        raise ValueError(f"{what} is required (1 to {limit} characters)")
    if len(stripped) > limit:
        raise ValueError(f"{what} must be at most {limit} characters")
    return stripped


class QuotaRequestLimits(Strict):
    """The limits asked for: either or both, each a whole number above the one in force."""

    tokens_per_minute: int | None = Field(
        default=None, alias="tokensPerMinute", ge=1, le=MAX_PER_MINUTE, strict=True
    )
    requests_per_minute: int | None = Field(
        default=None, alias="requestsPerMinute", ge=1, le=MAX_PER_MINUTE, strict=True
    )

    @model_validator(mode="after")
    def _one_at_least(self) -> QuotaRequestLimits:
        if self.tokens_per_minute is None and self.requests_per_minute is None:
            raise ValueError("name tokensPerMinute, requestsPerMinute or both")
        return self


class QuotaRequestProperties(ReadOnlyProperties):
    limits: QuotaRequestLimits
    reason: str = Field(max_length=10 * MAX_REASON)
    # read-only fields a client may echo back from a GET
    endpoint_id: Any = Field(default=None, alias="endpointId")
    status: Any = None
    message: Any = None
    request_submit_time: Any = Field(default=None, alias="requestSubmitTime")
    requested_by: Any = Field(default=None, alias="requestedBy")
    previous_limits: Any = Field(default=None, alias="previousLimits")
    applied_limits: Any = Field(default=None, alias="appliedLimits")
    history: Any = None

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return _text(value, "a reason", MAX_REASON, required=True)


class QuotaRequestBody(ArmBody):
    properties: QuotaRequestProperties


class QuotaRequestActionBody(Strict):
    """The optional body of cancel, approve and deny: a message the requester sees."""

    message: str = Field(default="", max_length=10 * MAX_MESSAGE)

    @field_validator("message")
    @classmethod
    def _message(cls, value: str) -> str:
        return _text(value, "the message", MAX_MESSAGE, required=False)


_STATUS_FILTER = re.compile(r"\s*status\s+eq\s+'([^']*)'\s*", re.IGNORECASE)
_BY_NAME = {s.value.lower(): s for s in QuotaRequestStatus}
_FILTER_USAGE = "Use $filter=status eq 'Pending' (or Approved, Denied, Cancelled)."


def parse_status_filter(text: str | None) -> QuotaRequestStatus | None:
    """The listing's `$filter`: nothing, or `status eq '<status>'` (any case)."""
    if text is None or not text.strip():
        return None
    match = _STATUS_FILTER.fullmatch(text)
    if match is None:
        raise BadRequest(
            f"The $filter '{text[:200]}' is not supported. {_FILTER_USAGE}",
            code="InvalidFilter",
            target="$filter",
        )
    status = _BY_NAME.get(match[1].strip().lower())
    if status is None:
        raise BadRequest(
            f"'{match[1][:100]}' is not a quota request status. {_FILTER_USAGE}",
            code="InvalidFilter",
            target="$filter",
        )
    return status
