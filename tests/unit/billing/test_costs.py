"""The pure parts of cost queries: timeframes → hour ranges, scopes, dimensions, column order,
and how summed rows become the answer's rows (exact decimals, time buckets)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from maas.billing.costs import (
    QueryPlan,
    columns,
    dimension,
    hour_of,
    hour_range,
    parse_scope,
    plan_query,
    resource_type,
    rows_of,
)
from maas.core.errors import BadRequest
from maas.protocol.management.costs import QueryDefinition, QueryTimePeriod

NOW = datetime(2025, 3, 12, 15, 20, 7, tzinfo=UTC)  # a Wednesday
SUB = "/subscriptions/s1"
ML = "Microsoft.MachineLearningServices"


def h(year: int, month: int, day: int, hour: int = 0) -> int:
    return hour_of(datetime(year, month, day, hour, tzinfo=UTC))


def body(**dataset: Any) -> QueryDefinition:
    return QueryDefinition.model_validate({"type": "Usage", "timeframe": "MonthToDate", "dataset": dataset})


# -- time -------------------------------------------------------------------------------------
def test_hours_are_whole_hours_since_the_epoch_in_utc() -> None:
    assert hour_of(datetime(1970, 1, 1, 0, 59, 59, tzinfo=UTC)) == 0
    assert hour_of(datetime(1970, 1, 1, 1, tzinfo=UTC)) == 1
    assert hour_of(datetime(1970, 1, 1, 1)) == 1  # naive is UTC
    assert hour_of(datetime(1970, 1, 1, 3, 30, tzinfo=timezone(timedelta(hours=2)))) == 1
    assert hour_of(datetime(1969, 12, 31, 23, 59, tzinfo=UTC)) == -1


@pytest.mark.parametrize(
    ("timeframe", "first", "last"),
    [
        ("MonthToDate", h(2025, 3, 1), h(2025, 3, 12, 15)),
        ("BillingMonthToDate", h(2025, 3, 1), h(2025, 3, 12, 15)),
        ("TheLastMonth", h(2025, 2, 1), h(2025, 2, 28, 23)),
        ("TheLastBillingMonth", h(2025, 2, 1), h(2025, 2, 28, 23)),
        ("WeekToDate", h(2025, 3, 10), h(2025, 3, 12, 15)),  # from Monday 00:00
    ],
)
def test_named_timeframes(timeframe: str, first: int, last: int) -> None:
    assert hour_range(timeframe, None, NOW) == (first, last)


def test_the_last_month_across_a_year_and_a_week_started_today() -> None:
    january = datetime(2025, 1, 6, 0, 10, tzinfo=UTC)  # a Monday
    assert hour_range("TheLastMonth", None, january) == (h(2024, 12, 1), h(2024, 12, 31, 23))
    assert hour_range("WeekToDate", None, january) == (h(2025, 1, 6), h(2025, 1, 6))
    assert hour_range("MonthToDate", None, january) == (h(2025, 1, 1), h(2025, 1, 6))


def period(start: str, end: str) -> QueryTimePeriod:
    return QueryTimePeriod.model_validate({"from": start, "to": end})


def test_a_custom_period_selects_every_hour_that_overlaps_it() -> None:
    assert hour_range("Custom", period("2025-03-01T09:50:00Z", "2025-03-01T10:00:00Z"), NOW) == (
        h(2025, 3, 1, 9),
        h(2025, 3, 1, 10),
    )
    assert hour_range("Custom", period("2025-03-01T10:00:00Z", "2025-03-01T10:59:59Z"), NOW) == (
        h(2025, 3, 1, 10),
        h(2025, 3, 1, 10),
    )
    # offsets are honoured; a naive time is UTC
    assert hour_range("Custom", period("2025-03-01T12:30:00+02:00", "2025-03-02T00:00:00"), NOW) == (
        h(2025, 3, 1, 10),
        h(2025, 3, 2, 0),
    )


@pytest.mark.parametrize(
    ("timeframe", "time_period", "target"),
    [
        ("Custom", None, "timePeriod"),
        ("MonthToDate", period("2025-03-01", "2025-03-02"), "timePeriod"),
        ("Custom", period("2025-03-02T00:00:00Z", "2025-03-01T23:00:00Z"), "timePeriod.to"),
        ("Yesterday", None, "timeframe"),
    ],
)
def test_bad_timeframes_name_the_field(
    timeframe: str, time_period: QueryTimePeriod | None, target: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        hour_range(timeframe, time_period, NOW)
    assert caught.value.target == target


# -- scopes -----------------------------------------------------------------------------------
def test_scopes_of_each_shape() -> None:
    assert parse_scope("subscriptions/S1/") == parse_scope("/subscriptions/S1")
    sub = parse_scope("subscriptions/S1")
    assert (sub.id, sub.subscription, sub.resource_group) == ("/subscriptions/S1", "S1", None)
    rg = parse_scope("/subscriptions/s1/resourcegroups/RG")
    assert (rg.resource_group, rg.workspace) == ("RG", None)
    ws = parse_scope(f"/subscriptions/s1/resourceGroups/rg/providers/{ML.lower()}/workspaces/W")
    assert (ws.resource_group, ws.workspace, ws.endpoint_key) == ("rg", "W", None)
    ep = parse_scope(f"/subscriptions/s1/resourceGroups/rg/providers/{ML}/workspaces/w/serverlessEndpoints/E")
    assert (
        ep.endpoint_key
        == f"/subscriptions/s1/resourcegroups/rg/providers/{ML.lower()}/workspaces/w/serverlessendpoints/e"
    )
    saas = parse_scope("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.SaaS/resources/Sub-A")
    assert (saas.billed_key, saas.workspace) == (
        "/subscriptions/s1/resourcegroups/rg/providers/microsoft.saas/resources/sub-a",
        None,
    )


@pytest.mark.parametrize(
    "scope",
    [
        "/",
        "/providers/Microsoft.Billing/billingAccounts/1",
        "/subscriptions/s1/resourceGroups",
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",
        f"/subscriptions/s1/resourceGroups/rg/providers/{ML}/workspaces/w/connections/c",
        f"/subscriptions/s1/providers/{ML}/workspaces/w",
    ],
)
def test_other_scopes_are_a_400_on_scope(scope: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_scope(scope)
    assert caught.value.target == "scope"


# -- dimensions and columns -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spelling", "shown", "canonical"),
    [
        ("resourcegroupname", "ResourceGroupName", "ResourceGroupName"),
        ("ResourceGroup", "ResourceGroup", "ResourceGroupName"),
        ("METER", "Meter", "MeterId"),
        ("endpoint", "Endpoint", "EndpointId"),
        ("Model", "Model", "ModelId"),
        ("workspace", "Workspace", "Workspace"),
        ("SubscriptionId", "SubscriptionId", "SubscriptionId"),
        ("resourceType", "ResourceType", "ResourceType"),
        ("ResourceId", "ResourceId", "ResourceId"),
    ],
)
def test_dimensions_are_case_insensitive_with_aliases(spelling: str, shown: str, canonical: str) -> None:
    name, found = dimension(spelling, "x")
    assert (name, found.name) == (shown, canonical)


def test_unknown_dimensions_name_the_field_and_the_choices() -> None:
    with pytest.raises(BadRequest) as caught:
        dimension("ServiceName", "dataset.grouping[1].name")
    assert caught.value.target == "dataset.grouping[1].name"
    assert "ServiceName" in caught.value.message and "MeterId" in caught.value.message


def test_resource_type_is_derived_from_the_billed_resource() -> None:
    assert resource_type("/subscriptions/s/resourcegroups/r/providers/microsoft.saas/resources/x") == (
        "Microsoft.SaaS/resources"
    )
    assert resource_type(
        f"/subscriptions/s/resourcegroups/r/providers/{ML}/workspaces/w/serverlessEndpoints/e"
    ) == (f"{ML}/workspaces/serverlessEndpoints")


def test_columns_are_aggregations_then_groupings_then_time_then_currency() -> None:
    plan = plan_query(
        body(
            granularity="Daily",
            aggregation={
                "q": {"name": "usagequantity", "function": "Sum"},
                "c": {"name": "PreTaxCost", "function": "Sum"},
            },
            grouping=[{"type": "Dimension", "name": "Meter"}, {"type": "Dimension", "name": "resourcegroup"}],
        ),
        NOW,
    )
    assert columns(plan) == [
        {"name": "UsageQuantity", "type": "Number"},
        {"name": "PreTaxCost", "type": "Number"},
        {"name": "Meter", "type": "String"},
        {"name": "ResourceGroup", "type": "String"},
        {"name": "UsageDate", "type": "Number"},
        {"name": "Currency", "type": "String"},
    ]
    assert columns(plan_query(body(granularity="Monthly"), NOW))[1] == {
        "name": "BillingMonth",
        "type": "Datetime",
    }
    assert columns(plan_query(body(granularity="Hourly"), NOW))[1] == {
        "name": "UsageHour",
        "type": "Datetime",
    }
    # no aggregation: the pre-tax cost; no granularity: no time column
    assert columns(plan_query(body(), NOW)) == [
        {"name": "PreTaxCost", "type": "Number"},
        {"name": "Currency", "type": "String"},
    ]


@pytest.mark.parametrize(
    ("dataset", "target"),
    [
        ({"aggregation": {"total": {"name": "Tokens", "function": "Sum"}}}, "dataset.aggregation.total.name"),
        ({"grouping": [{"type": "TagKey", "name": "team"}]}, "dataset.grouping[0].type"),
        ({"grouping": [{"type": "Dimension", "name": "Region"}]}, "dataset.grouping[0].name"),
        (
            {"grouping": [{"type": "Dimension", "name": "Meter"}, {"type": "Dimension", "name": "MeterId"}]},
            "dataset.grouping[1].name",
        ),
        ({"filter": {"tags": {"name": "team", "operator": "In", "values": ["a"]}}}, "dataset.filter.tags"),
        (
            {
                "filter": {
                    "or": [
                        {"dimensions": {"name": "MeterId", "operator": "In", "values": ["a"]}},
                        {
                            "and": [
                                {"dimensions": {"name": "Model", "operator": "In", "values": ["a"]}},
                                {"dimensions": {"name": "Location", "operator": "In", "values": ["a"]}},
                            ]
                        },
                    ]
                }
            },
            "dataset.filter.or[1].and[1].dimensions.name",
        ),
    ],
)
def test_bad_datasets_name_the_field(dataset: dict[str, Any], target: str) -> None:
    with pytest.raises(BadRequest) as caught:
        plan_query(body(**dataset), NOW)
    assert caught.value.target == target


# -- rows -------------------------------------------------------------------------------------
def plan(granularity: str | None, groups: int = 0) -> QueryPlan:
    names = ["Meter", "ResourceGroup"][:groups]
    return plan_query(
        body(
            granularity=granularity,
            aggregation={
                "c": {"name": "Cost", "function": "Sum"},
                "q": {"name": "UsageQuantity", "function": "Sum"},
            },
            grouping=[{"type": "Dimension", "name": n} for n in names],
        ),
        NOW,
    )


def test_rows_sum_exact_decimals_across_prices_then_emit_floats() -> None:
    # (meter, price, currency, quantity) as SQL returns them: one row per unit price
    found = [("in", "0.0003", "USD", 1000), ("in", "0.00035", "USD", 1000), ("out", "0.1", "USD", 3)]
    rows = rows_of(plan(None, groups=1), found)
    assert rows == [
        [float(Decimal("0.0003") + Decimal("0.00035")), 2000, "in", "USD"],
        [float(Decimal("0.0003")), 3, "out", "USD"],
    ]
    assert rows[0][0] == 0.00065  # not 0.00065000000000000008 from adding floats


def test_currencies_are_never_added_together() -> None:
    found = [("0.5", "USD", 2000), ("0.5", "EUR", 4000)]
    assert rows_of(plan(None), found) == [[2.0, 4000, "EUR"], [1.0, 2000, "USD"]]


def test_time_buckets_per_granularity() -> None:
    day = (datetime(2025, 3, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).days
    hour = h(2025, 3, 1, 9)
    daily = rows_of(plan("Daily"), [(day, "1", "USD", 1000), (day + 1, "1", "USD", 2000)])
    assert [r[2] for r in daily] == [20250301, 20250302]
    monthly = rows_of(
        plan("Monthly"), [(day - 1, "1", "USD", 1000), (day, "1", "USD", 1000), (day + 30, "1", "USD", 1000)]
    )
    assert [(r[1], r[2]) for r in monthly] == [(1000, "2025-02-01T00:00:00"), (2000, "2025-03-01T00:00:00")]
    hourly = rows_of(plan("Hourly"), [(hour, "1", "USD", 1000), (hour + 15, "1", "USD", 1000)])
    assert [r[2] for r in hourly] == ["2025-03-01T09:00:00Z", "2025-03-02T00:00:00Z"]
