"""Cost queries: Azure's Cost Management `query` answered from the hourly running totals.

`query_costs` reads only `usage_totals` (one row per billed resource × endpoint × meter × unit
price × hour, kept by the ledger in the same transaction as the records it sums), never the raw
usage records, so a month's answer costs as many rows as that month has (endpoint, meter, price,
hour) combinations — not as many as it had requests.

How a query runs:

1. The scope (an account, resource group, workspace, serverless endpoint or SaaS resource) becomes
   equality conditions on `subscription` and `resource_group` plus an hour range, which is what
   the `ix_usage_totals_scope` index (subscription, resource_group, hour) serves; a workspace,
   endpoint or SaaS resource adds a condition on the rows that index finds.
2. SQL sums quantities grouped by the requested dimensions, the time bucket (day or hour), the
   unit price and the currency. Prices stay decimal text in SQL, so no float touches a price.
3. Python turns each (quantity, price) into a `Decimal` cost (`meters.cost`), adds up the rows
   that share a group, time bucket (a month is made of its days here) and currency, and only
   then emits floats.

Times are UTC. `usage_totals.hour` is whole hours since the Unix epoch; a day is 24 of them.
Values are matched case-insensitively: the store keeps subscription, resource group and
workspace names as lower-case keys (as it does for resources), and ids are compared lower-cased.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select

from maas.billing.meters import cost
from maas.controlplane.services.context import Caller, Services
from maas.controlplane.store import tables as t
from maas.core.clock import utcnow
from maas.core.errors import BadRequest
from maas.core.ids import ENDPOINT_TYPE, SAAS_TYPE, key_of
from maas.protocol.management.costs import QueryDefinition, QueryFilter, QueryTimePeriod

QUERY_ACTION = "Microsoft.CostManagement/query/read"
RESULT_TYPE = "microsoft.costmanagement/Query"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
_T = t.usage_totals

_SCOPE = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)(?:/resourceGroups/(?P<rg>[^/]+)(?:/providers/(?:"
    r"Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)(?:/serverlessEndpoints/(?P<ep>[^/]+))?"
    r"|Microsoft\.SaaS/resources/(?P<saas>[^/]+)))?)?",
    re.IGNORECASE,
)


# -- scope ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CostScope:
    id: str
    subscription: str
    resource_group: str | None = None
    workspace: str | None = None
    endpoint_key: str | None = None
    billed_key: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        out = [_T.c.subscription == self.subscription.lower()]
        if self.resource_group is not None:
            out.append(_T.c.resource_group == self.resource_group.lower())
        if self.workspace is not None:
            out.append(func.lower(_T.c.workspace) == self.workspace.lower())
        if self.endpoint_key is not None:
            out.append(_T.c.endpoint_key == self.endpoint_key)
        if self.billed_key is not None:
            out.append(func.lower(_T.c.billed_resource_id) == self.billed_key)
        return out


def parse_scope(scope: str) -> CostScope:
    """The usage a scope covers; anything but the five shapes below is a 400."""
    text = "/" + scope.strip("/")
    match = _SCOPE.fullmatch(text)
    if match is None:
        raise BadRequest(
            f"The scope '{text}' cannot be queried for costs. Use an account (/subscriptions/{{sub}}), "
            "a resource group (…/resourceGroups/{rg}), a workspace (…/providers/Microsoft."
            "MachineLearningServices/workspaces/{ws}), a serverless endpoint (…/workspaces/{ws}/"
            "serverlessEndpoints/{name}) or a SaaS resource (…/providers/Microsoft.SaaS/resources/{name}).",
            target="scope",
        )
    return CostScope(
        id=text,
        subscription=match["sub"],
        resource_group=match["rg"],
        workspace=match["ws"],
        endpoint_key=key_of(text) if match["ep"] else None,
        billed_key=key_of(text) if match["saas"] else None,
    )


# -- dimensions -------------------------------------------------------------------------------
_BILLED = func.lower(_T.c.billed_resource_id)
_SAAS = _BILLED.like(f"%/providers/{SAAS_TYPE.lower()}/%")


def resource_type(billed_key: str) -> str:
    return SAAS_TYPE if f"/providers/{SAAS_TYPE.lower()}/" in billed_key.lower() else ENDPOINT_TYPE


def _type_match(values: Sequence[str]) -> ColumnElement[bool]:
    wanted = {v.lower() for v in values}
    clauses = [c for kind, c in ((SAAS_TYPE, _SAAS), (ENDPOINT_TYPE, ~_SAAS)) if kind.lower() in wanted]
    return or_(*clauses) if clauses else false()


@dataclass(frozen=True)
class Dimension:
    name: str  # its canonical name
    column: ColumnElement[Any]  # what SQL groups by (ids lower-cased: one resource, one group)
    key: ColumnElement[Any] | None = None  # what filters compare, lower-cased (default: column)
    match: Callable[[Sequence[str]], ColumnElement[bool]] | None = None  # instead of key IN values
    show: Callable[[str], str] = str

    def matches(self, values: Sequence[str]) -> ColumnElement[bool]:
        if self.match is not None:
            return self.match(values)
        key = self.key if self.key is not None else self.column
        return key.in_(sorted({key_of(v) for v in values}))


_DIMENSION_LIST = (
    Dimension("ResourceId", _BILLED),
    Dimension("ResourceGroupName", _T.c.resource_group),
    Dimension("SubscriptionId", _T.c.subscription),
    Dimension("ResourceType", _BILLED, match=_type_match, show=resource_type),
    Dimension("MeterId", _T.c.meter_id, func.lower(_T.c.meter_id)),
    Dimension("Workspace", func.lower(_T.c.workspace)),
    Dimension("EndpointId", _T.c.endpoint_key),
    Dimension("ModelId", _T.c.model_id, func.lower(_T.c.model_id)),
)
_DIMENSIONS = {d.name.lower(): d for d in _DIMENSION_LIST}
# Every accepted spelling (case-insensitive) → (the column name answers use, the dimension).
_SPELLINGS = {
    **{d.name.lower(): (d.name, d) for d in _DIMENSION_LIST},
    "resourcegroup": ("ResourceGroup", _DIMENSIONS["resourcegroupname"]),
    "meter": ("Meter", _DIMENSIONS["meterid"]),
    "endpoint": ("Endpoint", _DIMENSIONS["endpointid"]),
    "model": ("Model", _DIMENSIONS["modelid"]),
}
DIMENSION_NAMES = tuple(d.name for d in _DIMENSION_LIST)


def dimension(name: str, target: str) -> tuple[str, Dimension]:
    found = _SPELLINGS.get(name.lower())
    if found is None:
        raise BadRequest(
            f"The dimension '{name}' is not supported. Use one of: {', '.join(DIMENSION_NAMES)} "
            "(also ResourceGroup, Meter, Endpoint and Model).",
            target=target,
        )
    return found


# -- measures, time ---------------------------------------------------------------------------
_MEASURES = {
    "pretaxcost": ("PreTaxCost", "cost"),
    "cost": ("Cost", "cost"),
    "costusd": ("CostUSD", "cost"),
    "usagequantity": ("UsageQuantity", "quantity"),
}
_TIME_COLUMNS = {"Daily": ("UsageDate", "Number"), "Monthly": ("BillingMonth", "Datetime")}
_TIME_COLUMNS["Hourly"] = ("UsageHour", "Datetime")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def hour_of(moment: datetime) -> int:
    """Whole hours since the epoch of the hour holding `moment` (naive times are UTC)."""
    return (_aware(moment) - EPOCH) // HOUR


def hour_range(timeframe: str, period: QueryTimePeriod | None, now: datetime) -> tuple[int, int]:
    """The first and last hour (both included) a timeframe selects at the time `now`. A custom
    period selects every hour that overlaps [from, to]."""
    if timeframe != "Custom" and period is not None:
        raise BadRequest(
            f"'timePeriod' is only used with the timeframe 'Custom', not '{timeframe}'.", target="timePeriod"
        )
    now = _aware(now).astimezone(UTC)
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if timeframe in ("MonthToDate", "BillingMonthToDate"):  # a billing month is a calendar month
        return hour_of(month), hour_of(now)
    if timeframe in ("TheLastMonth", "TheLastBillingMonth"):
        previous = (month - timedelta(days=1)).replace(day=1)
        return hour_of(previous), hour_of(month) - 1
    if timeframe == "WeekToDate":  # weeks start on Monday (ISO 8601)
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return hour_of(today - timedelta(days=today.weekday())), hour_of(now)
    if timeframe != "Custom":
        raise BadRequest(f"The timeframe '{timeframe}' is not supported.", target="timeframe")
    if period is None:
        raise BadRequest(
            "The timeframe 'Custom' needs a 'timePeriod' with 'from' and 'to'.", target="timePeriod"
        )
    if _aware(period.to) < _aware(period.from_):
        raise BadRequest("'timePeriod.to' is before 'timePeriod.from'.", target="timePeriod.to")
    return hour_of(period.from_), hour_of(period.to)


# -- the query --------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class QueryPlan:
    """A validated query: what to select, group and sum, and which columns answer it."""

    first_hour: int
    last_hour: int
    measures: tuple[tuple[str, str], ...]  # (column name, "cost" | "quantity"), in request order
    groups: tuple[tuple[str, Dimension], ...] = ()  # (column name, dimension)
    granularity: str | None = None
    where: ColumnElement[bool] | None = field(default=None)


def plan_query(body: QueryDefinition, now: datetime) -> QueryPlan:
    first, last = hour_range(body.timeframe, body.time_period, now)
    dataset = body.dataset
    measures: list[tuple[str, str]] = []
    for alias, aggregation in dataset.aggregation.items():
        measure = _MEASURES.get(aggregation.name.lower())
        if measure is None:
            raise BadRequest(
                f"Cannot aggregate '{aggregation.name}'; use PreTaxCost, Cost, CostUSD or UsageQuantity.",
                target=f"dataset.aggregation.{alias}.name",
            )
        measures.append(measure)
    groups: list[tuple[str, Dimension]] = []
    for i, grouping in enumerate(dataset.grouping):
        target = f"dataset.grouping[{i}]"
        if grouping.type != "Dimension":
            raise BadRequest(
                "Grouping by tag is not supported (usage is not recorded by tag); group by a Dimension.",
                target=f"{target}.type",
            )
        shown, found = dimension(grouping.name, f"{target}.name")
        if any(other is found for _, other in groups):
            raise BadRequest(f"'{grouping.name}' is grouped by twice.", target=f"{target}.name")
        groups.append((shown, found))
    where = _filter(dataset.filter, "dataset.filter") if dataset.filter is not None else None
    return QueryPlan(
        first, last, tuple(measures) or (_MEASURES["pretaxcost"],), tuple(groups), dataset.granularity, where
    )


def _filter(node: QueryFilter, target: str) -> ColumnElement[bool]:
    if node.and_ is not None:
        return and_(*(_filter(child, f"{target}.and[{i}]") for i, child in enumerate(node.and_)))
    if node.or_ is not None:
        return or_(*(_filter(child, f"{target}.or[{i}]") for i, child in enumerate(node.or_)))
    if node.dimensions is None:
        raise BadRequest(
            "Filtering by tag is not supported (usage is not recorded by tag).", target=f"{target}.tags"
        )
    _, found = dimension(node.dimensions.name, f"{target}.dimensions.name")
    return found.matches(node.dimensions.values)


def columns(plan: QueryPlan) -> list[dict[str, str]]:
    """Aggregated columns, then grouping columns, then the time column, then Currency (§4)."""
    out = [{"name": name, "type": "Number"} for name, _ in plan.measures]
    out += [{"name": name, "type": "String"} for name, _ in plan.groups]
    if plan.granularity is not None:
        name, type_ = _TIME_COLUMNS[plan.granularity]
        out.append({"name": name, "type": type_})
    out.append({"name": "Currency", "type": "String"})
    return out


def statement(scope: CostScope, plan: QueryPlan) -> Select[Any]:
    """Quantities summed per group, time bucket, unit price and currency, within the scope."""
    keys: list[ColumnElement[Any]] = [d.column.label(f"g{i}") for i, (_, d) in enumerate(plan.groups)]
    if plan.granularity == "Hourly":
        keys.append(_T.c.hour.label("bucket"))
    elif plan.granularity is not None:  # days; months are made of days in Python
        keys.append((_T.c.hour // 24).label("bucket"))
    keys += [_T.c.price_per_1k, _T.c.currency]
    conditions = [*scope.conditions(), _T.c.hour >= plan.first_hour, _T.c.hour <= plan.last_hour]
    if plan.where is not None:
        conditions.append(plan.where)
    return select(*keys, func.sum(_T.c.quantity).label("quantity")).where(*conditions).group_by(*keys)


def _when(granularity: str, bucket: int) -> int | str:
    if granularity == "Hourly":
        return (EPOCH + bucket * HOUR).strftime("%Y-%m-%dT%H:00:00Z")
    day = EPOCH + timedelta(days=bucket)
    return int(day.strftime("%Y%m%d")) if granularity == "Daily" else day.strftime("%Y-%m-01T00:00:00")


def rows_of(plan: QueryPlan, found: Sequence[Sequence[Any]], *, exact: bool = False) -> list[list[Any]]:
    """The answer's rows: exact `Decimal` sums per group, time and currency, emitted as floats
    (JSON's numbers), or kept `Decimal` with `exact` (Studio shows and adds them up exactly)."""
    width = len(plan.groups)
    sums: dict[tuple[Any, tuple[str, ...], str], list[Any]] = {}
    for row in found:
        groups = tuple(d.show(str(row[i])) for i, (_, d) in enumerate(plan.groups))
        when = _when(plan.granularity, int(row[width])) if plan.granularity is not None else None
        price, currency, quantity = row[-3], str(row[-2]), int(row[-1])
        entry = sums.setdefault((when, groups, currency), [Decimal(0), 0])
        entry[0] += cost(quantity, str(price))
        entry[1] += quantity
    out: list[list[Any]] = []
    for key in sorted(sums):
        when, groups, currency = key
        total, quantity = sums[key]
        money = total if exact else float(total)
        line: list[Any] = [money if m == "cost" else quantity for _, m in plan.measures]
        line += groups
        if plan.granularity is not None:
            line.append(when)
        line.append(currency)
        out.append(line)
    return out


def query_costs(
    services: Services,
    caller: Caller,
    scope: str,
    body: QueryDefinition,
    *,
    now: datetime | None = None,
    exact: bool = False,
) -> dict[str, Any]:
    """Answer a `QueryDefinition` at `scope` in the shape of Azure's `QueryResult` (costs as
    `Decimal` with `exact`, for Studio; the API sends floats)."""
    where = parse_scope(scope)
    caller.require(QUERY_ACTION, where.id)
    plan = plan_query(body, now or utcnow())
    with services.db.read() as connection:
        found = connection.execute(statement(where, plan)).all()
    name = str(uuid.uuid4())
    return {
        "id": f"{where.id}/providers/Microsoft.CostManagement/query/{name}",
        "name": name,
        "type": RESULT_TYPE,
        "properties": {"nextLink": None, "columns": columns(plan), "rows": rows_of(plan, found, exact=exact)},
    }
