"""`maas usage show` against a running server: usage written to its store through the ledger,
read back through the CLI (→ SDK → HTTP → hourly totals) as a table with a total line and as
CSV, both parsed and checked to the last digit; errors are one line and a non-zero exit."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from maas.billing.batches import write_batch
from maas.billing.meters import INPUT_TOKENS as IN
from maas.billing.meters import OUTPUT_TOKENS as OUT
from maas.billing.meters import Price, PriceList
from maas.billing.records import UsageRecord
from maas.cli.main import app
from maas.controlplane.store.database import Database
from maas.core.settings import Settings
from support.server import RunningServer, running_server

SUB = "e2e-usage-sub"
RG = f"/subscriptions/{SUB}/resourceGroups/rg1"
WS = f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/ws1"
SAAS = f"{RG}/providers/Microsoft.SaaS/resources/llama-saas"
EP_PAID, EP_FREE = f"{WS}/serverlessEndpoints/llama", f"{WS}/serverlessEndpoints/phi"
# (endpoint, billed resource, time, input tokens, output tokens, input price, output price)
USAGE = [
    (EP_PAID, SAAS, datetime(2025, 3, 1, 9, 10, tzinfo=UTC), 1200, 300, "0.0003", "0.0006"),
    (EP_PAID, SAAS, datetime(2025, 3, 1, 17, 0, tzinfo=UTC), 800, 200, "0.00035", "0.0007"),
    (EP_PAID, SAAS, datetime(2025, 3, 2, 8, 0, tzinfo=UTC), 2000, 1000, "0.00035", "0.0007"),
    (EP_FREE, EP_FREE, datetime(2025, 3, 2, 9, 0, tzinfo=UTC), 5000, 4000, "0", "0"),
    (EP_FREE, EP_FREE, datetime(2025, 4, 1, 0, 0, tzinfo=UTC), 1, 1, "0", "0"),  # outside March
]


def record(
    endpoint: str, billed: str, when: datetime, tokens_in: int, tokens_out: int, p_in: str, p_out: str
) -> UsageRecord:
    return UsageRecord(
        request_id=str(uuid.uuid4()),
        endpoint_id=endpoint,
        subscription=SUB,
        resource_group="rg1",
        workspace="ws1",
        billed_resource_id=billed,
        model_id="azureml://registries/azureml/models/m/versions/1",
        offer_id=None,
        region="eastus2",
        route="chat/completions",
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        prices=PriceList(Price(IN, p_in, "USD"), Price(OUT, p_out, "USD")),
        status="Succeeded",
        started_at=when.timestamp(),
        ended_at=when.timestamp(),
    )


def expected(
    billed: str | None = None, meter: str | None = None, day: int | None = None
) -> tuple[Decimal, int]:
    cost, quantity = Decimal(0), 0
    for _, res, when, n_in, n_out, p_in, p_out in USAGE:
        if when.month != 3 or (billed and res != billed) or (day and when.day != day):
            continue
        for m, n, p in ((IN, n_in, p_in), (OUT, n_out, p_out)):
            if meter in (None, m):
                cost += Decimal(n) * Decimal(p) / 1000
                quantity += n
    return cost, quantity


def shown(cost: Decimal) -> str:
    """How the CLI prints a cost: the float the API sent, as plain decimal text."""
    return format(Decimal(repr(float(cost))), "f")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("usage") / "data") as running:
        db = Database(Settings(data_dir=running.data_dir).resolved_database_url)  # the server's store
        try:
            assert write_batch(db, [record(*u) for u in USAGE]) == len(USAGE)
        finally:
            db.engine.dispose()
        yield running


def run(server: RunningServer, *args: str) -> tuple[int, str, str]:
    runner = CliRunner(env={"COLUMNS": "250", "MAAS_SUBSCRIPTION": None})
    result = runner.invoke(app, ["usage", "show", *args, "--url", server.url, "--token", server.token])
    return result.exit_code, result.stdout, result.stderr


MARCH = ("--from", "2025-03-01", "--to", "2025-03-31")


def test_table_grouped_by_resource_and_meter_with_a_total_line(server: RunningServer) -> None:
    code, out, err = run(
        server, "-s", SUB, "-g", "rg1", *MARCH, "--group-by", "ResourceId", "--group-by", "Meter"
    )
    assert code == 0, err
    lines = [line for line in out.splitlines() if "│" in line or "┃" in line]
    cells = [[c.strip() for c in line.replace("┃", "│").strip("│").split("│")] for line in lines]
    assert cells[0] == ["PreTaxCost", "UsageQuantity", "ResourceId", "Meter", "Currency"]
    body, total = cells[1:-1], cells[-1]
    want = []
    for billed in sorted({SAAS.lower(), EP_FREE.lower()}):
        for meter in (IN, OUT):
            cost, quantity = expected(billed=SAAS if billed == SAAS.lower() else EP_FREE, meter=meter)
            want.append([shown(cost), str(quantity), billed, meter, "USD"])
    assert body == want
    cost, quantity = expected()
    assert total == [format(sum(Decimal(r[0]) for r in want), "f"), str(quantity), "Total", "", "USD"]
    assert Decimal(total[0]) == cost  # these prices add up exactly as floats too


def test_csv_per_day_for_one_endpoint_and_meter(server: RunningServer) -> None:
    code, out, err = run(
        server, "-s", SUB, "-g", "rg1", "-w", "ws1", "--endpoint", "LLAMA", *MARCH,
        "--granularity", "Daily", "--meter", OUT, "-o", "csv",
    )  # fmt: skip
    assert code == 0, err
    table = list(csv.reader(io.StringIO(out)))
    assert table[0] == ["PreTaxCost", "UsageQuantity", "MeterId", "UsageDate", "Currency"]
    assert table[1:] == [
        [shown(expected(SAAS, OUT, day)[0]), str(expected(SAAS, OUT, day)[1]), OUT, f"2025030{day}", "USD"]
        for day in (1, 2)
    ]


def test_json_without_grouping_and_a_full_endpoint_id(server: RunningServer) -> None:
    code, out, err = run(server, "--endpoint", EP_FREE, *MARCH, "--group-by", "None", "-o", "json")
    assert code == 0, err
    result = json.loads(out)
    assert [c["name"] for c in result["columns"]] == ["PreTaxCost", "UsageQuantity", "Currency"]
    assert result["rows"] == [[0.0, expected(EP_FREE)[1], "USD"]] and result["next_link"] is None


def test_errors_are_one_line_on_stderr_and_a_non_zero_exit(server: RunningServer) -> None:
    code, out, err = run(server, "-s", SUB, "--group-by", "Region")
    assert code == 1 and out == ""
    assert err.startswith("ERROR: (BadRequest)") and "Region" in err and err.count("\n") == 1
    code, _, err = run(server, "-g", "rg1")
    assert code == 2 and "--subscription" in err
    code, _, err = run(server, "-s", SUB, "-w", "ws1")
    assert code == 2 and "--resource-group" in err
    code, _, err = run(server, "-s", SUB, "--to", "2025-03-01")
    assert code == 2 and "--from" in err
    code, _, err = run(server, "-s", SUB, "--from", "March")
    assert code == 2 and "not a date" in err
    code, _, err = run(server, "-s", SUB, *("--group-by", "Meter") * 3)
    assert code == 2 and "at most twice" in err
    result = CliRunner().invoke(
        app, ["usage", "show", "-s", SUB, "--url", "http://127.0.0.1:9", "--token", "t"]
    )
    assert result.exit_code == 1 and "cannot reach MaaS" in result.stderr
