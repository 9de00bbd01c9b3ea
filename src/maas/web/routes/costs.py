"""Costs (issue 14 item 9): what the endpoints cost, per day, from the Cost Management query
(`maas.billing.costs.query_costs`, the service behind `POST {scope}/providers/Microsoft.
CostManagement/query`), as the signed-in user may query it.

GET /studio/costs?scope=workspace|group|account&from=YYYY-MM-DD&to=YYYY-MM-DD&by=meter|endpoint&page=
    a chart of cost per day stacked by meter or by endpoint (uPlot, `static/costs.js`, from the
    `data-chart` attribute), the same numbers as a table with its total row, the date range
    (default: this month so far, UTC), the scope (the chosen workspace, its resource group or
    its account) and a link to the CSV
GET /studio/costs.csv?<the same query>
    the table's rows as CSV (Date, Meter or Endpoint, Quantity, Cost, Currency)

Money is exact: the query's sums stay `Decimal` (never floats) and are shown with every decimal
they have, so a tiny cost reads $0.0000021, never $0.00.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from maas.billing import costs
from maas.controlplane.domain.resources import Resource
from maas.controlplane.services import resources
from maas.core.errors import MaasError
from maas.core.ids import ENDPOINT_TYPE, key_of, resource_group_id, subscription_id
from maas.protocol.management.costs import QueryDefinition
from maas.web import render
from maas.web.context import Studio, StudioDep, in_words

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 200  # table rows per page (the total row always covers every row)
MAX_DAYS = 366
MAX_SERIES = 8  # the chart's layers; the rest are drawn together as "Other"
SCOPES = {"workspace": "Workspace", "group": "Resource group", "account": "Account"}
ONLY_ENDPOINTS = f"resourceType eq '{ENDPOINT_TYPE}'"
BY = {"meter": ("MeterId", "Meter"), "endpoint": ("EndpointId", "Endpoint")}


class RangeError(ValueError):
    """A date range a person typed that cannot be queried, in words."""


@dataclass(frozen=True)
class CostRow:
    day: date
    group: str  # a meter id, or an endpoint's id (lower case)
    label: str  # what a person reads: the meter id, or the endpoint's name
    detail: str  # the endpoint's workspace, or ""
    quantity: int
    cost: Decimal
    currency: str


@dataclass
class CostReport:
    rows: list[CostRow] = field(default_factory=list)
    totals: dict[str, tuple[int, Decimal]] = field(default_factory=dict)  # currency → (quantity, cost)

    def add(self, row: CostRow) -> None:
        self.rows.append(row)
        quantity, cost = self.totals.get(row.currency, (0, Decimal(0)))
        self.totals[row.currency] = (quantity + row.quantity, cost + row.cost)


@dataclass(frozen=True)
class Query:
    scope: str
    start: date
    end: date
    by: str

    def params(self, **extra: Any) -> dict[str, Any]:
        values = {
            "scope": self.scope,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "by": self.by,
        }
        return values | {k: v for k, v in extra.items() if v}


def today() -> date:
    return datetime.now(UTC).date()


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise RangeError(
            f"The {name} date '{value[:40]}' is not a date: use YYYY-MM-DD, like 2025-03-01."
        ) from None


def parse_query(params: dict[str, str], now: date) -> Query:
    scope = params.get("scope", "workspace")
    if scope not in SCOPES:
        raise RangeError(f"The scope '{scope[:40]}' is not one of: workspace, group, account.")
    by = params.get("by", "meter")
    if by not in BY:
        raise RangeError(f"Costs stack by meter or by endpoint, not '{by[:40]}'.")
    start = _day(params["from"], "From") if params.get("from") else now.replace(day=1)
    end = _day(params["to"], "To") if params.get("to") else now
    if end < start:
        raise RangeError(f"The To date ({end}) is before the From date ({start}).")
    if (end - start).days + 1 > MAX_DAYS:
        raise RangeError(f"Choose at most {MAX_DAYS} days (this range has {(end - start).days + 1}).")
    return Query(scope, start, end, by)


def scope_ids(workspace: Resource) -> dict[str, str]:
    parts = workspace.id.strip("/").split("/")
    return {
        "workspace": workspace.id,
        "group": resource_group_id(parts[1], parts[3]),
        "account": subscription_id(parts[1]),
    }


def definition(query: Query) -> QueryDefinition:
    return QueryDefinition.model_validate(
        {
            "type": "ActualCost",
            "timeframe": "Custom",
            "timePeriod": {"from": f"{query.start}T00:00:00Z", "to": f"{query.end}T23:59:59Z"},
            "dataset": {
                "granularity": "Daily",
                "aggregation": {
                    "totalCost": {"name": "PreTaxCost", "function": "Sum"},
                    "totalQuantity": {"name": "UsageQuantity", "function": "Sum"},
                },
                "grouping": [{"type": "Dimension", "name": BY[query.by][0]}],
            },
        }
    )


def report_of(result: dict[str, Any], by: str, names: dict[str, str] | None = None) -> CostReport:
    """The query's rows ([cost, quantity, group, yyyymmdd, currency]) as a report; `names`: the
    endpoint ids as written (the query answers lower-case keys), for the labels."""
    report = CostReport()
    for money, quantity, group, when, currency in result["properties"]["rows"]:
        text = str(when)
        day = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        label, detail = str(group), ""
        if by == "endpoint":
            parts = (names or {}).get(str(group), str(group)).strip("/").split("/")
            label = parts[-1]
            detail = parts[7] if len(parts) >= 8 else ""
        report.add(CostRow(day, str(group), label, detail, int(quantity), Decimal(money), str(currency)))
    report.rows.sort(key=lambda r: (r.day, r.label, r.group, r.currency))
    return report


def chart_of(report: CostReport, query: Query) -> dict[str, Any]:
    """What `static/costs.js` draws: one value per day of the range for each layer, in the
    currency with the largest total (other currencies are in the table)."""
    if not report.totals:
        return {}
    currency = max(report.totals, key=lambda c: (report.totals[c][1], c))
    by_group: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    labels: dict[str, str] = {}
    for row in report.rows:
        if row.currency == currency:
            by_group[row.group][row.day] += row.cost
            labels[row.group] = row.label
    ranked = sorted(by_group, key=lambda g: (-sum(by_group[g].values()), labels[g]))
    days = [query.start + timedelta(days=n) for n in range((query.end - query.start).days + 1)]
    series = [
        {"label": labels[g], "values": [float(by_group[g][d]) for d in days]} for g in ranked[:MAX_SERIES]
    ]
    rest = ranked[MAX_SERIES:]
    if rest:
        other = [float(sum(by_group[g][d] for g in rest)) for d in days]
        series.append({"label": f"Other ({len(rest)})", "values": other})
    return {
        "currency": currency,
        "by": BY[query.by][1],
        "days": [int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()) for d in days],
        "series": series,
    }


async def _endpoint_names(studio: Studio, scope: str) -> dict[str, str]:
    """The ids of the endpoints in `scope` the user can read, by key (a deleted endpoint's costs
    keep its lower-case id)."""
    parts = scope.strip("/").split("/")
    found = await studio.call(
        resources.list_resources, parts[1], parts[3] if len(parts) > 3 else None, ONLY_ENDPOINTS, None, 1000
    )
    return {key_of(item.id): item.id for item in found.items}


async def _run(studio: Studio, query: Query) -> CostReport:
    scope = scope_ids(studio.need_workspace())[query.scope]
    result = await studio.call(costs.query_costs, scope, definition(query), exact=True)
    names = await _endpoint_names(studio, scope) if query.by == "endpoint" else None
    return report_of(result, query.by, names)


def _scopes(studio: Studio, workspace: Resource) -> list[dict[str, str]]:
    ids = scope_ids(workspace)
    parts = workspace.id.strip("/").split("/")
    names = {"workspace": parts[7], "group": parts[3], "account": parts[1]}
    out = []
    for key, label in SCOPES.items():
        allowed = studio.can(costs.QUERY_ACTION, ids[key])
        out.append(
            {
                "value": key,
                "label": f"{label}: {names[key]}",
                "reason": ""
                if allowed
                else f"You need {costs.QUERY_ACTION} on the {label.lower()} {names[key]}.",
            }
        )
    return out


def _fallback(now: date) -> Query:
    return Query("workspace", now.replace(day=1), now, "meter")


@router.get("/studio/costs")
async def costs_page(studio: StudioDep) -> Response:
    workspace = studio.need_workspace()
    params = dict(studio.request.query_params)
    now = today()
    alert, status = "", 200
    report: CostReport | None = None
    try:
        query = parse_query(params, now)
    except RangeError as problem:
        alert, status = str(problem), 400
        query = _fallback(now)
        shown = {k: params.get(k, "")[:40] for k in ("from", "to")}
    else:
        shown = {"from": query.start.isoformat(), "to": query.end.isoformat()}
        try:
            report = await _run(studio, query)
        except MaasError as error:
            alert, status = in_words(error), error.status
    page_number = params.get("page", "1")
    number = int(page_number) if page_number.isdigit() and 0 < int(page_number) < 100_000 else 1
    rows = report.rows if report else []
    chart = chart_of(report, query) if report else {}
    first = (number - 1) * PAGE_SIZE
    return render.page(
        studio,
        "costs/costs.html",
        nav="costs",
        status=status,
        crumbs=[("Costs", None)],
        query=query,
        shown=shown,
        scopes=_scopes(studio, workspace),
        by_choices={k: v[1] for k, v in BY.items()},
        group_label=BY[query.by][1],
        report=report,
        page_rows=rows[first : first + PAGE_SIZE],
        row_count=len(rows),
        first_row=first + 1,
        previous_url=f"/studio/costs?{urlencode(query.params(page=number - 1))}" if number > 1 else None,
        next_url=f"/studio/costs?{urlencode(query.params(page=number + 1))}"
        if first + PAGE_SIZE < len(rows)
        else None,
        csv_url=f"/studio/costs.csv?{urlencode(query.params())}",
        chart=json.dumps(chart),
        chart_currency=chart.get("currency", ""),
        alert=alert,
    )


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


@router.get("/studio/costs.csv")
async def costs_csv(studio: StudioDep) -> Response:
    workspace = studio.need_workspace()
    try:
        query = parse_query(dict(studio.request.query_params), today())
    except RangeError as problem:
        return render.page(
            studio, "error.html", status=400, title="Cannot download these costs", message=str(problem)
        )
    report = await _run(studio, query)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Date", BY[query.by][1], "Quantity", "Cost", "Currency"])
    for row in report.rows:
        writer.writerow(
            [row.day.isoformat(), _cell(row.group), row.quantity, _amount(row.cost), row.currency]
        )
    name = workspace.id.strip("/").split("/")[{"workspace": 7, "group": 3, "account": 1}[query.scope]]
    filename = f"costs-{name}-{query.start}-{query.end}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
