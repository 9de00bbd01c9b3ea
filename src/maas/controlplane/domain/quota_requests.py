"""A quota increase request and its history: the domain's view, no I/O.

A request asks for one deployment's limits to be raised (tokens and/or requests per minute) and
says why. It is Pending until an operator approves it (the limits are applied to the endpoint in
the same transaction) or denies it, or the requester cancels it; deleting the endpoint cancels
it too. Each change of state is one `QuotaRequestEvent` (who, when, the message), kept in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from maas.controlplane.domain.resources import Quota
from maas.protocol.management.quota_requests import QuotaRequestStatus

__all__ = ["QuotaRequest", "QuotaRequestEvent"]


@dataclass(frozen=True)
class QuotaRequestEvent:
    status: QuotaRequestStatus
    at: datetime
    by: str  # the principal's name
    message: str


@dataclass(frozen=True)
class QuotaRequest:
    id: str  # {endpoint id}/providers/Microsoft.MaaS/quotaRequests/{name}
    name: str
    endpoint_id: str
    subscription: str
    resource_group: str
    workspace: str
    tokens_per_minute: int | None  # asked for; None: unchanged
    requests_per_minute: int | None
    previous: Quota  # the limits in force when it was filed
    reason: str
    status: QuotaRequestStatus
    message: str  # the decision's (or the cancellation's) message
    requested_by: str
    requested_by_id: str
    submitted_at: datetime
    updated_at: datetime
    applied: Quota | None = None  # the limits approval put in force
    history: tuple[QuotaRequestEvent, ...] = field(default_factory=tuple)

    @property
    def pending(self) -> bool:
        return self.status is QuotaRequestStatus.PENDING

    def same_ask(self, tokens: int | None, requests: int | None, reason: str) -> bool:
        """Whether a PUT repeats what this request asks (an idempotent retry)."""
        return (self.tokens_per_minute, self.requests_per_minute, self.reason) == (tokens, requests, reason)

    def granted(self, current: Quota) -> Quota:
        """The limits approving it puts in force: what it asks, never below what is in force now
        (an operator may have raised a limit meanwhile; approving an increase lowers nothing)."""
        tokens = max(self.tokens_per_minute or 0, current.tokens_per_minute)
        requests = max(self.requests_per_minute or 0, current.requests_per_minute)
        return Quota(tokens, requests)

    def moved(
        self,
        status: QuotaRequestStatus,
        at: datetime,
        by: str,
        message: str,
        applied: Quota | None = None,
    ) -> QuotaRequest:
        """This request in `status`, with the change appended to its history."""
        event = QuotaRequestEvent(status, at, by, message)
        return replace(
            self,
            status=status,
            message=message,
            updated_at=at,
            applied=applied if applied is not None else self.applied,
            history=(*self.history, event),
        )
