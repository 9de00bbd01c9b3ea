"""Cost queries through the HTTP API (DESIGN §6, AZURE-REFERENCE §4) on SQLite and PostgreSQL:
sums at every scope, the Azure shape, grouping, filters, granularities and periods, and reading
the hourly totals only (through their index). Every expected cost is computed record by record
with `Decimal` (support/costs.py) and must equal the answer exactly. Access and bad requests:
test_costs_requests.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, event, func, select, text

from maas.billing.batches import write_batch
from maas.billing.costs import parse_scope, plan_query, statement
from maas.billing.meters import FREE_INPUT_TOKENS as FREE_IN
from maas.billing.meters import FREE_OUTPUT_TOKENS as FREE_OUT
from maas.billing.meters import INPUT_TOKENS as IN
from maas.billing.meters import OUTPUT_TOKENS as OUT
from maas.controlplane.store import tables as t
from maas.controlplane.store.database import Database
from maas.protocol.management.costs import QueryDefinition
from support.api import FREE_MODEL, MODEL, Api
from support.costs import (
    ALL,
    ENDPOINTS,
    EP_A,
    EP_B,
    EP_C,
    EP_D,
    EP_E,
    QUERY,
    SAAS,
    SCOPES,
    SUB_A,
    SUB_B,
    Ep,
    Keep,
    Use,
    at,
    dim,
    expected,
    group,
    query,
    record,
    rg_path,
    rows,
    written_usage,
    ws_path,
)
from support.fake_upstream import fake_upstream
from support.gateway import UPSTREAM_EMBED_MODEL, UPSTREAM_MODEL, deploy, put_model, upstream_artifact

PRICES = [
    {"meterId": IN, "pricePer1K": 0.0003, "currency": "USD"},
    {"meterId": OUT, "pricePer1K": 0.0006, "currency": "USD"},
]


@pytest.fixture
def db(client: TestClient) -> Database:
    return written_usage(client)


# -- scopes, shape, sums ----------------------------------------------------------------------
@pytest.mark.parametrize(("scope", "keep"), SCOPES)
def test_each_scope_sums_exactly_what_it_holds(api: Api, db: Database, scope: str, keep: Keep) -> None:
    result = query(api, scope)
    cost, quantity = expected(keep)
    assert rows(result) == [[cost, quantity, "USD"]]


def test_the_answer_has_the_azure_shape(api: Api, db: Database) -> None:
    scope = f"/subscriptions/{SUB_B}"
    response = api.post(
        scope + QUERY, {"type": "Usage", "timeframe": "Custom", "timePeriod": ALL, "dataset": {}}
    )
    body = api.ok(response, 200)
    assert set(body) == {"id", "name", "type", "properties"}
    assert str(uuid.UUID(body["name"])) == body["name"]
    assert body["id"] == f"{scope}/providers/Microsoft.CostManagement/query/{body['name']}"
    assert body["type"] == "microsoft.costmanagement/Query"
    assert body["properties"] == {
        "nextLink": None,
        "columns": [{"name": "PreTaxCost", "type": "Number"}, {"name": "Currency", "type": "String"}],
        "rows": [[expected(lambda u, m: u.ep is EP_D)[0], "EUR"]],
    }


def test_any_api_version_and_lower_case_paths(api: Api, db: Database) -> None:
    path = f"/subscriptions/{SUB_A}/resourcegroups/rg2{QUERY}"
    body = {"type": "Usage", "timeframe": "Custom", "timePeriod": ALL, "dataset": {}}
    for version in ("2019-11-01", "2023-11-01", "2025-03-01"):
        result = api.ok(api.post(path, body, params={"api-version": version}), 200)
        assert rows(result) == [[expected(lambda u, m: u.ep is EP_C)[0], "USD"]]


def test_no_usage_is_no_rows(api: Api, db: Database) -> None:
    assert rows(query(api, "/subscriptions/nobody")) == []
    assert rows(query(api, f"/subscriptions/{SUB_A}", {"from": "2024-01-01", "to": "2024-12-31"})) == []


# -- grouping ---------------------------------------------------------------------------------
def test_group_by_resource_group_and_meter(api: Api, db: Database) -> None:
    result = query(api, f"/subscriptions/{SUB_A}", grouping=group("ResourceGroup", "meterid"))
    names = [c["name"] for c in result["properties"]["columns"]]
    assert names == ["PreTaxCost", "UsageQuantity", "ResourceGroup", "MeterId", "Currency"]
    want = [
        [
            *expected(lambda u, m, rg=rg, meter=meter: u.ep.sub == SUB_A and u.ep.rg == rg and m == meter),
            rg,
            meter,
            "USD",
        ]
        for rg, meters in (("rg1", (FREE_IN, FREE_OUT, IN, OUT)), ("rg2", (IN, OUT)))  # ep-b is free
        for meter in meters
    ]
    assert rows(result) == want


def test_group_by_resource_type_and_resource_id(api: Api, db: Database) -> None:
    result = query(api, f"/subscriptions/{SUB_A}", grouping=group("ResourceType", "ResourceId"))
    got = {(r[2], r[3]): r[:2] for r in rows(result)}
    billed = {
        EP_A.billed.lower(): SAAS,
        EP_C.billed.lower(): SAAS,
        EP_B.id.lower(): ENDPOINTS,
        EP_E.id.lower(): ENDPOINTS,
    }
    assert set(got) == {(kind, rid) for rid, kind in billed.items()}
    for rid, kind in billed.items():
        assert got[(kind, rid)] == list(expected(lambda u, m, rid=rid: u.ep.billed.lower() == rid))


def test_group_by_our_extensions(api: Api, db: Database) -> None:
    result = query(api, rg_path(SUB_A, "rg1"), grouping=group("Workspace", "Endpoint"))
    assert [r[2:] for r in rows(result)] == [
        ["ws1", EP_A.id.lower(), "USD"],
        ["ws1", EP_B.id.lower(), "USD"],
        ["ws1b", EP_E.id.lower(), "USD"],
    ]
    result = query(api, f"/subscriptions/{SUB_A}", grouping=group("Model", "SubscriptionId"))
    assert [r[2:] for r in rows(result)] == [
        [f"{MODEL}/versions/1", SUB_A, "USD"],
        [f"{FREE_MODEL}/versions/1", SUB_A, "USD"],
    ]
    assert rows(result)[0][:2] == list(expected(lambda u, m: u.ep.model == MODEL and u.ep.sub == SUB_A))


# -- filters ----------------------------------------------------------------------------------
FILTERS: list[tuple[dict[str, Any], Keep]] = [
    (dim("MeterId", IN.upper()), lambda u, m: m == IN),
    (dim("Meter", IN, OUT), lambda u, m: m in (IN, OUT)),
    (dim("Meter", IN, OUT, FREE_IN, FREE_OUT), lambda u, m: True),
    (dim("MeterId", FREE_OUT), lambda u, m: m == FREE_OUT),
    (dim("ResourceType", SAAS.lower()), lambda u, m: u.ep.saas is not None),
    (dim("ResourceType", ENDPOINTS, "Microsoft.Compute/virtualMachines"), lambda u, m: u.ep.saas is None),
    (dim("ResourceType", "Microsoft.Compute/virtualMachines"), lambda u, m: False),
    (dim("ResourceId", EP_C.billed.upper() + "/"), lambda u, m: u.ep is EP_C),
    (dim("ModelId", f"{FREE_MODEL}/versions/1"), lambda u, m: u.ep.model == FREE_MODEL),
    (
        {"or": [dim("EndpointId", EP_A.id.upper()), dim("Workspace", "WS2")]},
        lambda u, m: u.ep in (EP_A, EP_C),
    ),
    (
        {"and": [dim("ResourceType", SAAS), dim("ResourceGroupName", "RG1"), dim("meterid", OUT)]},
        lambda u, m: u.ep is EP_A and m == OUT,
    ),
    (
        {"and": [{"or": [dim("Workspace", "ws1b"), dim("ResourceGroup", "rg2")]}, dim("MeterId", OUT)]},
        lambda u, m: u.ep in (EP_E, EP_C) and m == OUT,
    ),
]


@pytest.mark.parametrize(("where", "keep"), FILTERS)
def test_filters(api: Api, db: Database, where: dict[str, Any], keep: Keep) -> None:
    result = query(api, f"/subscriptions/{SUB_A}", filter=where)
    cost, quantity = expected(lambda u, m: u.ep.sub == SUB_A and keep(u, m))
    assert rows(result) == ([[cost, quantity, "USD"]] if quantity else [])


# -- time -------------------------------------------------------------------------------------
def test_daily_monthly_and_hourly(api: Api, db: Database) -> None:
    sub = f"/subscriptions/{SUB_A}"
    daily = query(api, sub, granularity="Daily")
    assert daily["properties"]["columns"][2] == {"name": "UsageDate", "type": "Number"}

    def day(mo: int, d: int) -> Keep:
        return lambda u, m: u.ep.sub == SUB_A and (u.when.month, u.when.day) == (mo, d)

    assert rows(daily) == [
        [*expected(day(mo, d)), 2025_00_00 + mo * 100 + d, "USD"] for mo, d in ((2, 28), (3, 1), (3, 2))
    ]
    monthly = query(api, sub, granularity="Monthly")
    assert rows(monthly) == [
        [
            *expected(lambda u, m, mo=mo: u.ep.sub == SUB_A and u.when.month == mo),
            f"2025-0{mo}-01T00:00:00",
            "USD",
        ]
        for mo in (2, 3)
    ]
    hourly = query(
        api,
        rg_path(SUB_A, "rg1"),
        {"from": "2025-03-01T00:00:00Z", "to": "2025-03-01T23:59:59Z"},
        granularity="Hourly",
        grouping=group("Meter"),
    )
    assert [r[2:] for r in rows(hourly)] == [
        [meter, f"2025-03-01T{hour}:00:00Z", "USD"]
        for hour, meters in (("09", (IN, OUT)), ("10", (FREE_IN, FREE_OUT, IN, OUT)))  # ep-b at 10:30
        for meter in meters
    ]
    assert rows(hourly)[0][:2] == list(expected(lambda u, m: u.ep is EP_A and u.when.hour == 9 and m == IN))


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        ("2025-03-01T09:50:00Z", "2025-03-01T10:00:00Z", (9, 10)),  # touches 10:00: hour 10 overlaps
        ("2025-03-01T10:00:01Z", "2025-03-01T10:59:59Z", (10,)),
        ("2025-03-01T11:30:00+02:00", "2025-03-01T09:59:59", (9,)),  # 09:30Z to 09:59:59Z
    ],
)
def test_a_custom_period_selects_the_hours_that_overlap_it(
    api: Api, db: Database, start: str, end: str, hours: tuple[int, ...]
) -> None:
    result = query(api, ws_path(EP_A), {"from": start, "to": end})
    keep: Keep = lambda u, m: u.ep.ws == "ws1" and u.when.date() == at(1, 0).date() and u.when.hour in hours  # noqa: E731
    assert rows(result) == [[*expected(keep), "USD"]]


def test_month_to_date_and_the_last_month(api: Api, db: Database) -> None:
    now = datetime.now(UTC)
    last_month = now.replace(day=1, hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    ep = Ep(SUB_B, "rg9", "ws9", "recent", None, FREE_MODEL)
    recent = [Use(ep, now, 100, 10, "0.002", "0.004"), Use(ep, last_month, 7, 3, "0.002", "0.004")]
    write_batch(db, [record(u) for u in recent])
    body: dict[str, Any] = {
        "type": "Usage",
        "dataset": {"aggregation": {"q": {"name": "UsageQuantity", "function": "Sum"}}},
    }
    scope = rg_path(SUB_B, "rg9") + QUERY
    for timeframe, quantity in (
        ("MonthToDate", 110),
        ("BillingMonthToDate", 110),
        ("TheLastMonth", 10),
        ("TheLastBillingMonth", 10),
    ):
        assert rows(api.ok(api.post(scope, {**body, "timeframe": timeframe}), 200)) == [[quantity, "USD"]]
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    week = 110 + (10 if last_month >= monday else 0)
    assert rows(api.ok(api.post(scope, {**body, "timeframe": "WeekToDate"}), 200)) == [[week, "USD"]]


# -- reads the totals only, through the index -------------------------------------------------
def test_queries_read_the_hourly_totals_never_the_records(api: Api, db: Database) -> None:
    bodies = [
        {"grouping": group("ResourceId", "Meter"), "granularity": "Hourly"},
        {"filter": dim("ResourceType", SAAS), "granularity": "Monthly"},
    ]
    before = [query(api, f"/subscriptions/{SUB_A}", **b)["properties"] for b in bodies]
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        statements.append(sql.lower())

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        again = [query(api, f"/subscriptions/{SUB_A}", **b)["properties"] for b in bodies]
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert again == before
    assert any("usage_totals" in s for s in statements)
    assert not any("usage_records" in s for s in statements)
    with db.write() as connection:
        connection.execute(delete(t.usage_records))
        assert connection.execute(select(func.count()).select_from(t.usage_records)).scalar() == 0
    assert [query(api, f"/subscriptions/{SUB_A}", **b)["properties"] for b in bodies] == before


@pytest.mark.parametrize("scope", [f"/subscriptions/{SUB_A}", rg_path(SUB_A, "rg1"), EP_A.id, ws_path(EP_A)])
def test_the_scope_is_found_through_the_scope_index(db: Database, scope: str) -> None:
    body = QueryDefinition.model_validate(
        {"type": "Usage", "timeframe": "Custom", "timePeriod": ALL, "dataset": {"grouping": group("Meter")}}
    )
    sql = statement(parse_scope(scope), plan_query(body, datetime.now(UTC)))
    compiled = sql.compile(db.engine, compile_kwargs={"literal_binds": True})
    with db.read() as connection:
        if db.is_sqlite:
            plan = " ".join(str(r[-1]) for r in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
        else:  # a planner facing a tiny table prefers a scan; ask it what it would do otherwise
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(str(r[0]) for r in connection.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_usage_totals_scope" in plan, plan


# -- free and paid usage side by side, through the gateway (issue 11, item 6) -----------------------
def test_a_free_models_tokens_are_never_counted_on_a_paid_meter(api: Api, client: TestClient) -> None:
    """A free first-party embedding model (its offer has `meters: []`) next to a paid chat model in
    one workspace: the free tokens go to the free meter at price 0, the paid meter counts only paid
    tokens, and every row grouped by meter is quantity x price = cost."""
    world = api.world(catalog=False)
    start = datetime.now(UTC) - timedelta(hours=1)
    with fake_upstream() as upstream:
        put_model(api, UPSTREAM_MODEL, upstream_artifact(upstream.url))
        paid = {"modelId": UPSTREAM_MODEL, "publisherId": "test", "kind": "FirstParty", "meters": PRICES}
        api.ok(api.put("/providers/Microsoft.MaaS/offers/fake-upstream-chat", {"properties": paid}))
        put_model(api, UPSTREAM_EMBED_MODEL, upstream_artifact(upstream.url), task="embeddings")
        offer = api.ok(api.get("/providers/Microsoft.MaaS/offers/fake-upstream-embed"), 200)
        assert offer["properties"]["meters"] == []  # free, like the shipped embedding model's offer
        chat = deploy(api, world, "chat", UPSTREAM_MODEL)
        embed = deploy(api, world, "embed", UPSTREAM_EMBED_MODEL)
        answer = api.client.post(
            chat.route + "/chat/completions",
            json={"messages": [{"role": "user", "content": "hi"}]},
            headers=chat.headers(),
        )
        assert answer.status_code == 200, answer.text
        embedded = api.client.post(
            embed.route + "/embeddings", json={"input": ["a", "b", "c"]}, headers=embed.headers()
        )
        assert embedded.status_code == 200, embedded.text
        assert client.app.process.gateway().metering.ledger.flush(30)  # type: ignore[attr-defined]

    usage, free_tokens = answer.json()["usage"], embedded.json()["usage"]["prompt_tokens"]
    assert free_tokens > 0
    end = datetime.now(UTC) + timedelta(hours=1)
    period = {"from": start.isoformat(), "to": end.isoformat()}
    result = query(api, world.ws_path, period, grouping=group("MeterId"))
    assert rows(result) == [
        [0.0, free_tokens, FREE_IN, "USD"],
        [0.0, 0, FREE_OUT, "USD"],  # embeddings generate nothing; the side is still metered
        [
            float(Decimal(usage["prompt_tokens"]) * Decimal("0.0003") / 1000),
            usage["prompt_tokens"],
            IN,
            "USD",
        ],
        [
            float(Decimal(usage["completion_tokens"]) * Decimal("0.0006") / 1000),
            usage["completion_tokens"],
            OUT,
            "USD",
        ],
    ]
    # and the free endpoint alone has no paid meter at all
    alone = query(api, world.endpoint("embed"), period, grouping=group("MeterId"))
    assert [r[2] for r in rows(alone)] == [FREE_IN, FREE_OUT]
