"""Studio's Costs (issue 14 item 9) over HTTP, on SQLite and PostgreSQL: the cost per day of the
chosen workspace, its resource group or its account, stacked by meter or by endpoint; the table's
rows add up exactly to its total row and to the Cost Management query's own sums (support/costs.py
writes the usage); money exact (never $0.00 for a small cost); the CSV; the date range checked in
words; scopes the user may not query disabled with the missing action."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from html import unescape

import pytest
from fastapi.testclient import TestClient

from conftest import ADMIN_TOKEN
from maas.billing.costs import query_costs
from maas.billing.meters import INPUT_TOKENS as IN
from maas.billing.meters import OUTPUT_TOKENS as OUT
from maas.billing.meters import priced
from maas.controlplane.services.access import caller_for
from maas.web.routes import costs as costs_page
from support.api import FREE_MODEL, Api, World
from support.costs import EP_A, EP_B, USAGE, written_usage
from support.studio import parse, sign_in
from support.studio_flows import READER, choose_workspace, user_with_role

MARCH = {"from": "2025-03-01", "to": "2025-03-31"}
QUERY_READ = "Microsoft.CostManagement/query/read"


@pytest.fixture
def world(api: Api, client: TestClient) -> World:
    world = api.world(catalog=False)  # the account, rg1 and ws1 that support.costs bills
    api.ok(api.put(f"{world.sub_path}/resourceGroups/rg2", {"location": "eastus2"}))
    written_usage(client)
    return world


@pytest.fixture
def admin(client: TestClient, world: World) -> TestClient:
    sign_in(client, "admin", ADMIN_TOKEN)
    choose_workspace(client, world)
    return client


def exact(keep: object) -> tuple[int, Decimal]:
    """(tokens, cost) of USAGE's uses that `keep(use)` selects in March, summed exactly."""
    quantity, total = 0, Decimal(0)
    for use in USAGE:
        if use.when.month == 3 and keep(use):  # type: ignore[operator]
            for count, price in ((use.input, use.input_price), (use.output, use.output_price)):
                quantity += count
                total += Decimal(count) * Decimal(price) / 1000
    return quantity, total


def money(text: str) -> Decimal:
    return Decimal(text.strip().lstrip("$€£").replace(",", ""))


def table(html: str) -> tuple[list[list[str]], list[list[str]]]:
    """The cost table's body rows and its total rows, as cell texts."""

    def cells(block: str) -> list[list[str]]:
        rows = []
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", block, re.S):
            rows.append(
                [
                    " ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split())
                    for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
                ]
            )
        return rows

    body = html.split('<table id="cost-table">', 1)[1]
    return cells(body.split("<tbody>", 1)[1].split("</tbody>", 1)[0]), cells(
        body.split("<tfoot>", 1)[1].split("</tfoot>", 1)[0]
    )


def test_the_table_adds_up_to_the_total_by_meter(admin: TestClient, world: World) -> None:
    page = admin.get("/studio/costs", params=MARCH)
    assert page.status_code == 200, page.text
    rows, totals = table(page.text)
    tokens, cost = exact(lambda u: u.ep.ws == "ws1")
    assert sum(money(r[3]) for r in rows) == cost
    assert sum(int(r[2].replace(",", "")) for r in rows) == tokens
    assert totals == [["Total", f"{tokens:,}", f"${format(cost.normalize(), 'f')}", "USD"]]
    assert f"Total USD: ${format(cost.normalize(), 'f')}" in parse(page.text).text
    # A day and meter of EP-A alone: 333 input tokens at 0.00035 per 1K on 2025-03-02.
    assert ["2025-03-02", IN, "333", "$0.00011655", "USD"] in rows
    assert {r[1] for r in rows} == {
        IN,
        OUT,
        priced(IN, "0", "USD").meter_id,
        priced(OUT, "0", "USD").meter_id,
    }


def test_stacked_by_endpoint(admin: TestClient, api: Api, world: World) -> None:
    """Endpoints are named as written when they still exist (EP-A here); the costs of one that
    is gone keep the lower-case id the usage was billed under (ep-b)."""
    api.catalog()
    created = api.create_endpoint(world, EP_A.name, FREE_MODEL)
    assert created.status_code == 201 and api.wait_operation(created)["status"] == "Succeeded"
    page = admin.get("/studio/costs", params=MARCH | {"by": "endpoint"})
    rows, totals = table(page.text)
    assert {r[1] for r in rows} == {f"{EP_A.name} ws1", f"{EP_B.name} ws1"}
    _, cost = exact(lambda u: u.ep.ws == "ws1")
    assert sum(money(r[3]) for r in rows) == cost == money(totals[0][2])
    a_day_one = sum(
        (Decimal(u.input) * Decimal(u.input_price) + Decimal(u.output) * Decimal(u.output_price)) / 1000
        for u in USAGE
        if u.ep is EP_A and u.when.day == 1 and u.when.month == 3
    )
    assert [
        "2025-03-01",
        f"{EP_A.name} ws1",
        "3,450",
        f"${format(a_day_one.normalize(), 'f')}",
        "USD",
    ] in rows


