"""The rows of quota increase requests (`quota_requests`): insert, read, update, list a scope.

Bound to the caller's open transaction, as `Repository` is; nothing here commits. Listings go
newest first and page by `seq` (the insertion order, which never repeats). The rule of one
pending request per endpoint is a `claims` row the service takes and releases
(`QUOTA_REQUEST_PENDING`), so the database referees concurrent filers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.engine import RowMapping

from maas.controlplane.domain.quota_requests import QuotaRequest, QuotaRequestEvent
from maas.controlplane.domain.resources import Quota
from maas.controlplane.store import tables as t
from maas.core.clock import isoformat
from maas.core.ids import key_of
from maas.protocol.management.quota_requests import QuotaRequestStatus

__all__ = ["QuotaRequestRows", "RequestScope"]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _history(events: tuple[QuotaRequestEvent, ...]) -> list[dict[str, Any]]:
    return [
        {"status": str(e.status), "at": isoformat(e.at), "by": e.by, "message": e.message} for e in events
    ]


def _events(raw: Any) -> tuple[QuotaRequestEvent, ...]:
    return tuple(
        QuotaRequestEvent(
            QuotaRequestStatus(e["status"]),
            _aware(datetime.fromisoformat(str(e["at"]).replace("Z", "+00:00"))),
            str(e["by"]),
            str(e.get("message") or ""),
        )
        for e in raw or []
    )


def _request(row: RowMapping) -> QuotaRequest:
    applied = None
    if row["applied_tokens_per_minute"] is not None:
        applied = Quota(row["applied_tokens_per_minute"], row["applied_requests_per_minute"])
    return QuotaRequest(
        id=row["id"],
        name=row["name"],
        endpoint_id=row["endpoint_id"],
        subscription=row["subscription"],
        resource_group=row["resource_group"],
        workspace=row["workspace"],
        tokens_per_minute=row["tokens_per_minute"],
        requests_per_minute=row["requests_per_minute"],
        previous=Quota(row["previous_tokens_per_minute"], row["previous_requests_per_minute"]),
        reason=row["reason"],
        status=QuotaRequestStatus(row["status"]),
        message=row["message"],
        requested_by=row["requested_by"],
        requested_by_id=row["requested_by_id"],
        submitted_at=_aware(row["submitted_at"]),
        updated_at=_aware(row["updated_at"]),
        applied=applied,
        history=_events(row["history"]),
    )


def _changes(request: QuotaRequest) -> dict[str, Any]:
    """The columns that change with a request's state."""
    return {
        "status": str(request.status),
        "message": request.message,
        "applied_tokens_per_minute": request.applied.tokens_per_minute if request.applied else None,
        "applied_requests_per_minute": request.applied.requests_per_minute if request.applied else None,
        "updated_at": request.updated_at,
        "history": _history(request.history),
    }


@dataclass(frozen=True)
class RequestScope:
    """Where a listing looks: everything (all None), an account, a group, a workspace or one
    endpoint (`endpoint_id`); names as the path gave them (compared lower-cased)."""

    subscription: str | None = None
    resource_group: str | None = None
    workspace: str | None = None
    endpoint_id: str | None = None


class QuotaRequestRows:
    def __init__(self, connection: Connection) -> None:
        self.c = connection

    def add(self, request: QuotaRequest) -> None:
        self.c.execute(
            insert(t.quota_requests).values(
                key=key_of(request.id),
                id=request.id,
                name=request.name,
                endpoint_key=key_of(request.endpoint_id),
                endpoint_id=request.endpoint_id,
                subscription=request.subscription.lower(),
                resource_group=request.resource_group.lower(),
                workspace=request.workspace.lower(),
                tokens_per_minute=request.tokens_per_minute,
                requests_per_minute=request.requests_per_minute,
                previous_tokens_per_minute=request.previous.tokens_per_minute,
                previous_requests_per_minute=request.previous.requests_per_minute,
                reason=request.reason,
                requested_by=request.requested_by,
                requested_by_id=request.requested_by_id,
                submitted_at=request.submitted_at,
                **_changes(request),
            )
        )

    def get(self, request_id: str, *, for_update: bool = False) -> QuotaRequest | None:
        query = select(t.quota_requests).where(t.quota_requests.c.key == key_of(request_id))
        if for_update:
            query = query.with_for_update()
        row = self.c.execute(query).mappings().first()
        return _request(row) if row else None

    def save(self, request: QuotaRequest) -> None:
        """Write a request's new state (status, message, applied limits, history)."""
        self.c.execute(
            update(t.quota_requests)
            .where(t.quota_requests.c.key == key_of(request.id))
            .values(**_changes(request))
        )

    def pending_of(self, endpoint_id: str, *, for_update: bool = False) -> list[QuotaRequest]:
        """The endpoint's pending requests (one at most while the claim rule holds)."""
        table = t.quota_requests
        query = select(table).where(
            table.c.endpoint_key == key_of(endpoint_id), table.c.status == str(QuotaRequestStatus.PENDING)
        )
        if for_update:
            query = query.with_for_update()
        return [_request(row) for row in self.c.execute(query.order_by(table.c.seq)).mappings()]

    def listed(
        self,
        scope: RequestScope,
        status: QuotaRequestStatus | None,
        *,
        before_seq: int | None,
        limit: int,
    ) -> list[tuple[int, QuotaRequest]]:
        """Up to `limit` requests in `scope` (with `status`), newest first, older than `before_seq`;
        each with its `seq`, which the next page resumes below."""
        table = t.quota_requests
        query = select(table)
        if scope.endpoint_id is not None:
            query = query.where(table.c.endpoint_key == key_of(scope.endpoint_id))
        else:
            for column, value in (
                (table.c.subscription, scope.subscription),
                (table.c.resource_group, scope.resource_group),
                (table.c.workspace, scope.workspace),
            ):
                if value is not None:
                    query = query.where(column == value.lower())
        if status is not None:
            query = query.where(table.c.status == str(status))
        if before_seq is not None:
            query = query.where(table.c.seq < before_seq)
        rows = self.c.execute(query.order_by(table.c.seq.desc()).limit(limit)).mappings()
        return [(row["seq"], _request(row)) for row in rows]
