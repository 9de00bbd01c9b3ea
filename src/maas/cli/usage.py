"""`maas usage show`: what an account, resource group, workspace or endpoint used and cost.

A thin layer over the SDK's `CostManagementClient`: the options become a QueryDefinition (cost
and quantity summed, grouped by up to two dimensions, optionally per day, month or hour), the
scope is the most specific of --subscription, --resource-group, --workspace and --endpoint, and
the answer is printed as a table with a total line, as CSV (header and rows) or as JSON. Errors
are one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from maas.cli.connection import Connection, connected
from maas.cli.options import QueryOpt, SubOpt
from maas.cli.output import emit
from maas.sdk import QueryResult

usage_app = typer.Typer(help="Usage and costs (Cost Management queries).", no_args_is_help=True)

Timeframe = Literal[
    "MonthToDate", "BillingMonthToDate", "TheLastMonth", "TheLastBillingMonth", "WeekToDate", "Custom"
]
COST, QUANTITY = "PreTaxCost", "UsageQuantity"
WS = "providers/Microsoft.MachineLearningServices/workspaces"


def scope_of(subscription: str | None, group: str | None, workspace: str | None, endpoint: str | None) -> str:
    """The most specific scope the options name; an endpoint may also be given by its full id."""
    if endpoint is not None and endpoint.startswith("/"):
        return endpoint
    if not subscription:
        raise typer.BadParameter("give --subscription (or set MAAS_SUBSCRIPTION, or `maas account set`)")
    if workspace is not None and group is None:
        raise typer.BadParameter("--workspace needs --resource-group")
    if endpoint is not None and workspace is None:
        raise typer.BadParameter("--endpoint needs --workspace (or give the endpoint's full id)")
    scope = f"/subscriptions/{subscription}"
    if group is not None:
        scope += f"/resourceGroups/{group}"
    if workspace is not None:
        scope += f"/{WS}/{workspace}"
    if endpoint is not None:
        scope += f"/serverlessEndpoints/{endpoint}"
    return scope


def moment(text: str, *, end: bool) -> str:
    """A date (the start of that day, or its last second for --to) or an ISO datetime, in UTC."""
    try:
        if len(text) == 10:
            when = datetime.combine(date.fromisoformat(text), time(23, 59, 59) if end else time(0), UTC)
        else:
            when = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not a date (2025-05-31) or an ISO datetime") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def definition(
    timeframe: str | None,
    start: str | None,
    end: str | None,
    granularity: str,
    group_by: Sequence[str],
    meters: Sequence[str],
) -> dict[str, Any]:
    """The QueryDefinition the options ask for."""
    groups = [g for g in group_by if g.lower() != "none"]
    if len(group_by) > 2:
        raise typer.BadParameter("--group-by may be given at most twice")
    dataset: dict[str, Any] = {
        "aggregation": {
            "totalCost": {"name": COST, "function": "Sum"},
            "totalQuantity": {"name": QUANTITY, "function": "Sum"},
        },
        "grouping": [{"type": "Dimension", "name": g} for g in groups],
    }
    if granularity != "None":
        dataset["granularity"] = granularity
    if meters:
        dataset["filter"] = {"dimensions": {"name": "MeterId", "operator": "In", "values": list(meters)}}
    body: dict[str, Any] = {"type": "Usage", "timeframe": timeframe or "MonthToDate", "dataset": dataset}
    if start is None and end is None:
        if timeframe == "Custom":
            raise typer.BadParameter("--timeframe Custom needs --from (and optionally --to)")
        return body
    if timeframe not in (None, "Custom"):
        raise typer.BadParameter("--from/--to choose a Custom timeframe; leave out --timeframe")
    if start is None:
        raise typer.BadParameter("--to needs --from")
    to = moment(end, end=True) if end is not None else datetime.now(UTC).isoformat().replace("+00:00", "Z")
    body["timeframe"] = "Custom"
    body["timePeriod"] = {"from": moment(start, end=False), "to": to}
    return body


def text_of(value: Any) -> str:
    """A cell: floats as plain decimals (0.0000003, never 3e-07), everything else as text."""
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return "" if value is None else str(value)


def totals(result: QueryResult) -> dict[str, dict[int, Decimal]]:
    """Per currency, the sum of each Number column (by position), added as exact decimals."""
    names = [c.name for c in result.columns]
    currency_at = names.index("Currency") if "Currency" in names else None
    numbers = [i for i, c in enumerate(result.columns) if c.type == "Number" and c.name != "UsageDate"]
    out: dict[str, dict[int, Decimal]] = {}
    for row in result.rows:
        currency = str(row[currency_at]) if currency_at is not None else ""
        sums = out.setdefault(currency, dict.fromkeys(numbers, Decimal(0)))
        for i in numbers:
            sums[i] += Decimal(repr(row[i])) if isinstance(row[i], float) else Decimal(row[i])
    return out


def render_table(result: QueryResult) -> None:
    console = Console(soft_wrap=False, highlight=False)
    if not result.rows:
        console.print("No usage in this period.")
        return
    table = Table()
    numbers = {i for i, c in enumerate(result.columns) if c.type == "Number" and c.name != "UsageDate"}
    for i, column in enumerate(result.columns):
        table.add_column(column.name, justify="right" if i in numbers else "left", overflow="fold")
    for row in result.rows:
        table.add_row(*(text_of(v) for v in row))
    table.add_section()
    labels = [i for i, c in enumerate(result.columns) if i not in numbers and c.name != "Currency"]
    for currency, sums in totals(result).items():
        cells = [""] * len(result.columns)
        for i, total in sums.items():
            cells[i] = format(total, "f")
        if labels:
            cells[labels[0]] = "Total"
        for i, column in enumerate(result.columns):
            if column.name == "Currency":
                cells[i] = currency
        table.add_row(*cells, style="bold")
    console.print(table)


def render_csv(result: QueryResult) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.name for c in result.columns])
    writer.writerows([text_of(v) for v in row] for row in result.rows)
    typer.echo(buffer.getvalue(), nl=False)


@usage_app.command("show")
@connected
def show(
    connection: Connection,
    subscription: SubOpt = None,
    resource_group: Annotated[
        str | None, typer.Option("--resource-group", "-g", help="Resource group.")
    ] = None,
    workspace: Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace (project).")] = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Serverless endpoint name (with -w), or its full id.")
    ] = None,
    meter: Annotated[list[str] | None, typer.Option("--meter", help="Only this meter (repeat).")] = None,
    timeframe: Annotated[
        Timeframe | None, typer.Option("--timeframe", help="Period (default MonthToDate).")
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="Start: a date or ISO datetime (UTC).")] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="End: a date (whole day included) or ISO datetime.")
    ] = None,
    granularity: Annotated[
        Literal["None", "Daily", "Monthly", "Hourly"], typer.Option("--granularity", help="Time buckets.")
    ] = "None",
    group_by: Annotated[
        list[str] | None,
        typer.Option("--group-by", help="Dimension to group by (repeat, at most 2; default MeterId)."),
    ] = None,
    output: Annotated[
        Literal["table", "csv", "json", "yaml", "tsv"], typer.Option("-o", "--output", help="Output format.")
    ] = "table",
    query: QueryOpt = None,
) -> None:
    """Cost and usage at a scope, grouped by dimensions (MeterId, ResourceId, ResourceGroupName,
    SubscriptionId, ResourceType, Workspace, EndpointId, ModelId)."""
    subscription = subscription or connection.profile.subscription  # `maas account set`
    scope = scope_of(subscription, resource_group, workspace, endpoint)
    body = definition(timeframe, start, end, granularity, group_by or ["MeterId"], meter or [])
    result = connection.costs().query.usage(scope, body)
    if output in ("json", "yaml", "tsv") or query:
        emit(result.as_dict(), "json" if output in ("table", "csv") else output, query)
    elif output == "csv":
        render_csv(result)
    else:
        render_table(result)
