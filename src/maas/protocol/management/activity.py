"""The activity log listing's `$filter`, parsed as strictly as Azure Monitor parses it.

Azure accepts a conjunction of `eventTimestamp ge '…'` (required), `eventTimestamp le '…'`
(defaults to now) and equality on `resourceGroupName`, `resourceUri`, `correlationId` or
`caller`; values are single-quoted ('' is a quote inside one). The range may span at most
`MAX_RANGE` (90 days), as Azure's does. Anything else is a 400 that says what is accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from maas.core.errors import BadRequest

__all__ = ["MAX_RANGE", "ActivityFilter", "parse_filter"]

MAX_RANGE = timedelta(days=90)
_FIELDS = {"resourcegroupname", "resourceuri", "correlationid", "caller"}
_CLAUSE = re.compile(r"\s*(\w+)\s+(eq|ge|le)\s+'((?:[^']|'')*)'\s*", re.IGNORECASE)
_AND = re.compile(r"and\s+", re.IGNORECASE)
_FRACTION = re.compile(r"(\.\d{6})\d+")
_USAGE = (
    "Use $filter=eventTimestamp ge '<start>' [and eventTimestamp le '<end>'] [and resourceGroupName "
    "eq '<name>'] [and resourceUri eq '<id>'] [and correlationId eq '<id>'] [and caller eq '<name>']."
)


@dataclass(frozen=True)
class ActivityFilter:
    start: datetime
    end: datetime
    resource_group: str | None = None
    resource_uri: str | None = None
    correlation_id: str | None = None
    caller: str | None = None


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(_FRACTION.sub(r"\1", text.strip()))
    except ValueError:
        raise BadRequest(
            f"The time '{text}' in $filter is not an ISO 8601 timestamp.", target="$filter"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _split(text: str) -> list[tuple[str, str, str]]:
    clauses: list[tuple[str, str, str]] = []
    position = 0
    while True:
        match = _CLAUSE.match(text, position)
        if match is None:
            raise BadRequest(f"The $filter '{text}' is not supported. {_USAGE}", target="$filter")
        clauses.append((match[1].lower(), match[2].lower(), match[3].replace("''", "'")))
        position = match.end()
        if position == len(text):
            return clauses
        joiner = _AND.match(text, position)
        if joiner is None:
            raise BadRequest(f"The $filter '{text}' is not supported. {_USAGE}", target="$filter")
        position = joiner.end()


def parse_filter(text: str | None, now: datetime) -> ActivityFilter:
    if not text or not text.strip():
        raise BadRequest(f"The $filter query parameter is required. {_USAGE}", target="$filter")
    start = end = None
    equal: dict[str, str] = {}
    for field, op, value in _split(text.strip()):
        if field == "eventtimestamp" and op in ("ge", "le"):
            if (start if op == "ge" else end) is not None:
                raise BadRequest(f"eventTimestamp {op} appears twice in $filter.", target="$filter")
            if op == "ge":
                start = _timestamp(value)
            else:
                end = _timestamp(value)
        elif field in _FIELDS and op == "eq" and field not in equal:
            equal[field] = value
        else:
            raise BadRequest(
                f"The $filter clause '{field} {op}' is not supported. {_USAGE}", target="$filter"
            )
    if start is None:
        raise BadRequest(
            f"The $filter must give a start time with eventTimestamp ge '<start>'. {_USAGE}", target="$filter"
        )
    end = end or now
    if end < start:
        raise BadRequest("The $filter's end time is before its start time.", target="$filter")
    if end - start > MAX_RANGE:
        raise BadRequest(
            f"The $filter's time range is longer than {MAX_RANGE.days} days; query a shorter one.",
            target="$filter",
        )
    return ActivityFilter(
        start,
        end,
        resource_group=equal.get("resourcegroupname"),
        resource_uri=equal.get("resourceuri"),
        correlation_id=equal.get("correlationid"),
        caller=equal.get("caller"),
    )
