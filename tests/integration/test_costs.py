"""Cost queries through the HTTP API (DESIGN §6, AZURE-REFERENCE §4) on SQLite and PostgreSQL.

Usage goes into the store through the ledger's `write_batch` (records and hourly totals in one
transaction); every expected cost is computed here, record by record, with `Decimal`, and must
equal the answer exactly. The queries must read the hourly totals only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, event, func, select, text

from maas.billing.batches import write_batch
from maas.billing.costs import parse_scope, plan_query, statement
from maas.billing.meters import INPUT_TOKENS as IN
from maas.billing.meters import OUTPUT_TOKENS as OUT
from maas.billing.meters import Price, PriceList
from maas.billing.records import UsageRecord
from maas.controlplane.store import tables as t
from maas.controlplane.store.database import Database
from maas.protocol.management.costs import QueryDefinition
from support.api import FREE_MODEL, ML, MODEL, Api, World

SUB_A = "00000000-0000-0000-0000-000000000001"
SUB_B = "00000000-0000-0000-0000-000000000002"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
AI_DEVELOPER = "64702f94-c441-49e6-a78b-ef80e0188fee"
SAAS, ENDPOINTS = "Microsoft.SaaS/resources", f"{ML}/workspaces/serverlessEndpoints"
QUERY = "/providers/Microsoft.CostManagement/query"
ALL = {"from": "2025-02-01T00:00:00Z", "to": "2025-03-31T23:59:59Z"}


@dataclass(frozen=True)
class Ep:
    sub: str
    rg: str
    ws: str
    name: str
    saas: str | None
    model: str

    @property
    def id(self) -> str:
        ws = f"/subscriptions/{self.sub}/resourceGroups/{self.rg}/providers/{ML}/workspaces/{self.ws}"
        return f"{ws}/serverlessEndpoints/{self.name}"

    @property
    def billed(self) -> str:
        rg = f"/subscriptions/{self.sub}/resourceGroups/{self.rg}"
        return f"{rg}/providers/{SAAS}/{self.saas}" if self.saas else self.id


EP_A = Ep(SUB_A, "rg1", "ws1", "EP-A", "saas-a", MODEL)  # marketplace; display name in capitals
EP_B = Ep(SUB_A, "rg1", "ws1", "ep-b", None, FREE_MODEL)  # first party, free
EP_E = Ep(SUB_A, "rg1", "ws1b", "ep-e", None, FREE_MODEL)  # another workspace of rg1
EP_C = Ep(SUB_A, "rg2", "ws2", "ep-c", "saas-c", MODEL)
EP_D = Ep(SUB_B, "rg3", "ws3", "ep-d", None, FREE_MODEL)


@dataclass(frozen=True)
class Use:
    ep: Ep
    when: datetime
    input: int
    output: int
    input_price: str
    output_price: str
    currency: str = "USD"


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


USAGE = [
    Use(EP_A, at(1, 9, 15), 1200, 300, "0.0003", "0.0006"),
    Use(EP_A, at(1, 9, 45), 800, 150, "0.0003", "0.0006"),
    Use(EP_A, at(1, 10, 5), 1000, 0, "0.00035", "0.0007"),  # the offer's price changed
    Use(EP_A, at(2, 23, 59), 333, 77, "0.00035", "0.0007"),
    Use(EP_B, at(1, 10, 30), 5000, 2500, "0", "0"),
    Use(EP_E, at(2, 0, 0), 10, 20, "0.5", "1.25"),
    Use(EP_C, at(1, 11, 0), 400, 100, "0.001", "0.002"),
    Use(EP_C, at(28, 23, 30, month=2), 700, 70, "0.001", "0.002"),
    Use(EP_D, at(2, 12, 0), 9000, 1000, "0.0001", "0.0002", "EUR"),
]
Keep = Callable[[Use, str], bool]


def expected(keep: Keep) -> tuple[float, int]:
    """(cost, quantity) of the meters `keep` selects, summed exactly, cost then made a float."""
    total, quantity = Decimal(0), 0
    for use in USAGE:
        for meter, count, price in ((IN, use.input, use.input_price), (OUT, use.output, use.output_price)):
            if keep(use, meter):
                total += Decimal(count) * Decimal(price) / 1000
                quantity += count
    return float(total), quantity


def record(use: Use) -> UsageRecord:
    ep = use.ep
    prices = PriceList(Price(IN, use.input_price, use.currency), Price(OUT, use.output_price, use.currency))
    return UsageRecord(
        request_id=str(uuid.uuid4()),
        endpoint_id=ep.id,
        subscription=ep.sub.lower(),  # the gateway bills under the store's (lower-case) keys
        resource_group=ep.rg.lower(),
        workspace=ep.ws.lower(),
        billed_resource_id=ep.billed,
        model_id=f"{ep.model}/versions/1",
        offer_id=None,
        region="eastus2",
        route="chat/completions",
        input_tokens=use.input,
        output_tokens=use.output,
        prices=prices,
        status="Succeeded",
        started_at=use.when.timestamp() - 1,
        ended_at=use.when.timestamp(),
    )


@pytest.fixture
def db(client: TestClient) -> Database:
    database: Database = client.app.state.services.db  # type: ignore[attr-defined]
    assert write_batch(database, [record(u) for u in USAGE]) == len(USAGE)
    return database


def query(api: Api, scope: str, period: dict[str, str] | None = None, **dataset: Any) -> dict[str, Any]:
    dataset.setdefault(
        "aggregation",
        {
            "cost": {"name": "PreTaxCost", "function": "Sum"},
            "tokens": {"name": "UsageQuantity", "function": "Sum"},
        },
    )
    body = {"type": "ActualCost", "timeframe": "Custom", "timePeriod": period or ALL, "dataset": dataset}
    return api.ok(api.post(scope + QUERY, body), 200)


def rows(result: dict[str, Any]) -> list[list[Any]]:
    return result["properties"]["rows"]  # type: ignore[no-any-return]


def rg_path(sub: str, rg: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}"


def ws_path(ep: Ep) -> str:
    return f"{rg_path(ep.sub, ep.rg)}/providers/{ML}/workspaces/{ep.ws}"


# -- scopes, shape, sums ----------------------------------------------------------------------
SCOPES: list[tuple[str, Keep]] = [
    (f"/subscriptions/{SUB_A}", lambda u, m: u.ep.sub == SUB_A),
    (rg_path(SUB_A, "RG1"), lambda u, m: u.ep.rg == "rg1"),
    (ws_path(EP_A), lambda u, m: u.ep.ws == "ws1"),
    (EP_A.id.lower(), lambda u, m: u.ep is EP_A),
    (rg_path(SUB_A, "rg1") + f"/providers/{SAAS}/SAAS-A", lambda u, m: u.ep is EP_A),
    (ws_path(EP_E), lambda u, m: u.ep is EP_E),
    (rg_path(SUB_A, "rg2"), lambda u, m: u.ep is EP_C),
    (EP_B.id, lambda u, m: u.ep is EP_B),
]


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
def group(*names: str) -> list[dict[str, str]]:
    return [{"type": "Dimension", "name": n} for n in names]


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
        for rg in ("rg1", "rg2")
        for meter in (IN, OUT)
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
def dim(name: str, *values: str) -> dict[str, Any]:
    return {"dimensions": {"name": name, "operator": "In", "values": list(values)}}


FILTERS: list[tuple[dict[str, Any], Keep]] = [
    (dim("MeterId", IN.upper()), lambda u, m: m == IN),
    (dim("Meter", IN, OUT), lambda u, m: True),
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
        [meter, f"2025-03-01T{hour}:00:00Z", "USD"] for hour in ("09", "10") for meter in (IN, OUT)
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


# -- access -----------------------------------------------------------------------------------
@pytest.fixture
def worlds(api: Api, db: Database) -> None:
    api.world(World(sub=SUB_A, rg="rg1", ws="ws1"))
    api.world(World(sub=SUB_A, rg="rg2", ws="ws2"), catalog=False)


def test_readers_query_their_scope_and_nothing_above_or_beside_it(api: Api, worlds: None) -> None:
    principal, token = api.principal("finance")
    api.ok(api.assign(rg_path(SUB_A, "rg1"), principal, READER), 201)
    reader = api.as_token(token)
    for scope, keep in SCOPES[1:6]:  # rg1, its workspaces, endpoints and SaaS resource
        assert rows(query(reader, scope)) == [[*expected(keep), "USD"]]
    body = {"type": "Usage", "timeframe": "Custom", "timePeriod": ALL, "dataset": {}}
    for scope in (rg_path(SUB_A, "rg2"), f"/subscriptions/{SUB_A}", ws_path(EP_C)):
        response = reader.post(scope + QUERY, body)
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["code"] == "AuthorizationFailed"
        assert f"'Microsoft.CostManagement/query/read' over scope '{scope}'" in error["message"]


def test_an_ai_developer_may_not_query_costs(api: Api, worlds: None) -> None:
    principal, token = api.principal("dev")
    api.ok(api.assign(rg_path(SUB_A, "rg1"), principal, AI_DEVELOPER), 201)
    body = {"type": "Usage", "timeframe": "MonthToDate", "dataset": {}}
    response = api.as_token(token).post(rg_path(SUB_A, "rg1") + QUERY, body)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "AuthorizationFailed"
    assert (
        api.post(rg_path(SUB_A, "rg1") + QUERY, body, headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )


# -- bad requests -----------------------------------------------------------------------------
def _nested(depth: int) -> str:
    leaf = '{"dimensions": {"name": "MeterId", "operator": "In", "values": ["x"]}}'
    return '{"and": [' * depth + leaf + "," + leaf + "]}" * depth


GOOD = {"type": "Usage", "timeframe": "MonthToDate", "dataset": {}}


def ds(**dataset: Any) -> dict[str, Any]:
    return {**GOOD, "dataset": dataset}


def custom(**period: str) -> dict[str, Any]:
    return {**GOOD, "timeframe": "Custom", "timePeriod": {k.rstrip("_"): v for k, v in period.items()}}


def agg(name: str, function: str = "Sum") -> dict[str, Any]:
    return {"x": {"name": name, "function": function}}


def raw_filter(depth: int) -> str:
    return '{"type": "Usage", "timeframe": "MonthToDate", "dataset": {"filter": ' + _nested(depth) + "}}"


BAD: list[tuple[Any, str | None]] = [
    ({**GOOD, "type": "Forecast"}, "type"),
    ({"timeframe": "MonthToDate", "dataset": {}}, "type"),
    ({**GOOD, "timeframe": "Yesterday"}, "timeframe"),
    ({**GOOD, "timeframe": "Custom"}, "timePeriod"),
    ({**GOOD, "timePeriod": {"from": "2025-01-01", "to": "2025-01-02"}}, "timePeriod"),
    (custom(from_="2025-01-02", to="2025-01-01"), "timePeriod.to"),
    (custom(from_="2025-01-02"), "timePeriod.to"),
    (custom(from_="yesterday", to="2025-01-01"), "timePeriod.from"),
    (ds(granulairty="Daily"), "dataset.granulairty"),
    (ds(granularity="Weekly"), "dataset.granularity"),
    (ds(aggregation=agg("Tokens")), "dataset.aggregation.x.name"),
    (ds(aggregation=agg("Cost", "Avg")), "dataset.aggregation.x.function"),
    (ds(aggregation={k: agg("Cost")["x"] for k in "abc"}), "dataset.aggregation"),
    (ds(grouping=group("Meter", "Model", "Workspace")), "dataset.grouping"),
    (ds(grouping=group("ServiceName")), "dataset.grouping[0].name"),
    (ds(grouping=[{"type": "TagKey", "name": "team"}]), "dataset.grouping[0].type"),
    (ds(filter={"tags": dim("team", "a")["dimensions"]}), "dataset.filter.tags"),
    (ds(filter={"and": [dim("Meter", "a"), dim("Region", "b")]}), "dataset.filter.and[1].dimensions.name"),
    (ds(filter={"and": [dim("Meter", "a")]}), "dataset.filter.and"),
    (ds(filter={**dim("Meter", "a"), "or": []}), "dataset.filter.or"),
    (
        ds(filter={"dimensions": {**dim("Meter", "a")["dimensions"], "operator": "Contains"}}),
        "dataset.filter.dimensions.operator",
    ),
    (ds(filter=dim("Meter")), "dataset.filter.dimensions.values"),
    (ds(filter=dim("Meter", *(str(i) for i in range(1001)))), "dataset.filter.dimensions.values"),
    ("[1, 2]", None),
    ("{not json", None),
    ("", None),
    (raw_filter(12), None),
    (raw_filter(5000), None),  # json.loads gives up: "nested too deeply"
]


@pytest.mark.parametrize(("body", "target"), BAD)
def test_bad_bodies_are_a_400_naming_the_field(api: Api, body: Any, target: str | None) -> None:
    path = rg_path(SUB_A, "rg1") + QUERY
    if isinstance(body, str):
        response = api.request(
            "POST", path, content=body.encode(), headers={"Content-Type": "application/json"}
        )
    else:
        response = api.post(path, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["message"]
    if target is not None:
        assert error["target"] == target, error


@pytest.mark.parametrize(
    "scope",
    [
        f"/subscriptions/{SUB_A}/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm",
        f"/subscriptions/{SUB_A}/resourceGroups/rg1/providers/{ML}/workspaces/ws1/connections/c",
        "/providers/Microsoft.Billing/billingAccounts/1",
    ],
)
def test_scopes_without_usage_totals_are_a_400_on_scope(api: Api, scope: str) -> None:
    response = api.post(scope + QUERY, GOOD)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["target"] == "scope"


def test_a_nul_in_a_value_is_never_a_500(api: Api, db: Database) -> None:
    body = {**GOOD, "dataset": {"filter": dim("Meter", "a\x00b")}}
    response = api.post(f"/subscriptions/{SUB_A}" + QUERY, body)
    # SQLite compares a NUL like any character (and finds nothing); PostgreSQL refuses it
    assert response.status_code == (200 if db.is_sqlite else 400), response.text
