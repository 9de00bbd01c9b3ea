"""Every file in `examples/` works as the README and `docs/clients.md` use it, against a real
server with the shipped models: the YAML files through `maas ml … create -f`, the ARM templates
through `maas deployment group create`, each with its defaults (plus the one parameter a second
endpoint for the same model needs), and the endpoints they make answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI
from typer.testing import CliRunner

from maas.cli.main import app
from maas.server.defaults import CHAT_TERMS
from support.server import RunningServer, running_server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
USED = {
    "subscription.yml",
    "endpoint.yml",
    "embed-endpoint.yml",
    "connection.yml",
    "subscription-template.json",
    "endpoint-template.json",
    "custom-role.json",
}
SUB = "00000000-0000-0000-0000-0000000e8a01"
CHAT = "azureml://registries/maas/models/maas-tiny-chat"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("examples") / "data") as running:
        yield running


def ok(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


def example(name: str) -> str:
    return str(EXAMPLES / name)


def test_every_example_is_run_here() -> None:
    assert {path.name for path in EXAMPLES.iterdir() if path.suffix in (".yml", ".json")} == USED


def test_the_examples_create_what_they_say(server: RunningServer) -> None:
    ok("login", "--url", server.url, "--token", server.token)
    ok("account", "create", "--subscription", SUB, "--payment-method", "CreditCard")
    ok("account", "set", "--subscription", SUB)
    for group in ("rg1", "rg2"):
        ok("group", "create", "--name", group, "--location", "eastus2")
        ok("ml", "workspace", "create", "--name", "my-workspace", "-g", group, "--location", "eastus2")
    ok("configure", "--defaults", "workspace=my-workspace", "group=rg1", "location=eastus2")

    # YAML files
    sub = json.loads(ok("ml", "marketplace-subscription", "create", "-f", example("subscription.yml")))
    assert (sub["name"], sub["model_id"], sub["status"]) == ("maas-tiny-chat", CHAT, "subscribed")
    chat = json.loads(ok("ml", "serverless-endpoint", "create", "-f", example("endpoint.yml")))
    assert (chat["name"], chat["model_id"]) == ("tiny-chat-qwerty", CHAT)
    embed = json.loads(ok("ml", "serverless-endpoint", "create", "-f", example("embed-endpoint.yml")))
    assert embed["name"] == "embed-qwerty" and embed["provisioning_state"].lower() == "succeeded"
    keys = json.loads(ok("ml", "serverless-endpoint", "get-credentials", "-n", "embed-qwerty"))
    vectors = OpenAI(base_url=embed["scoring_uri"], api_key=keys["primaryKey"]).embeddings.create(
        model="wordllama-embed", input=["a cat", "a dog"]
    )
    assert len(vectors.data) == 2 and len(vectors.data[0].embedding) > 0
    chat_key = ok("ml", "serverless-endpoint", "get-credentials", "-n", "tiny-chat-qwerty")
    connection = json.loads(
        ok(
            "ml", "connection", "create", "-f", example("connection.yml"),
            "--set", f"endpoint={chat['scoring_uri']}",
            "--set", f"api_key={json.loads(chat_key)['primaryKey']}",
        )
    )  # fmt: skip
    assert connection["name"] == "tiny-chat-connection" and connection["endpoint"] == chat["scoring_uri"]

    # The SaaS item records the offer's terms whole (the shipped offer's are over 200 characters).
    (saas_id,) = json.loads(ok("resource", "list", "--query", "[?type=='Microsoft.SaaS/resources'].id"))
    with server.client() as http:
        saas = http.get(saas_id, params={"api-version": "2018-03-01-beta"})
    assert saas.status_code == 200, saas.text
    assert len(CHAT_TERMS) > 200 and saas.json()["properties"]["term"] == CHAT_TERMS

    # ARM templates, into the second resource group's workspace
    deploy = ["deployment", "group", "create", "--resource-group", "rg2"]
    done = ok(*deploy, "--name", "subscribe", "--template-file", example("subscription-template.json"))
    assert '"provisioningState": "Succeeded"' in done
    names = ok("ml", "marketplace-subscription", "list", "-g", "rg2", "--query", "[].name")
    assert json.loads(names) == ["maas-tiny-chat"]
    # endpoint names are unique per region (they are part of the Target URI): rg1 has the default
    done = ok(
        *deploy, "--name", "deploy", "--template-file", example("endpoint-template.json"),
        "--parameters", "endpoint_name=tiny-chat-arm",
    )  # fmt: skip
    assert '"provisioningState": "Succeeded"' in done
    shown = json.loads(ok("ml", "serverless-endpoint", "show", "-g", "rg2", "-n", "tiny-chat-arm"))
    assert shown["model_id"] == CHAT and shown["provisioning_state"].lower() == "succeeded"
    arm_key = json.loads(
        ok("ml", "serverless-endpoint", "get-credentials", "-g", "rg2", "-n", "tiny-chat-arm")
    )
    reply = OpenAI(base_url=shown["scoring_uri"], api_key=arm_key["primaryKey"]).chat.completions.create(
        model="maas-tiny-chat", messages=[{"role": "user", "content": "hi"}], max_tokens=4
    )
    assert reply.usage is not None and reply.usage.completion_tokens > 0


def test_the_custom_role_example_defines_the_seeds_role(server: RunningServer) -> None:
    """`custom-role.json` is the seed's "Permissions required to subscribe to model offerings" in
    the file format `az role definition create` takes, for the README's subscription."""
    ok("login", "--url", server.url, "--token", server.token)
    scope = "/subscriptions/00000000-0000-0000-0000-000000000001"
    ok("account", "create", "--subscription", scope.rsplit("/", 1)[1], "--payment-method", "CreditCard")
    created = json.loads(ok("role", "definition", "create", "--role-definition", example("custom-role.json")))
    source = json.loads((EXAMPLES / "custom-role.json").read_text())
    assert created["properties"]["type"] == "CustomRole"
    assert created["properties"]["roleName"] == source["Name"]
    assert created["properties"]["permissions"][0]["actions"] == source["Actions"]
    assert created["properties"]["assignableScopes"] == [scope]
    shown = json.loads(ok("role", "definition", "show", "-n", source["Name"], "--scope", scope))
    assert shown == created
