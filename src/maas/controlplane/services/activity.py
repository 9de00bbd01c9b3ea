"""The activity log: recording what the API refused, listing events, pruning old ones.

Mutations are logged by the service that makes them (`Repository.log_activity(caller.actor, …)`,
in its own transaction). What never reaches a service is logged here, in a transaction of its
own, by the edge that renders the refusal: an attempt `Caller.require` denied (status `Failed`,
sub-status `Forbidden`) and a bearer token that signed in to nothing (caller `unknown`, status
`Failed`, sub-status `Unauthorized`). `record_sign_in` is also what a token endpoint calls.

Listing needs `Microsoft.Insights/eventtypes/values/read` at the subscription, or at the
resource group when the query names one; events are the subscription's only. Pruning deletes
events older than `MAAS_ACTIVITY_RETENTION_DAYS`; the reconciler's loop calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from maas.controlplane.domain.activity import (
    READ_ACTION,
    SIGN_IN_ACTION,
    UNKNOWN_CALLER,
    ActivityEvent,
    Actor,
    EventQuery,
    RequestInfo,
)
from maas.controlplane.services.context import Caller, Services
from maas.controlplane.store.activity import ActivityLog
from maas.controlplane.store.directory import DirectoryRepository
from maas.core.clock import utcnow
from maas.core.ids import resource_group_id, subscription_id

__all__ = ["EventPage", "list_events", "prune", "record_denied", "record_sign_in"]


@dataclass(frozen=True)
class EventPage:
    """One page of events, newest first; `next_token` is the `seq` the next page goes below.
    `tenant` is the installation's tenant id, which every event names."""

    items: list[ActivityEvent]
    tenant: str
    next_token: int | None = None


def record_denied(services: Services, actor: Actor, action: str, scope: str) -> None:
    with services.db.write() as connection:
        ActivityLog(connection).append(actor, action, scope, "Failed", "Forbidden")


def record_sign_in(
    services: Services,
    request: RequestInfo,
    scope: str,
    *,
    succeeded: bool,
    principal_id: str = "",
    name: str = UNKNOWN_CALLER,
) -> None:
    """A sign-in: `scope` is what it was for (the request path's subscription, or `/`)."""
    actor = Actor(principal_id or UNKNOWN_CALLER, name, request)
    status, sub_status = ("Succeeded", None) if succeeded else ("Failed", "Unauthorized")
    with services.db.write() as connection:
        ActivityLog(connection).append(actor, SIGN_IN_ACTION, scope, status, sub_status)


def list_events(
    services: Services, caller: Caller, query: EventQuery, before: int | None, limit: int
) -> EventPage:
    scope = (
        resource_group_id(query.subscription, query.resource_group)
        if query.resource_group is not None
        else subscription_id(query.subscription)
    )
    caller.require(READ_ACTION, scope)
    with services.db.read() as connection:
        found = ActivityLog(connection).events(query, before_seq=before, limit=limit + 1)
        tenant = DirectoryRepository(connection).tenant_id() or ""
    more = len(found) > limit
    found = found[:limit]
    return EventPage(found, tenant, found[-1].seq if more else None)


def prune(services: Services, now: datetime | None = None) -> int:
    """Delete the events older than the retention; returns how many went."""
    cutoff = (now or utcnow()) - timedelta(days=services.settings.activity_retention_days)
    with services.db.write() as connection:
        return ActivityLog(connection).prune(cutoff)
