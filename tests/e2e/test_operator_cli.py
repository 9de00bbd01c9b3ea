"""The operator's CLI against a running server: add models from a Hugging Face folder, a GGUF
file and an upstream URL, create offers, list them, and see errors as one line + exit code 1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from maas.cli.main import app
from support.server import RunningServer, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("cli") / "data") as running:
        yield running


def run(server: RunningServer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--url", server.url, "--token", server.token])
    return result.exit_code, result.output


def test_model_add_from_each_source_and_offer_create(server: RunningServer, tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 16)
    code, out = run(
        server, "model", "add", "azureml://registries/local/models/tiny-hf/versions/1", "--hf", str(folder)
    )
    assert code == 0, out
    assert json.loads(out)["properties"]["artifact"] == {"kind": "huggingface", "path": str(folder.resolve())}
    code, out = run(
        server, "model", "add", "azureml://registries/local/models/tiny-gguf/versions/1", "--gguf", str(gguf)
    )
    assert code == 0, out
    code, out = run(
        server,
        "model",
        "add",
        "azureml://registries/local/models/up/versions/2",
        "--upstream",
        "http://127.0.0.1:11434/v1",
        "--upstream-model",
        "llama3",
        "--upstream-key",
        "sk-x",
    )
    assert code == 0, out
    assert "sk-x" not in out
    code, out = run(server, "model", "list", "local")
    assert code == 0, out
    assert sorted(m["name"] for m in json.loads(out)) == ["tiny-gguf", "tiny-hf", "up"]

    code, out = run(
        server,
        "offer",
        "create",
        "tiny-offer",
        "--model-id",
        "azureml://registries/local/models/tiny-hf",
        "--publisher",
        "local",
        "--input-price",
        "0.001",
        "--output-price",
        "0.002",
        "--region",
        "eastus2",
        "--terms",
        "Be nice.",
    )
    assert code == 0, out
    offer = json.loads(out)["properties"]
    assert offer["kind"] == "Marketplace" and offer["regions"] == ["eastus2"]
    assert [m["pricePer1K"] for m in offer["meters"]] == [0.001, 0.002]
    code, out = run(server, "offer", "list")
    assert code == 0
    assert "tiny-offer" in [o["name"] for o in json.loads(out)]


def test_errors_are_one_line_and_exit_non_zero(server: RunningServer, tmp_path: Path) -> None:
    code, out = run(
        server, "model", "add", "azureml://registries/local/models/bad/versions/1", "--hf", str(tmp_path)
    )
    assert code == 1
    assert "(InvalidArtifact)" in out and "config.json" in out
    code, out = run(
        server,
        "offer",
        "create",
        "x",
        "--model-id",
        "azureml://registries/local/models/none",
        "--publisher",
        "p",
    )
    assert code == 1 and "(ModelNotFound)" in out
    code, out = run(server, "model", "add", "azureml://registries/local/models/m", "--upstream", "http://x")
    assert code != 0 and "version" in out


def test_serving_settings_and_pool_commands(server: RunningServer) -> None:
    code, out = run(
        server,
        "model",
        "add",
        "azureml://registries/local/models/pooled/versions/1",
        "--hf",
        str(Path(__file__).resolve().parents[2] / "src/maas/shipped/models/maas-tiny-chat"),
        "--keep-alive",
        "pinned",
        "--max-replicas",
        "3",
        "--max-concurrency",
        "8",
        "--cold-start-timeout",
        "12.5",
    )
    assert code == 0, out
    serving = json.loads(out)["properties"]["serving"]
    assert serving == {"keepAlive": "pinned", "maxReplicas": 3, "maxConcurrency": 8, "coldStartTimeout": 12.5}
    code, out = run(
        server,
        "model",
        "add",
        "azureml://registries/local/models/p2/versions/1",
        "--hf",
        ".",
        "--keep-alive",
        "soon",
    )
    assert code != 0 and "--keep-alive" in out

    code, out = run(server, "pool", "list")
    assert code == 0, out
    assert out.splitlines()[0].split()[:3] == ["POOL", "BACKEND", "STATE"]
    code, out = run(server, "pool", "list", "-o", "json")
    assert code == 0 and isinstance(json.loads(out), list)
    code, out = run(server, "pool", "show", "no-such-pool")
    assert code == 1 and "no-such-pool" in out
    code, out = run(server, "pool", "restart", "no-such-pool")
    assert code == 1


def test_quota_set_and_show(server: RunningServer) -> None:
    sub, rg, ws = "00000000-0000-0000-0000-0000000000aa", "quota-rg", "quota-ws"
    ws_path = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices"
    ws_path += f"/workspaces/{ws}"
    with server.client() as http:
        for path, body in (
            (f"/subscriptions/{sub}", {"properties": {"billingProfile": {"paymentMethod": "CreditCard"}}}),
            (f"/subscriptions/{sub}/resourceGroups/{rg}", {"location": "eastus"}),
            (ws_path, {"location": "eastus"}),
            (
                ws_path + "/serverlessEndpoints/embed-q",
                {
                    "properties": {
                        "modelSettings": {"modelId": "azureml://registries/maas/models/wordllama-embed"}
                    },
                    "sku": {"name": "Consumption"},
                },
            ),
        ):
            response = http.put(path, json=body)
            assert response.status_code in (200, 201), response.text
    where = ["-s", sub, "-g", rg, "-w", ws, "-n", "embed-q"]
    code, out = run(server, "quota", "show", *where)
    assert code == 0, out
    assert "200,000" in out and "1,000" in out and "(default)" in out
    code, out = run(
        server,
        "quota",
        "set",
        *where,
        "--requests-per-minute",
        "5000",
        "--reason",
        "launch week",
        "-o",
        "json",
    )
    assert code == 0, out
    props = json.loads(out)["properties"]
    assert (props["requestsPerMinute"], props["tokensPerMinute"], props["isDefault"]) == (5000, 200000, False)
    code, out = run(server, "quota", "show", *where)
    assert code == 0 and "1,000 → 5,000" in out and "launch week" in out, out
    code, out = run(server, "quota", "set", *where)
    assert code != 0 and "--requests-per-minute" in out
    code, out = run(server, "quota", "show", "-s", sub, "-g", rg, "-w", ws, "-n", "missing")
    assert code == 1 and "ResourceNotFound" in out
