"""The README's five-minute tour, command by command, against a real server: sign in, an account
with a payment method, a resource group and a workspace made with the CLI, subscribe and deploy
the shipped paid chat model from the YAML files in `examples/`, call it with the `openai` client,
see the cost with `maas usage show`, then remove the payment method (the endpoint answers 403)
and restore it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI, PermissionDeniedError
from typer.testing import CliRunner

from maas.cli.main import app
from support.server import RunningServer, running_server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SUB = "00000000-0000-0000-0000-00000000700a"
CHAT = "azureml://registries/maas/models/maas-tiny-chat"
ENV_VARS = ("MAAS_URL", "MAAS_TOKEN", "MAAS_ADMIN_TOKEN", "MAAS_SUBSCRIPTION")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("cli-tour") / "data") as running:
        yield running


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAAS_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def ok(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


def test_the_readme_tour(server: RunningServer, home: Path) -> None:
    # A fresh server has no accounts yet: `login` says how to make one (stdout stays JSON, as az's).
    first = CliRunner().invoke(app, ["login", "--url", server.url, "--token", server.token])
    assert first.exit_code == 0 and json.loads(first.stdout) == []
    assert "No accounts on this server yet" in first.stderr and "maas account create" in first.stderr
    models = json.loads(ok("model", "list", "maas", "--query", "[].name"))
    assert set(models) >= {"maas-tiny-chat", "wordllama-embed"}
    offers = json.loads(ok("offer", "list", "--query", "[?name=='maas-tiny-chat'].properties.meters[]"))
    assert {m["meterId"] for m in offers} == {"paygo-inference-input-tokens", "paygo-inference-output-tokens"}

    ok("account", "create", "--subscription", SUB, "--payment-method", "CreditCard")
    ok("account", "set", "--subscription", SUB)
    assert (
        json.loads(ok("group", "create", "--name", "rg1", "--location", "eastus2", "--query", "name"))
        == "rg1"
    )
    workspace = ["--name", "my-workspace", "-g", "rg1", "--location", "eastus2"]
    ws = ok("ml", "workspace", "create", *workspace, "-o", "tsv", "--query", "location")
    assert ws.strip() == "eastus2"
    ok("configure", "--defaults", "workspace=my-workspace", "group=rg1", "location=eastus2")
    # Signing in again lists the account, as `az login` lists subscriptions.
    again = CliRunner().invoke(app, ["login", "--url", server.url, "--token", server.token])
    assert again.exit_code == 0 and "No accounts" not in again.stderr
    assert json.loads(again.stdout) == [{"id": SUB, "name": SUB, "state": "Enabled", "isDefault": True}]

    ok("ml", "marketplace-subscription", "create", "-f", str(EXAMPLES / "subscription.yml"))
    created = json.loads(ok("ml", "serverless-endpoint", "create", "-f", str(EXAMPLES / "endpoint.yml")))
    assert created["name"] == "tiny-chat-qwerty" and created["model_id"] == CHAT
    assert created["provisioning_state"].lower() == "succeeded"
    # In an 80-column terminal the table keeps every cell whole (it overflows; az's does too).
    narrow = CliRunner(env={"COLUMNS": "80"}).invoke(
        app, ["ml", "serverless-endpoint", "list", "-o", "table"]
    )
    assert narrow.exit_code == 0, narrow.stderr
    header, row = narrow.stdout.splitlines()
    assert header.split()[:2] == ["Name", "Model_id"] and "Scoring_uri" in header.split()
    assert {"tiny-chat-qwerty", CHAT, created["scoring_uri"]} <= set(row.split())
    keys = json.loads(ok("ml", "serverless-endpoint", "get-credentials", "-n", "tiny-chat-qwerty"))
    saas = json.loads(ok("resource", "list", "--query", "[?type=='Microsoft.SaaS/resources'].name"))
    assert len(saas) == 1 and saas[0].startswith("maas-tiny-chat-")

    client = OpenAI(base_url=created["scoring_uri"], api_key=keys["primaryKey"])
    reply = client.chat.completions.create(
        model="maas-tiny-chat", messages=[{"role": "user", "content": "What does ocean mean?"}], max_tokens=8
    )
    assert reply.usage is not None and reply.usage.completion_tokens > 0

    csv_lines = ok("usage", "show", "-g", "rg1", "-w", "my-workspace", "-o", "csv").strip().splitlines()
    assert csv_lines[0].startswith("PreTaxCost,UsageQuantity,MeterId")
    quantities = {line.split(",")[2]: int(line.split(",")[1]) for line in csv_lines[1:]}
    assert quantities == {
        "paygo-inference-input-tokens": reply.usage.prompt_tokens,
        "paygo-inference-output-tokens": reply.usage.completion_tokens,
    }

    ok("account", "update", "--payment-method", "None")
    with pytest.raises(PermissionDeniedError, match="payment method"):
        client.chat.completions.create(model="maas-tiny-chat", messages=[{"role": "user", "content": "hi"}])
    shown = json.loads(ok("ml", "serverless-endpoint", "show", "-n", "tiny-chat-qwerty"))
    assert shown["endpoint_state"].lower() == "suspended"
    ok("account", "update", "--payment-method", "CreditCard")
    again = client.chat.completions.create(
        model="maas-tiny-chat", messages=[{"role": "user", "content": "hi"}], max_tokens=4
    )
    assert again.choices[0].message.content is not None

    # the operator's commands take the same output options
    pools = json.loads(ok("pool", "list", "-o", "json", "--query", "[].properties.model"))
    assert "maas-tiny-chat" in pools
    quota = ok(
        "quota", "show", "-n", "tiny-chat-qwerty", "-o", "yaml", "--query", "properties.tokensPerMinute"
    )
    assert quota.strip() == "200000"
    rows = ok("usage", "show", "-o", "tsv", "--query", "rows[*][2]").strip().splitlines()
    assert sorted(r.split("\t")[0] for r in rows) == [
        "paygo-inference-input-tokens",
        "paygo-inference-output-tokens",
    ]

    # a connection to the endpoint (for use from another workspace or prompt flow); an empty
    # table prints nothing at all
    assert ok("ml", "connection", "list", "-o", "table") == ""
    connection = ["ml", "connection", "create", "-f", str(EXAMPLES / "connection.yml")]
    connection += ["--set", f"endpoint={created['scoring_uri']}", "--set", f"api_key={keys['primaryKey']}"]
    conn = json.loads(ok(*connection))
    assert conn["name"] == "tiny-chat-connection" and conn["endpoint"] == created["scoring_uri"]
    assert json.loads(ok("ml", "connection", "list", "--query", "[].name")) == ["tiny-chat-connection"]
    shown_conn = json.loads(ok("ml", "connection", "show", "-n", "tiny-chat-connection"))
    assert shown_conn.get("api_key") in (None, "")  # secrets only on request
    ok("ml", "connection", "delete", "-n", "tiny-chat-connection", "--yes")
    assert json.loads(ok("ml", "connection", "list")) == []
    (home / "bad-connection.yml").write_text("name: c2\ntype: serverless\nendpont: http://x\n")
    bad = CliRunner().invoke(app, ["ml", "connection", "create", "-f", "bad-connection.yml"])
    assert bad.exit_code == 2 and "bad-connection.yml" in bad.stderr and "endpont" in bad.stderr
