"""The activity log's domain: who did what, from where, under which correlation id.

A `RequestInfo` is taken from each management request (correlation id, client address, HTTP
method) and rides on the request's `Caller`, so every mutation a service logs and every attempt
the API refuses carries it. Events are kept in the store (`activity_log`) and read back as
`ActivityEvent`s; the subscription and resource group of an event come from its scope, lower-cased,
so a query's `resourceGroupName eq` matches whatever casing a client used.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

# The action that reads the activity log (Azure's). Reader's `*/read` grants it.
READ_ACTION = "Microsoft.Insights/eventtypes/values/read"
# What a sign-in is logged as (the token was presented to the control plane).
SIGN_IN_ACTION = "Microsoft.MaaS/signIn/action"
UNKNOWN_CALLER = "unknown"


class EventLevel(StrEnum):
    INFORMATIONAL = "Informational"
    WARNING = "Warning"
    ERROR = "Error"


def new_correlation_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class RequestInfo:
    """Where a request came from: its correlation id (the client's
    `x-ms-correlation-request-id`, or one made for it), client address and HTTP method."""

    correlation_id: str = field(default_factory=new_correlation_id)
    client_address: str = ""
    method: str = ""


@dataclass(frozen=True)
class Actor:
    """Who an event is about: the principal's id and name, and the request it came in on."""

    principal_id: str
    name: str
    request: RequestInfo


@dataclass(frozen=True)
class ActivityEvent:
    seq: int
    event_id: str
    at: datetime
    principal_id: str
    caller: str
    action: str
    resource_id: str
    subscription: str | None
    resource_group: str | None
    status: str
    sub_status: str | None
    correlation_id: str
    client_address: str
    method: str

    @property
    def level(self) -> EventLevel:
        return EventLevel.ERROR if self.status == "Failed" else EventLevel.INFORMATIONAL


@dataclass(frozen=True)
class EventQuery:
    """What a listing asks for: a time range (both bounds required by then) and equality filters.
    `subscription` and `resource_group` are compared lower-cased."""

    subscription: str
    start: datetime
    end: datetime
    resource_group: str | None = None
    resource_id: str | None = None
    correlation_id: str | None = None
    caller: str | None = None
    # Studio's filters (not in Azure's `$filter`): the status ("Succeeded", "Failed"), and the
    # operation: an action, or the start of one ("Microsoft.Authorization/roleAssignments/"),
    # any case.
    status: str | None = None
    operation: str | None = None


def scope_parts(resource_id: str) -> tuple[str | None, str | None]:
    """The lower-cased subscription and resource group a resource id lies in (None where the
    id has none: the registries, role definitions at `/`, the directory)."""
    parts = resource_id.strip("/").split("/")
    sub = rg = None
    if len(parts) >= 2 and parts[0].lower() == "subscriptions":
        sub = parts[1].lower()
        if len(parts) >= 4 and parts[2].lower() == "resourcegroups":
            rg = parts[3].lower()
    return sub, rg
