"""`maas monitor activity-log list` against a running server, as `az monitor activity-log list`
is used: the window from --offset or --start-time/--end-time, filters by resource group,
correlation id and caller, table output, and the server's 400 for a window past 90 days."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from maas.cli.main import app
from support.api import ML, Api, World
from support.server import RunningServer, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("monitor") / "data") as running:
        with running.client() as client:
            api = Api(client, running.token)  # type: ignore[arg-type]
            world = api.world(World(), catalog=False)
            api.ok(api.put(World(rg="other").rg_path, {"location": world.location}))
            response = api.put(
                f"{world.rg_path}/providers/{ML}/workspaces/traced",
                {"location": world.location},
                headers={"x-ms-correlation-request-id": "e2e-correlation"},
            )
            api.ok(response)
        yield running


def run(server: RunningServer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        [
            "monitor",
            "activity-log",
            "list",
            "-s",
            World().sub,
            *args,
            "--url",
            server.url,
            "--token",
            server.token,
        ],
    )
    return result.exit_code, result.output


def test_lists_the_last_hours_events_newest_first(server: RunningServer) -> None:
    code, out = run(server, "--offset", "1h")
    assert code == 0, out
    events = json.loads(out)
    ids = [e["resourceId"] for e in events]
    assert f"{World().rg_path}/providers/{ML}/workspaces/traced" in ids
    assert World(rg="other").rg_path in ids
    stamps = [e["eventTimestamp"] for e in events]
    assert stamps == sorted(stamps, reverse=True)
    assert {e["caller"] for e in events} == {"admin"}


def test_filters_by_resource_group_correlation_id_and_caller(server: RunningServer) -> None:
    code, out = run(server, "-g", "OTHER")
    assert code == 0, out
    assert [e["resourceId"] for e in json.loads(out)] == [World(rg="other").rg_path]
    code, out = run(server, "--correlation-id", "e2e-correlation")
    assert code == 0, out
    (event,) = json.loads(out)
    assert event["operationName"]["value"] == f"{ML}/workspaces/write"
    assert event["httpRequest"]["method"] == "PUT"
    code, out = run(server, "--caller", "nobody")
    assert code == 0 and json.loads(out) == []
    code, out = run(server, "--max-events", "1")
    assert code == 0 and len(json.loads(out)) == 1


def test_a_window_in_the_past_is_empty_and_table_output_works(server: RunningServer) -> None:
    start = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    code, out = run(server, "--start-time", start, "--offset", "1d")
    assert code == 0 and json.loads(out) == []
    code, out = run(server, "--correlation-id", "e2e-correlation", "-o", "table")
    assert code == 0, out
    assert "e2e-correlation" in out and "Caller" in out


def test_a_window_past_90_days_is_the_servers_400(server: RunningServer) -> None:
    code, out = run(server, "--offset", "91d")
    assert code == 1
    assert "90 days" in out
    code, out = run(server, "--offset", "soon")
    assert code == 2 and "offset" in out
