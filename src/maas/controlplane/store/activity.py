"""The activity log's rows: one append per event, the listing's query and the retention prune.

Events are written in the caller's transaction, so a mutation and its event commit or roll back
together; a refused attempt is written in a transaction of its own (nothing else happened).
Listings go newest first and page by `seq`, the insertion order, which never repeats.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.engine import RowMapping

from maas.controlplane.domain.activity import ActivityEvent, Actor, EventQuery, scope_parts
from maas.controlplane.store import tables as t
from maas.core.clock import utcnow

__all__ = ["ActivityLog"]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _event(row: RowMapping) -> ActivityEvent:
    return ActivityEvent(
        seq=row["seq"],
        event_id=row["event_id"],
        at=_aware(row["at"]),
        principal_id=row["principal_id"],
        caller=row["caller"],
        action=row["action"],
        resource_id=row["resource_id"],
        subscription=row["subscription"],
        resource_group=row["resource_group"],
        status=row["status"],
        sub_status=row["sub_status"],
        correlation_id=row["correlation_id"],
        client_address=row["client_address"],
        method=row["http_method"],
    )


class ActivityLog:
    def __init__(self, connection: Connection) -> None:
        self.c = connection

    def append(
        self, actor: Actor, action: str, resource_id: str, status: str, sub_status: str | None = None
    ) -> None:
        sub, rg = scope_parts(resource_id)
        self.c.execute(
            insert(t.activity_log).values(
                at=utcnow(),
                event_id=str(uuid.uuid4()),
                principal_id=actor.principal_id[:64],
                caller=actor.name[:256],
                action=action[:256],
                resource_id=resource_id,
                subscription=sub[:64] if sub else None,
                resource_group=rg[:90] if rg else None,
                status=status,
                sub_status=sub_status,
                correlation_id=actor.request.correlation_id[:64],
                client_address=actor.request.client_address[:64],
                http_method=actor.request.method[:16],
            )
        )

    def events(self, query: EventQuery, *, before_seq: int | None, limit: int) -> list[ActivityEvent]:
        """Up to `limit` events matching `query`, newest first, older than `before_seq`."""
        log = t.activity_log.c
        statement = select(t.activity_log).where(
            log.subscription == query.subscription.lower(),
            log.at >= query.start,
            log.at <= query.end,
        )
        if query.resource_group is not None:
            statement = statement.where(log.resource_group == query.resource_group.lower())
        if query.resource_id is not None:
            statement = statement.where(log.resource_id == query.resource_id)
        if query.correlation_id is not None:
            statement = statement.where(log.correlation_id == query.correlation_id)
        if query.caller is not None:
            statement = statement.where(log.caller == query.caller)
        if query.status is not None:
            statement = statement.where(func.lower(log.status) == query.status.lower())
        if query.operation is not None:
            wanted = query.operation.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            statement = statement.where(func.lower(log.action).like(wanted + "%", escape="\\"))
        if before_seq is not None:
            statement = statement.where(log.seq < before_seq)
        rows = self.c.execute(statement.order_by(log.seq.desc()).limit(limit)).mappings()
        return [_event(row) for row in rows]

    def prune(self, older_than: datetime) -> int:
        """Delete the events before `older_than`; returns how many went."""
        result = self.c.execute(delete(t.activity_log).where(t.activity_log.c.at < older_than))
        return result.rowcount or 0
