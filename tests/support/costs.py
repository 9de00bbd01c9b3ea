"""Shared by the cost query suites (test_costs*.py): usage across two accounts, resource groups,
workspaces, endpoints, meters, prices and hours, written with the ledger's `write_batch`, the
expected sums computed record by record with `Decimal`, and query helpers. No tests here."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from maas.billing.batches import write_batch
from maas.billing.meters import INPUT_TOKENS as IN
from maas.billing.meters import OUTPUT_TOKENS as OUT
from maas.billing.meters import PriceList, priced
from maas.billing.records import UsageRecord
from maas.controlplane.store.database import Database
from support.api import FREE_MODEL, ML, MODEL, Api

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
        for side, count, price in ((IN, use.input, use.input_price), (OUT, use.output, use.output_price)):
            meter = priced(side, price, use.currency).meter_id  # free tokens: the side's free meter
            if keep(use, meter):
                total += Decimal(count) * Decimal(price) / 1000
                quantity += count
    return float(total), quantity


def record(use: Use) -> UsageRecord:
    ep = use.ep
    prices = PriceList(priced(IN, use.input_price, use.currency), priced(OUT, use.output_price, use.currency))
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


def written_usage(client: TestClient) -> Database:
    """The app's store with USAGE written through the ledger's batch write."""
    database: Database = client.app.state.process.services.db  # type: ignore[attr-defined]
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


def group(*names: str) -> list[dict[str, str]]:
    return [{"type": "Dimension", "name": n} for n in names]


def dim(name: str, *values: str) -> dict[str, Any]:
    return {"dimensions": {"name": name, "operator": "In", "values": list(values)}}
