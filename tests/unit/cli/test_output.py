"""`-o table` as az prints it: nothing for an empty result, every cell whole however narrow the
terminal, ids/types/etags and all-empty columns left out unless `--query` picks them."""

from __future__ import annotations

from typing import Any

import pytest

from maas.cli.output import emit

URI = "http://127.0.0.1:8000/endpoints/eastus2/a-rather-long-endpoint-name-for-a-narrow-terminal"
ROW = {
    "name": "a-rather-long-endpoint-name-for-a-narrow-terminal",
    "model_id": "azureml://registries/maas/models/maas-tiny-chat",
    "location": "eastus2",
    "scoring_uri": URI,
    "kind": None,
    "tags": None,
    "description": "",
    "headers": {"x": "y"},
    "provisioning_state": "succeeded",
    "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w",
    "type": "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints",
}


def table(capsys: pytest.CaptureFixture[str], value: Any, query: str | None = None) -> str:
    emit(value, "table", query)
    return capsys.readouterr().out


@pytest.mark.parametrize("value", [[], None, {}, [{"only": {"nested": 1}}], [{"a": None}]])
def test_an_empty_table_prints_nothing(capsys: pytest.CaptureFixture[str], value: Any) -> None:
    assert table(capsys, value) == ""


def test_cells_are_whole_in_an_80_column_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = table(capsys, [ROW, {**ROW, "name": "short"}])
    header, first, second = out.splitlines()
    assert header.split() == ["Name", "Model_id", "Location", "Scoring_uri", "Provisioning_state"]
    assert first.split() == [ROW["name"], ROW["model_id"], "eastus2", URI, "succeeded"]
    assert second.split()[0] == "short" and URI in second.split()
    assert "…" not in out and not any(line != line.rstrip() for line in out.splitlines())


def test_a_query_keeps_the_id_it_picks(capsys: pytest.CaptureFixture[str]) -> None:
    out = table(capsys, [ROW], "[].{name: name, id: id}")
    assert out.splitlines() == [f"Name{' ' * (len(ROW['name']) - 2)}Id", f"{ROW['name']}  {ROW['id']}"]


def test_scalars_are_one_result_column(capsys: pytest.CaptureFixture[str]) -> None:
    assert table(capsys, ["a", "b"]).splitlines() == ["Result", "a", "b"]