@pytest.mark.parametrize(
    ("scope", "keep"),
    [
        ("workspace", lambda u: u.ep.ws == "ws1"),
        ("group", lambda u: u.ep.sub == World().sub and u.ep.rg == "rg1"),
        ("account", lambda u: u.ep.sub == World().sub),
    ],
)
def test_each_scope_totals_what_the_query_sums(
    admin: TestClient, world: World, scope: str, keep: object
) -> None:
    page = admin.get("/studio/costs", params=MARCH | {"scope": scope})
    rows, totals = table(page.text)
    tokens, cost = exact(keep)
    assert sum(money(r[3]) for r in rows) == cost == money(totals[0][2])
    assert int(totals[0][1].replace(",", "")) == tokens


def test_the_chart_gets_one_value_per_day_for_each_layer(admin: TestClient, world: World) -> None:
    page = admin.get("/studio/costs", params=MARCH | {"by": "endpoint"})
    found = re.search(r'id="cost-chart" data-chart="([^"]*)"', page.text)
    assert found is not None
    chart = json.loads(unescape(found.group(1)))
    assert chart["currency"] == "USD" and chart["by"] == "Endpoint"
    assert len(chart["days"]) == 31 and chart["days"][0] == int(datetime(2025, 3, 1, tzinfo=UTC).timestamp())
    assert [s["label"] for s in chart["series"]] == ["ep-a", "ep-b"]  # the costliest first
    assert all(len(s["values"]) == 31 for s in chart["series"])
    assert sum(chart["series"][0]["values"]) > 0 and sum(chart["series"][1]["values"]) == 0  # ep-b is free
    scripts = [s["src"] for s in parse(page.text).scripts]
    assert any("/vendor/uplot/uPlot.iife.min.js" in s for s in scripts) and any(
        "/costs.js" in s for s in scripts
    )
    assert "<figcaption>Cost per day, stacked by endpoint" in page.text


def test_the_csv_has_the_tables_rows(admin: TestClient, world: World) -> None:
    page = admin.get("/studio/costs", params=MARCH)
    link = parse(page.text).links["Download CSV"]
    assert link == "/studio/costs.csv?scope=workspace&from=2025-03-01&to=2025-03-31&by=meter"
    answer = admin.get(link)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert (
        answer.headers["content-disposition"] == 'attachment; filename="costs-ws1-2025-03-01-2025-03-31.csv"'
    )
    lines = list(csv.reader(io.StringIO(answer.text)))
    assert lines[0] == ["Date", "Meter", "Quantity", "Cost", "Currency"]
    rows, _ = table(page.text)
    as_shown = [[r[0], r[1], int(r[2].replace(",", "")), money(r[3]), r[4]] for r in rows]
    assert as_shown == [[d, m, int(q), Decimal(c), cur] for d, m, q, c, cur in lines[1:]]
    assert sum(Decimal(line[3]) for line in lines[1:]) == exact(lambda u: u.ep.ws == "ws1")[1]
    by_endpoint = list(
        csv.reader(io.StringIO(admin.get("/studio/costs.csv", params=MARCH | {"by": "endpoint"}).text))
    )
    assert by_endpoint[0][1] == "Endpoint" and {line[1] for line in by_endpoint[1:]} == {
        EP_A.id.lower(),
        EP_B.id.lower(),
    }


@pytest.mark.parametrize(
    ("params", "words"),
    [
        (
            {"from": "2025-03-31", "to": "2025-03-01"},
            "The To date (2025-03-01) is before the From date (2025-03-31).",
        ),
        (
            {"from": "31/03/2025", "to": "2025-03-31"},
            "The From date '31/03/2025' is not a date: use YYYY-MM-DD",
        ),
        ({"from": "2025-03-01", "to": "tomorrow"}, "The To date 'tomorrow' is not a date"),
        ({"from": "2023-01-01", "to": "2025-03-31"}, "Choose at most 366 days"),
        ({"scope": "tenant"}, "The scope 'tenant' is not one of: workspace, group, account."),
        ({"by": "model"}, "Costs stack by meter or by endpoint, not 'model'."),
    ],
)
def test_a_bad_range_is_said_in_words(
    admin: TestClient, world: World, params: dict[str, str], words: str
) -> None:
    page = admin.get("/studio/costs", params=params)
    assert page.status_code == 400 and words in " ".join(parse(page.text).alerts)
    assert 'id="cost-from"' in page.text  # the form is still there to correct it
    download = admin.get("/studio/costs.csv", params=params)
    assert download.status_code == 400 and words in " ".join(parse(download.text).alerts)


