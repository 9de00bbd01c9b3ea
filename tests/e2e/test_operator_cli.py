"""The operator's CLI against a running server: add models from a Hugging Face folder, a GGUF
file and an upstream URL, create offers, list them, set quotas and decide quota requests, and see
errors as one line + exit code 1."""

from __future__ import annotations

import json
import uuid
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


def test_quota_request_filed_listed_approved_denied_and_cancelled(server: RunningServer) -> None:
    """`maas quota request …` against `maas serve`: a workspace Contributor files and cancels, the
    operator sees the queue and approves (the endpoint's quota moves) or denies; errors are one
    line and exit code 1."""
    sub, rg, ws = "00000000-0000-0000-0000-0000000000ab", "qr-rg", "qr-ws"
    ws_path = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices"
    ws_path += f"/workspaces/{ws}"
    contributor = "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
    with server.client() as http:
        for path, body in (
            (f"/subscriptions/{sub}", {"properties": {"billingProfile": {"paymentMethod": "CreditCard"}}}),
            (f"/subscriptions/{sub}/resourceGroups/{rg}", {"location": "eastus"}),
            (ws_path, {"location": "eastus"}),
            (
                ws_path + "/serverlessEndpoints/embed-r",
                {
                    "properties": {
                        "modelSettings": {"modelId": "azureml://registries/maas/models/wordllama-embed"}
                    },
                    "sku": {"name": "Consumption"},
                },
            ),
            ("/providers/Microsoft.MaaS/principals/qr-dev", {}),
        ):
            response = http.put(path, json=body)
            assert response.status_code in (200, 201), response.text
            if path.endswith("qr-dev"):
                dev_id = response.json()["properties"]["principalId"]
                dev_token = response.json()["properties"]["token"]
        assignment = f"{ws_path}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
        response = http.put(
            assignment, json={"properties": {"roleDefinitionId": contributor, "principalId": dev_id}}
        )
        assert response.status_code == 201, response.text

    def as_dev(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, [*args, "--url", server.url, "--token", dev_token])
        return result.exit_code, result.output

    where = ["-s", sub, "-g", rg, "-w", ws]
    code, out = as_dev(
        "quota", "request", "create", "--endpoint", "embed-r", *where,
        "--tokens-per-minute", "400000", "--reason", "nightly batch", "--name", "batch",
    )  # fmt: skip
    assert code == 0, out
    assert "status    Pending" in out and "tokens/min 200,000 → 400,000" in out and "nightly batch" in out
    code, out = as_dev(
        "quota",
        "request",
        "create",
        "-e",
        "embed-r",
        *where,
        "--requests-per-minute",
        "5000",
        "--reason",
        "x",
    )
    assert code == 1 and "QuotaRequestPending" in out and "'batch'" in out, out
    code, out = as_dev("quota", "request", "approve", "--id", "batch", "-e", "embed-r", *where)
    assert code == 1 and "AuthorizationFailed" in out and "approve/action" in out, out
    code, out = as_dev("quota", "request", "list", "-w", ws, "-g", rg, "-s", sub)
    assert code == 0 and "batch" in out and "Pending" in out and "400,000" in out, out

    # the operator's queue, by full id
    code, out = run(server, "quota", "request", "list", "--status", "pending", "-o", "json")
    assert code == 0, out
    [queued] = [r for r in json.loads(out) if r["name"] == "batch"]
    code, out = run(
        server, "quota", "request", "approve", "--id", queued["id"], "--message", "ok", "-o", "json"
    )
    assert code == 0, out
    assert json.loads(out)["properties"]["status"] == "Approved"
    code, out = run(server, "quota", "show", *where, "-n", "embed-r")
    assert code == 0 and "400,000" in out and "quota request batch" in out, out
    code, out = run(server, "quota", "request", "deny", "--id", queued["id"])
    assert code == 1 and "QuotaRequestNotPending" in out, out

    # a second request, denied; a third, cancelled by its requester
    code, out = as_dev(
        "quota", "request", "create", "-e", "embed-r", *where,
        "--requests-per-minute", "5000", "--reason", "peak", "--name", "peak",
    )  # fmt: skip
    assert code == 0, out
    code, out = run(
        server, "quota", "request", "deny", "--id", "peak", "-e", "embed-r", *where, "-m", "use two endpoints"
    )
    assert code == 0 and "Denied" in out and "use two endpoints" in out, out
    code, out = as_dev(
        "quota", "request", "create", "-e", "embed-r", *where,
        "--requests-per-minute", "5000", "--reason", "again", "--name", "again", "-o", "json",
    )  # fmt: skip
    assert code == 0, out
    code, out = as_dev("quota", "request", "cancel", "--id", json.loads(out)["id"])
    assert code == 0 and "Cancelled" in out, out
    code, out = as_dev("quota", "request", "show", "--id", "peak", "-e", "embed-r", *where)
    assert code == 0 and "Denied" in out and "use two endpoints" in out, out
    code, out = as_dev(
        "quota", "request", "list", "-e", "embed-r", *where, "-o", "json", "--query", "[].name"
    )
    assert code == 0 and json.loads(out) == ["again", "peak", "batch"], out
    # usage errors
    code, out = as_dev("quota", "request", "create", "-e", "embed-r", *where, "--reason", "r")
    assert code == 2 and "--tokens-per-minute" in out
    code, out = as_dev("quota", "request", "show", "--id", "peak")
    assert code == 2 and "--endpoint" in out
    code, out = as_dev("quota", "request", "list", "--status", "maybe")
    assert code == 2 and "Pending" in out
