"""The seed's `az` lines as `maas` commands against a real server, in the seed's order: sign in,
`account set`, `configure --defaults`, subscribe with the seed's subscription.yml, list the SaaS
resources (the seed's bare `Microsoft.SaaS` query matches nothing and says what it could have
meant), deploy with the seed's endpoint.yml, list, show, get and regenerate keys, delete; plus
every output format, `--query`, `--no-wait`, `resource delete --name` and a YAML typo that
creates nothing.

The seed's YAML files are written verbatim: its model id is added to the catalog first (the
shipped tiny chat model's weights, sold as a paid marketplace offer in eastus2)."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from maas.cli.main import app
from support.server import RunningServer, running_server

SUB, RG, WS = "00000000-0000-0000-0000-00000000c11a", "seed-rg", "seed-ws"
SEED_MODEL = "azureml://registries/azureml-meta/models/Meta-Llama-3-8B-Instruct"
SHIPPED = Path(__file__).resolve().parents[2] / "src/maas/shipped/models/maas-tiny-chat"
SUBSCRIPTION_YML = """name: meta-llama3-8b-qwerty
model_id: azureml://registries/azureml-meta/models/Meta-Llama-3-8B-Instruct
"""
ENDPOINT_YML = """name: meta-llama3-8b-qwerty
model_id: azureml://registries/azureml-meta/models/Meta-Llama-3-8B-Instruct
"""
ENV_VARS = (
    "MAAS_URL",
    "MAAS_TOKEN",
    "MAAS_ADMIN_TOKEN",
    "MAAS_SUBSCRIPTION",
    "MAAS_RESOURCE_GROUP",
    "MAAS_WORKSPACE",
    "MAAS_LOCATION",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("cli-seed") / "data") as running:
        with running.client() as http:
            for path, body in (
                (
                    f"/subscriptions/{SUB}",
                    {"properties": {"billingProfile": {"paymentMethod": "CreditCard"}}},
                ),
                (f"/subscriptions/{SUB}/resourceGroups/{RG}", {"location": "eastus2"}),
                (
                    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices"
                    f"/workspaces/{WS}",
                    {"location": "eastus2"},
                ),
            ):
                response = http.put(path, json=body, params={"api-version": "2024-04-01"})
                assert response.status_code in (200, 201), response.text
        yield running


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh CLI config dir and no MAAS_* variables: everything comes from `login`/`configure`."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAAS_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> object:
        return json.loads(self.out)


def maas(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    return Result(result.exit_code, result.stdout, result.stderr)


def ok(*args: str) -> Result:
    result = maas(*args)
    assert result.code == 0, (args, result.out, result.err)
    return result


def sign_in(server: RunningServer) -> None:
    ok("login", "--url", server.url, "--token", server.token)
    ok("account", "set", "--subscription", SUB)
    ok("configure", "--defaults", f"workspace={WS}", f"group={RG}", "location=eastus2")


def add_seed_model(server: RunningServer) -> None:
    ok(
        "model",
        "add",
        SEED_MODEL + "/versions/1",
        "--hf",
        str(SHIPPED),
        "--url",
        server.url,
        "--token",
        server.token,
    )
    ok(
        "offer",
        "create",
        "meta-llama-3-8b-instruct",
        "--model-id",
        SEED_MODEL,
        "--publisher",
        "azureml-meta",
        "--region",
        "eastus2",
        "--input-price",
        "0.0003",
        "--output-price",
        "0.0006",
        "--url",
        server.url,
        "--token",
        server.token,
    )


def test_login_account_and_defaults_are_stored(server: RunningServer, home: Path) -> None:
    bad = maas("login", "--url", server.url, "--token", "not-a-token")
    assert bad.code == 1 and bad.err.startswith("ERROR: (")
    assert not (home / "config" / "cli.json").exists()
    sign_in(server)
    path = home / "config" / "cli.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert stored["url"] == server.url and stored["token"] == server.token and stored["subscription"] == SUB
    assert stored["defaults"] == {"workspace": WS, "group": RG, "location": "eastus2"}
    listed = ok("configure", "--list-defaults").json()
    assert {"name": "group", "value": RG} in listed  # type: ignore[operator]
    shown = ok("account", "show", "--query", "subscriptionId").json()
    assert shown == SUB
    assert maas("account", "set", "--subscription", "no-such-account").code == 1
    assert maas("configure", "--defaults", "colour=blue").code == 2
    ok("logout")
    assert "token" not in json.loads(path.read_text())
    result = maas("ml", "serverless-endpoint", "list")
    assert result.code == 2 and "maas login" in result.err


def test_the_seed_flow(server: RunningServer, home: Path) -> None:
    sign_in(server)
    add_seed_model(server)
    Path("subscription.yml").write_text(SUBSCRIPTION_YML)
    Path("endpoint.yml").write_text(ENDPOINT_YML)

    # az ml marketplace-subscription create -f subscription.yml
    created = ok("ml", "marketplace-subscription", "create", "-f", "subscription.yml").json()
    assert isinstance(created, dict) and created["name"] == "meta-llama3-8b-qwerty"
    assert created["model_id"] == SEED_MODEL
    # az ml marketplace-subscription list
    listed = ok("ml", "marketplace-subscription", "list").json()
    assert [s["name"] for s in listed] == ["meta-llama3-8b-qwerty"]  # type: ignore[union-attr, index]
    assert ok(
        "marketplace-subscription", "show", "-n", "meta-llama3-8b-qwerty", "--query", "name"
    ).json() == ("meta-llama3-8b-qwerty")

    # az resource list --query "[?type=='Microsoft.SaaS']": nothing, and a hint on stderr
    bare = ok("resource", "list", "--query", "[?type=='Microsoft.SaaS']")
    assert bare.json() == []
    assert "Microsoft.SaaS/resources" in bare.err and bare.err.startswith("WARNING:")
    saas = ok("resource", "list", "--query", "[?type=='Microsoft.SaaS/resources']")
    items = saas.json()
    assert isinstance(items, list) and len(items) == 1 and saas.err == ""
    saas_name = items[0]["name"]

    # az ml serverless-endpoint create -f endpoint.yml
    endpoint = ok("ml", "serverless-endpoint", "create", "-f", "endpoint.yml").json()
    assert isinstance(endpoint, dict) and endpoint["name"] == "meta-llama3-8b-qwerty"
    assert str(endpoint["provisioning_state"]).lower() == "succeeded"  # azure-ai-ml's casing
    # az ml serverless-endpoint list, in every output format
    assert [e["name"] for e in ok("ml", "serverless-endpoint", "list").json()] == [  # type: ignore[union-attr, index]
        "meta-llama3-8b-qwerty"
    ]
    table = ok("serverless-endpoint", "list", "-o", "table").out
    assert "Name" in table.splitlines()[0] and "meta-llama3-8b-qwerty" in table
    as_yaml = yaml.safe_load(ok("serverless-endpoint", "list", "-o", "yaml").out)
    assert as_yaml[0]["name"] == "meta-llama3-8b-qwerty"
    tsv = ok("serverless-endpoint", "list", "--query", "[].[name, provisioning_state]", "-o", "tsv").out
    assert tsv.strip().lower() == "meta-llama3-8b-qwerty\tsucceeded"
    shown = ok("serverless-endpoint", "show", "-n", "meta-llama3-8b-qwerty").json()
    assert isinstance(shown, dict) and shown["scoring_uri"]
    endpoints = ok(
        "resource",
        "list",
        "--query",
        "[?type=='Microsoft.MachineLearningServices/workspaces/serverlessEndpoints']",
    )
    assert [e["name"] for e in endpoints.json()] == ["meta-llama3-8b-qwerty"]  # type: ignore[union-attr, index]

    # az ml serverless-endpoint get-credentials -n meta-llama3-8b-qwerty
    keys = ok("ml", "serverless-endpoint", "get-credentials", "-n", "meta-llama3-8b-qwerty").json()
    assert isinstance(keys, dict) and keys["primaryKey"] and keys["secondaryKey"]
    new = ok(
        "serverless-endpoint", "regenerate-keys", "-n", "meta-llama3-8b-qwerty", "--key-type", "secondary"
    ).json()
    assert isinstance(new, dict)
    assert new["primaryKey"] == keys["primaryKey"] and new["secondaryKey"] != keys["secondaryKey"]
    assert (
        maas("serverless-endpoint", "regenerate-keys", "-n", "meta-llama3-8b-qwerty", "--key-type", "x").code
        == 2
    )
    updated = ok(
        "serverless-endpoint", "update", "-n", "meta-llama3-8b-qwerty", "--set", "tags.team=ml"
    ).json()
    assert isinstance(updated, dict) and updated["tags"] == {"team": "ml"}

    # az ml serverless-endpoint delete --name "meta-llama3-8b-qwerty"
    assert ok("ml", "serverless-endpoint", "delete", "--name", "meta-llama3-8b-qwerty").out == ""
    missing = maas("serverless-endpoint", "show", "-n", "meta-llama3-8b-qwerty")
    assert missing.code == 1 and missing.err.startswith("ERROR: (") and missing.out == ""
    # az ml marketplace-subscription delete --name …
    ok("ml", "marketplace-subscription", "delete", "--name", "meta-llama3-8b-qwerty")
    assert ok("marketplace-subscription", "list").json() == []
    assert saas_name


def test_no_wait_and_resource_delete(server: RunningServer, home: Path) -> None:
    sign_in(server)
    Path("embed.yml").write_text(
        "name: embed-nowait\nmodel_id: azureml://registries/maas/models/wordllama-embed\n"
    )
    started = ok("serverless-endpoint", "create", "-f", "embed.yml", "--no-wait")
    assert started.out == ""
    deadline = time.monotonic() + 120
    state = None
    while state != "succeeded" and time.monotonic() < deadline:
        state = str(
            ok("serverless-endpoint", "show", "-n", "embed-nowait", "--query", "provisioning_state").json()
        )
        state = state.lower()
        time.sleep(0.2)
    assert state == "succeeded"
    # az resource delete --name <resource-name>
    ok("resource", "delete", "--name", "embed-nowait")
    assert maas("serverless-endpoint", "show", "-n", "embed-nowait").code == 1
    missing = maas("resource", "delete", "--name", "embed-nowait")
    assert missing.code == 1 and "ResourceNotFound" in missing.err
    # An endpoint named like its workspace: the name alone is ambiguous; the type settles it.
    ok("serverless-endpoint", "create", "-f", "embed.yml", "-n", WS)
    ambiguous = maas("resource", "delete", "--name", WS)
    assert ambiguous.code == 2 and "Microsoft.MachineLearningServices/workspaces " in ambiguous.err
    assert "workspaces/serverlessEndpoints" in ambiguous.err
    endpoint_type = "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints"
    ok("resource", "delete", "--name", WS, "--resource-type", endpoint_type)
    assert ok("serverless-endpoint", "list", "--query", "[].name").json() == []


def test_resource_delete_unsubscribes_a_saas_resource(server: RunningServer, home: Path) -> None:
    sign_in(server)
    add_seed_model(server)
    Path("subscription.yml").write_text(SUBSCRIPTION_YML)
    saas = ["resource", "list", "--resource-type", "Microsoft.SaaS/resources", "--query", "[].name"]
    before = set(ok(*saas).json())  # type: ignore[arg-type]
    ok("marketplace-subscription", "create", "-f", "subscription.yml", "-n", "Meta-Llama-3-8B-Instruct")
    added = set(ok(*saas).json()) - before  # type: ignore[arg-type]
    assert len(added) == 1
    ok("resource", "delete", "--name", added.pop(), "--resource-type", "Microsoft.SaaS/resources")
    assert ok("marketplace-subscription", "list").json() == []
    ambiguous = maas("resource", "delete", "--name", "seed-ws", "--ids", "/x")
    assert ambiguous.code == 2


def test_a_yaml_typo_names_file_and_field_and_creates_nothing(server: RunningServer, home: Path) -> None:
    sign_in(server)
    Path("endpoint.yml").write_text(
        "name: typo-endpoint\nmodel_idd: azureml://registries/maas/models/wordllama-embed\n"
    )
    result = maas("ml", "serverless-endpoint", "create", "-f", "endpoint.yml")
    assert result.code == 2, (result.out, result.err)
    assert "endpoint.yml" in result.err and "model_idd" in result.err and result.out == ""
    assert "typo-endpoint" not in ok("serverless-endpoint", "list", "--query", "[].name").out
    bad_query = maas("serverless-endpoint", "list", "--query", "[?name==")
    assert bad_query.code == 2 and "--query" in bad_query.err


SUBSCRIPTION_TEMPLATE = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {
        "workspace_name": {"defaultValue": "my-workspace", "type": "String"},
        "subscription_name": {"defaultValue": "Meta-Llama-3-8B-Instruct", "type": "String"},
        "model_id": {"defaultValue": SEED_MODEL, "type": "String"},
    },
    "variables": {},
    "resources": [
        {
            "type": "Microsoft.MachineLearningServices/workspaces/marketplaceSubscriptions",
            "apiVersion": "2024-04-01",
            "name": "[concat(parameters('workspace_name'), '/', parameters('subscription_name'))]",
            "location": "[parameters('location')]",
            "properties": {"modelId": "[parameters('model_id')]"},
        }
    ],
}
ENDPOINT_TEMPLATE = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {
        "workspace_name": {"defaultValue": "my-workspace", "type": "String"},
        "endpoint_name": {"defaultValue": "meta-llama3-8b-qwerty", "type": "String"},
        "location": {"defaultValue": "eastus2", "type": "String"},
        "model_id": {"defaultValue": SEED_MODEL, "type": "String"},
    },
    "variables": {},
    "resources": [
        {
            "type": "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints",
            "apiVersion": "2024-04-01",
            "name": "[concat(parameters('workspace_name'), '/', parameters('endpoint_name'))]",
            "location": "[parameters('location')]",
            "sku": {"name": "Consumption"},
            "properties": {"modelSettings": {"modelId": "[parameters('model_id')]"}},
        }
    ],
}


def test_the_seed_templates_deploy(server: RunningServer, home: Path) -> None:
    group = "template-rg"
    with server.client() as http:
        for path in (
            f"/subscriptions/{SUB}/resourceGroups/{group}",
            f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.MachineLearningServices"
            "/workspaces/my-workspace",
        ):
            response = http.put(path, json={"location": "eastus2"}, params={"api-version": "2024-04-01"})
            assert response.status_code in (200, 201), response.text
    sign_in(server)
    add_seed_model(server)
    deploy = ["deployment", "group", "create", "--name", "model-subscription-deployment"]
    deploy += ["--resource-group", group, "--template-file", "template.json"]

    # The seed's subscription template reads a `location` it never declares: an ARM error.
    Path("template.json").write_text(json.dumps(SUBSCRIPTION_TEMPLATE, indent=4))
    undeclared = maas(*deploy)
    assert undeclared.code == 1 and undeclared.out == ""
    assert undeclared.err.startswith("ERROR: template.json: (InvalidTemplate)"), undeclared.err
    assert "The template parameter 'location' is not found" in undeclared.err
    assert "resources[0].location" in undeclared.err
    assert ok("marketplace-subscription", "list", "-g", group, "-w", "my-workspace").json() == []
    declared = json.loads(json.dumps(SUBSCRIPTION_TEMPLATE))
    declared["parameters"]["location"] = {"type": "String"}
    Path("template.json").write_text(json.dumps(declared, indent=4))
    done = ok(*deploy, "--parameters", "location=eastus2")
    assert '"provisioningState": "Succeeded"' in done.out
    names = ok("marketplace-subscription", "list", "-g", group, "-w", "my-workspace", "--query", "[].name")
    assert names.json() == ["Meta-Llama-3-8B-Instruct"]

    # The seed's endpoint template deploys unchanged.
    Path("template.json").write_text(json.dumps(ENDPOINT_TEMPLATE, indent=4))
    done = ok(*deploy)
    assert '"provisioningState": "Succeeded"' in done.out
    shown = ok(
        "serverless-endpoint", "show", "-g", group, "-w", "my-workspace", "-n", "meta-llama3-8b-qwerty"
    )
    assert isinstance(shown.json(), dict)
    listed = ok("deployment", "group", "list", "-g", group, "--query", "[].name").json()
    assert listed == ["model-subscription-deployment"]
    assert ok("deployment", "group", "show", "-g", group, "-n", "model-subscription-deployment").json()

    Path("broken.json").write_text('{\n  "parameters": {,\n}')
    broken = maas("deployment", "group", "create", "-n", "x", "-g", group, "--template-file", "broken.json")
    assert broken.code == 2 and "broken.json" in broken.err and "line 2" in broken.err


def test_role_assignment_create_and_list(server: RunningServer, home: Path) -> None:
    sign_in(server)
    with server.client() as http:
        response = http.put(
            "/providers/Microsoft.MaaS/principals/alice", json={}, params={"api-version": "2022-04-01"}
        )
        assert response.status_code in (200, 201), response.text
    scope = f"/subscriptions/{SUB}/resourceGroups/{RG}"
    created = ok(
        "role",
        "assignment",
        "create",
        "--assignee",
        "alice",
        "--role",
        "Azure AI Developer",
        "--scope",
        scope,
    )
    assert isinstance(created.json(), dict)
    listed = ok("role", "assignment", "list", "--scope", scope, "--assignee", "alice").json()
    assert isinstance(listed, list) and len(listed) == 1
    unknown = maas(
        "role", "assignment", "create", "--assignee", "alice", "--role", "Wizard", "--scope", scope
    )
    assert unknown.code == 2 and "Wizard" in unknown.err


def test_role_definition_create_list_show_update_and_delete(server: RunningServer, home: Path) -> None:
    """`maas role definition …` as `az role definition …`: az's file format in, ARM's shape out."""
    sign_in(server)
    with server.client() as http:
        response = http.put(
            "/providers/Microsoft.MaaS/principals/bea", json={}, params={"api-version": "2022-04-01"}
        )
        assert response.status_code in (200, 201), response.text
    sub_scope = f"/subscriptions/{SUB}"
    definition = {
        "Name": "Endpoint reader",
        "IsCustom": True,
        "Description": "Reads serverless endpoints.",
        "Actions": ["Microsoft.MachineLearningServices/workspaces/serverlessEndpoints/read"],
        "NotActions": [],
        "DataActions": [],
        "NotDataActions": [],
        "AssignableScopes": [sub_scope],
    }
    created = ok("role", "definition", "create", "--role-definition", json.dumps(definition)).json()
    assert isinstance(created, dict) and created["properties"]["type"] == "CustomRole"
    guid = created["name"]
    listed = ok("role", "definition", "list", "--custom-role-only").json()  # the default subscription
    assert isinstance(listed, list) and [r["name"] for r in listed] == [guid]
    everything = ok("role", "definition", "list", "--name", "owner").json()
    assert isinstance(everything, list) and everything[0]["properties"]["roleName"] == "Owner"

    # update: the file `show` printed, edited (found by its GUID), or az's file (found by name)
    shown = ok("role", "definition", "show", "-n", "endpoint reader").json()
    assert shown == created
    assert isinstance(shown, dict)
    shown["properties"]["permissions"][0]["actions"].append(
        "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints/listKeys/action"
    )
    (home / "role.json").write_text(json.dumps(shown))
    updated = ok("role", "definition", "update", "--role-definition", str(home / "role.json")).json()
    assert isinstance(updated, dict) and len(updated["properties"]["permissions"][0]["actions"]) == 2
    definition["Description"] = "Reads serverless endpoints, again."
    again = ok("role", "definition", "update", "--role-definition", json.dumps(definition)).json()
    assert isinstance(again, dict) and again["name"] == guid
    assert again["properties"]["description"] == "Reads serverless endpoints, again."

    # assigned by name; delete is refused while it is assigned
    scope = f"{sub_scope}/resourceGroups/{RG}"
    assignment = ok(
        "role", "assignment", "create", "--assignee", "bea", "--role", "Endpoint reader", "--scope", scope
    ).json()
    assert isinstance(assignment, dict)
    refused = maas("role", "definition", "delete", "-n", "Endpoint reader")
    assert refused.code != 0 and "RoleDefinitionHasAssignments" in refused.err
    ok("role", "assignment", "delete", "--ids", str(assignment["id"]))
    ok("role", "definition", "delete", "-n", "Endpoint reader")
    assert ok("role", "definition", "list", "--custom-role-only").json() == []
    missing = maas("role", "definition", "create", "--role-definition", str(home / "nope.json"))
    assert missing.code == 2 and "nope.json" in missing.err
