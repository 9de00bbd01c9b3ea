"""Cost queries: who may query which scope, and bad requests as 400s naming the field (never 500)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from maas.controlplane.store.database import Database
from support.api import ML, Api, World
from support.costs import (
    AI_DEVELOPER,
    ALL,
    EP_C,
    QUERY,
    READER,
    SCOPES,
    SUB_A,
    dim,
    expected,
    group,
    query,
    rg_path,
    rows,
    written_usage,
    ws_path,
)


@pytest.fixture
def db(client: TestClient) -> Database:
    return written_usage(client)


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