def test_the_default_range_is_this_month(admin: TestClient, world: World) -> None:
    page = admin.get("/studio/costs")
    assert page.status_code == 200
    today = datetime.now(UTC).date()
    assert (
        f'value="{today.replace(day=1).isoformat()}"' in page.text
        and f'value="{today.isoformat()}"' in page.text
    )
    assert "No costs in this range" in page.text  # the written usage is from 2025
    assert "Total: <strong>$0.00</strong>" in page.text


def test_small_costs_are_never_rounded_to_zero(admin: TestClient, world: World) -> None:
    rows, _ = table(admin.get("/studio/costs", params=MARCH).text)
    paid = [r for r in rows if r[1] in (IN, OUT)]
    assert paid and all(money(r[3]) > 0 for r in paid)
    assert not [r for r in paid if r[3] in ("$0.00", "$0")]
    assert "$0.0000539" in [r[3] for r in paid]  # 77 output tokens at 0.0007 per 1K on 2025-03-02


def test_a_user_who_may_query_only_the_workspace(client: TestClient, api: Api, world: World) -> None:
    user_with_role(api, client, "rita@contoso.example", READER, world.ws_path)
    choose_workspace(client, world)
    page = client.get("/studio/costs", params=MARCH)
    assert page.status_code == 200
    assert f'<option value="group" disabled>Resource group: {world.rg}</option>' in page.text
    assert f'<option value="account" disabled>Account: {world.sub}</option>' in page.text
    reasons = " ".join(parse(page.text).reasons)
    assert f"You need {QUERY_READ} on the resource group {world.rg}." in reasons
    assert f"You need {QUERY_READ} on the account {world.sub}." in reasons
    refused = client.get("/studio/costs", params=MARCH | {"scope": "account"})
    assert refused.status_code == 403 and f"you need {QUERY_READ} on" in " ".join(parse(refused.text).alerts)
    assert "cost-table" not in refused.text
    assert client.get("/studio/costs.csv", params=MARCH | {"scope": "account"}).status_code == 403


def test_the_table_pages_and_the_total_covers_every_row(
    admin: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(costs_page, "PAGE_SIZE", 3)
    first = admin.get("/studio/costs", params=MARCH)
    rows, totals = table(first.text)
    assert len(rows) == 3 and "Rows 1–3 of" in parse(first.text).text
    seen = list(rows)
    link = parse(first.text).links.get("Next")
    while link:
        page = admin.get(link)
        more, again = table(page.text)
        assert again == totals
        seen += more
        link = parse(page.text).links.get("Next")
    assert sum(money(r[3]) for r in seen) == money(totals[0][2]) == exact(lambda u: u.ep.ws == "ws1")[1]


def test_without_a_workspace_costs_asks_for_one(client: TestClient, world: World) -> None:
    sign_in(client, "admin", ADMIN_TOKEN)
    answer = client.get("/studio/costs", follow_redirects=False)
    assert answer.status_code == 302 and answer.headers["location"] == "/studio/workspace?next=/studio/costs"


def test_the_query_service_keeps_decimals_for_studio(client: TestClient, api: Api, world: World) -> None:
    """`query_costs(exact=True)` answers `Decimal` costs (Studio adds them up exactly); without it,
    floats, as the API sends them."""
    services = client.app.state.process.services  # type: ignore[attr-defined]
    object_id, _ = api.principal("costs-reader")
    api.ok(api.assign(world.ws_path, object_id, READER), 201)
    caller = caller_for(services, object_id)
    body = costs_page.definition(costs_page.Query("workspace", date(2025, 3, 1), date(2025, 3, 31), "meter"))
    kept = query_costs(services, caller, world.ws_path, body, exact=True)["properties"]["rows"]
    sent = query_costs(services, caller, world.ws_path, body)["properties"]["rows"]
    assert all(isinstance(row[0], Decimal) for row in kept) and all(isinstance(row[0], float) for row in sent)
    assert sum(row[0] for row in kept) == exact(lambda u: u.ep.ws == "ws1")[1]
    assert [float(row[0]) for row in kept] == [row[0] for row in sent]
