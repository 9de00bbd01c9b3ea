"""`maas monitor activity-log list` (`az monitor activity-log list`): the activity log's events.

The options become the listing's `$filter` as az builds it: a time window (`--start-time`,
`--end-time`, `--offset`; az's rules: with neither bound the window is the `--offset` up to now,
with one bound `--offset` gives the other), and equality on `--resource-group`, `--resource-id`,
`--correlation-id` and `--caller`. Events come newest first, at most `--max-events` of them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import typer

from maas.cli.connection import Connection, connected
from maas.cli.options import SubOpt
from maas.cli.output import printed

monitor_app = typer.Typer(help="Monitoring: the activity log (as `az monitor`).", no_args_is_help=True)
activity_log_app = typer.Typer(
    help="The activity log: who changed or tried what, when.", no_args_is_help=True
)
monitor_app.add_typer(activity_log_app, name="activity-log")

VALUES = "/providers/Microsoft.Insights/eventtypes/management/values"
API_VERSION = "2015-04-01"
_OFFSET = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def offset(text: str) -> timedelta:
    """az's offset: days, hours and minutes, e.g. `1d`, `6h`, `2d12h`, `30m`."""
    match = _OFFSET.match(text.strip().lower())
    if match is None or not any(match.groups()):
        raise typer.BadParameter(f"'{text}' is not an offset such as 6h, 1d or 2d12h", param_hint="--offset")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def moment(text: str, option: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not an ISO 8601 time", param_hint=option) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def window(start: str | None, end: str | None, span: str, now: datetime) -> tuple[datetime, datetime]:
    width = offset(span)
    low = moment(start, "--start-time") if start else None
    high = moment(end, "--end-time") if end else None
    if low is None and high is None:
        return now - width, now
    if low is None:
        assert high is not None
        return high - width, high
    return low, high if high is not None else low + width


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _z(when: datetime) -> str:
    # Microseconds kept: an end of "now" cut to the second would miss what happened this second.
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_filter(low: datetime, high: datetime, equal: dict[str, str | None]) -> str:
    clauses = [f"eventTimestamp ge '{_z(low)}'", f"eventTimestamp le '{_z(high)}'"]
    clauses += [f"{field} eq {_quoted(value)}" for field, value in equal.items() if value is not None]
    return " and ".join(clauses)


@activity_log_app.command("list")
@connected
@printed
def list_events(
    connection: Connection,
    subscription: SubOpt = None,
    resource_group: Annotated[
        str | None, typer.Option("--resource-group", "-g", help="Only events in this resource group.")
    ] = None,
    resource_id: Annotated[
        str | None, typer.Option("--resource-id", help="Only events of this resource.")
    ] = None,
    correlation_id: Annotated[
        str | None, typer.Option("--correlation-id", help="Only events of this correlation id.")
    ] = None,
    caller: Annotated[str | None, typer.Option("--caller", help="Only events this caller caused.")] = None,
    start_time: Annotated[
        str | None, typer.Option("--start-time", help="Start of the window (ISO 8601; UTC unless it says).")
    ] = None,
    end_time: Annotated[str | None, typer.Option("--end-time", help="End of the window (ISO 8601).")] = None,
    span: Annotated[
        str, typer.Option("--offset", help="The window's length when a bound is missing: 6h, 1d, 2d12h…")
    ] = "6h",
    max_events: Annotated[int, typer.Option("--max-events", min=1, help="At most this many events.")] = 50,
) -> Any:
    """Activity-log events of a subscription, newest first (az monitor activity-log list)."""
    sub = subscription or connection.profile.subscription
    if not sub:
        raise typer.BadParameter("give --subscription (or set MAAS_SUBSCRIPTION, or `maas account set`)")
    low, high = window(start_time, end_time, span, datetime.now(UTC))
    text = event_filter(
        low,
        high,
        {
            "resourceGroupName": resource_group,
            "resourceUri": resource_id,
            "correlationId": correlation_id,
            "caller": caller,
        },
    )
    path = f"/subscriptions/{sub}{VALUES}?{urlencode({'api-version': API_VERSION, '$filter': text})}"
    events: list[dict[str, Any]] = []
    for event in connection.arm().list(path):
        events.append(event)
        if len(events) >= max_events:
            break
    return events
