"""`maas.sdk` entities and YAML loaders: construction, wire conversion, `as_dict()`, and loader
errors that name the file and the field."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from maas.sdk import (
    EndpointAuthKeys,
    MarketplacePlan,
    MarketplaceSubscription,
    ServerlessConnection,
    ServerlessEndpoint,
    ValidationError,
    Workspace,
    load_connection,
    load_marketplace_subscription,
    load_serverless_endpoint,
)

MODEL = "azureml://registries/azureml-meta/models/Meta-Llama-3-8B-Instruct"
WS = "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws1"
SYSTEM_DATA = {"createdBy": "admin", "createdByType": "User", "createdAt": "2026-01-01T00:00:00Z"}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- entities ------------------------------------------------------------------------------------
def test_a_subscription_is_built_like_azure_ai_mls_and_sends_only_its_model() -> None:
    sub = MarketplaceSubscription(model_id=MODEL, name="llama")
    assert (sub.name, sub.model_id, sub.tags) == ("llama", MODEL, None)
    assert (sub.status, sub.provisioning_state, sub.id, sub.marketplace_plan) == (None, None, None, None)
    assert sub.as_dict() == {"name": "llama", "model_id": MODEL}
    assert sub._to_rest() == {"properties": {"modelId": MODEL}}
    assert MarketplaceSubscription("llama", MODEL, tags={"a": "b"})._to_rest()["tags"] == {"a": "b"}
    with pytest.raises(TypeError):
        MarketplaceSubscription(name="x", model_id=MODEL, status="subscribed")  # type: ignore[call-arg]


def test_a_subscription_reads_the_servers_answer() -> None:
    body = {
        "id": WS + "/marketplaceSubscriptions/llama",
        "name": "llama",
        "type": "Microsoft.MachineLearningServices/workspaces/marketplaceSubscriptions",
        "tags": {},
        "systemData": SYSTEM_DATA,
        "properties": {
            "modelId": MODEL,
            "marketplacePlan": {"publisherId": "metagenai", "offerId": "llama-3", "planId": "p1"},
            "marketplaceSubscriptionStatus": "PendingFulfillmentStart",
            "provisioningState": "Succeeded",
            "saasResourceId": "/x",
        },
    }
    sub = MarketplaceSubscription._from_rest(body)
    assert sub.marketplace_plan == MarketplacePlan(publisher_id="metagenai", offer_id="llama-3", plan_id="p1")
    assert (sub.status, sub.provisioning_state) == ("pending_fulfillment_start", "succeeded")
    assert sub.as_dict() == {
        "name": "llama",
        "model_id": MODEL,
        "marketplace_plan": {"publisher_id": "metagenai", "offer_id": "llama-3", "plan_id": "p1"},
        "status": "pending_fulfillment_start",
        "provisioning_state": "succeeded",
        "id": WS + "/marketplaceSubscriptions/llama",
        "system_data": {
            "created_by": "admin",
            "created_by_type": "User",
            "created_at": "2026-01-01T00:00:00Z",
        },
    }
    json.dumps(sub.as_dict())


def test_an_endpoint_sends_its_settings_and_reads_the_servers_answer() -> None:
    endpoint = ServerlessEndpoint(name="ep", model_id=MODEL)
    assert endpoint.auth_mode == "key" and endpoint.location is None
    assert endpoint._to_rest() == {
        "sku": {"name": "Consumption"},
        "properties": {"modelSettings": {"modelId": MODEL}, "authMode": "Key"},
    }
    full = ServerlessEndpoint(
        "ep",
        MODEL,
        location="westus3",
        auth_mode="aad",
        content_safety={"content_safety_status": "Enabled"},
        kind="Serverless",
        tags={"t": "1"},
        description="kept locally",
    )
    assert full._to_rest() == {
        "sku": {"name": "Consumption"},
        "location": "westus3",
        "kind": "Serverless",
        "tags": {"t": "1"},
        "properties": {
            "modelSettings": {"modelId": MODEL},
            "authMode": "AAD",
            "contentSafety": {"contentSafetyStatus": "Enabled"},
        },
    }
    body = {
        "id": WS + "/serverlessEndpoints/ep",
        "name": "ep",
        "location": "eastus2",
        "sku": {"name": "Consumption"},
        "tags": {},
        "systemData": SYSTEM_DATA,
        "properties": {
            "modelSettings": {"modelId": MODEL},
            "authMode": "Key",
            "inferenceEndpoint": {"uri": "https://ep.eastus2.models.example", "headers": {}},
            "endpointState": "Online",
            "provisioningState": "Succeeded",
        },
    }
    read = ServerlessEndpoint._from_rest(body)
    assert (read.scoring_uri, read.headers, read.endpoint_state) == (
        "https://ep.eastus2.models.example",
        {},
        "online",
    )
    assert (read.provisioning_state, read.auth_mode, read.location, read.tags) == (
        "succeeded",
        "key",
        "eastus2",
        None,
    )
    as_dict = read.as_dict()
    assert as_dict["scoring_uri"] == "https://ep.eastus2.models.example"
    assert as_dict["model_id"] == MODEL and as_dict["id"] == WS + "/serverlessEndpoints/ep"
    assert "description" not in as_dict and "content_safety" not in as_dict


def test_a_connection_keys_and_a_workspace() -> None:
    conn = ServerlessConnection(name="c", endpoint="https://ep.example", api_key="k" * 20, tags={"a": "b"})
    assert conn._to_rest() == {
        "tags": {"a": "b"},
        "properties": {
            "category": "Serverless",
            "target": "https://ep.example",
            "authType": "ApiKey",
            "credentials": {"key": "k" * 20},
        },
    }
    assert "credentials" not in ServerlessConnection("c", "https://ep.example")._to_rest()["properties"]
    read = ServerlessConnection._from_rest(
        {
            "id": WS + "/connections/c",
            "name": "c",
            "properties": {"category": "Serverless", "target": "https://x"},
        }
    )
    assert read.as_dict() == {
        "name": "c",
        "endpoint": "https://x",
        "type": "serverless",
        "id": WS + "/connections/c",
    }

    keys = EndpointAuthKeys._from_rest({"primaryKey": "p", "secondaryKey": "s"})
    assert (keys.primary_key, keys.secondary_key) == ("p", "s")
    assert keys.as_dict() == {"primary_key": "p", "secondary_key": "s"}

    ws = Workspace._from_rest(
        {"id": WS, "name": "ws1", "location": "eastus2", "tags": {"x": "y"}, "properties": {}}
    )
    assert (ws.name, ws.location, ws.resource_group, ws.id, ws.tags) == (
        "ws1",
        "eastus2",
        "rg1",
        WS,
        {"x": "y"},
    )
    assert ws.as_dict() == {
        "name": "ws1",
        "location": "eastus2",
        "resource_group": "rg1",
        "id": WS,
        "tags": {"x": "y"},
    }


# -- loaders ---------------------------------------------------------------------------------------
def test_the_seeds_yaml_files_load(tmp_path: Path) -> None:
    text = f"name: meta-llama3-8b-qwerty\nmodel_id: {MODEL}\n"
    sub = load_marketplace_subscription(write(tmp_path, "subscription.yml", text))
    assert sub == MarketplaceSubscription(name="meta-llama3-8b-qwerty", model_id=MODEL)
    endpoint = load_serverless_endpoint(str(write(tmp_path, "endpoint.yml", text)))
    assert endpoint == ServerlessEndpoint(name="meta-llama3-8b-qwerty", model_id=MODEL)
    connection = load_connection(
        io.StringIO("name: c1\ntype: serverless\nendpoint: https://ep.example\napi_key: abc\n")
    )
    assert connection == ServerlessConnection(name="c1", endpoint="https://ep.example", api_key="abc")


def test_every_endpoint_field_and_overrides(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "endpoint.yml",
        "$schema: https://azuremlschemas.azureedge.net/latest/serverlessEndpoint.schema.json\n"
        f"name: ep\nmodel_id: {MODEL}\nlocation: eastus2\nauth_mode: aad\nkind: Serverless\n"
        "content_safety:\n  content_safety_status: Enabled\ntags:\n  team: 7\ndescription: hi\n",
    )
    endpoint = load_serverless_endpoint(path, params_override=[{"name": "other"}, {"tags.owner": "me"}])
    assert endpoint.name == "other" and endpoint.location == "eastus2" and endpoint.auth_mode == "aad"
    assert endpoint.content_safety == {"content_safety_status": "Enabled"}
    assert endpoint.tags == {"team": "7", "owner": "me"}
    assert (endpoint.kind, endpoint.description) == ("Serverless", "hi")


@pytest.mark.parametrize(
    ("loader", "file", "text", "message"),
    [
        (
            load_marketplace_subscription,
            "subscription.yml",
            f"name: a\nmodel_idd: {MODEL}\n",
            "subscription.yml: unknown field 'model_idd' (did you mean 'model_id'?)",
        ),
        (
            load_marketplace_subscription,
            "subscription.yml",
            "name: a\n",
            "subscription.yml: missing required field 'model_id'",
        ),
        (
            load_serverless_endpoint,
            "endpoint.yml",
            f"model_id: {MODEL}\n",
            "endpoint.yml: missing required field 'name'",
        ),
        (
            load_serverless_endpoint,
            "endpoint.yml",
            "name: [a\n",
            "endpoint.yml: not valid YAML (line 2, column 1)",
        ),
        (
            load_serverless_endpoint,
            "endpoint.yml",
            "name: a\nmodel_id: x\n  bad: indent\n",
            "endpoint.yml: not valid YAML (line 3",
        ),
        (
            load_serverless_endpoint,
            "endpoint.yml",
            "- name\n- model_id\n",
            "endpoint.yml: the file must hold a mapping",
        ),
        (
            load_serverless_endpoint,
            "endpoint.yml",
            "name: [a, b]\nmodel_id: m\n",
            "endpoint.yml: field 'name' must be a string",
        ),
        (
            load_serverless_endpoint,
            "endpoint.yml",
            "name: a\nmodel_id: m\nauth_mode: token\n",
            "endpoint.yml: field 'auth_mode' must be 'key' or 'aad'",
        ),
        (
            load_serverless_endpoint,
            "endpoint.yml",
            "name: a\nmodel_id: m\ntags: x\n",
            "endpoint.yml: field 'tags' must be a mapping",
        ),
        (
            load_serverless_endpoint,
            "endpoint.yml",
            "name: a\nmodel_id: m\ncontent_safety:\n  status: Enabled\n",
            "endpoint.yml: unknown field 'content_safety.status'",
        ),
        (load_serverless_endpoint, "endpoint.yml", "", "endpoint.yml: missing required field 'name'"),
        (
            load_connection,
            "connection.yml",
            "name: c\ntype: azure_open_ai\nendpoint: https://x\n",
            "connection.yml: field 'type' must be 'serverless'",
        ),
        (
            load_connection,
            "connection.yml",
            "name: c\napi_key: k\n",
            "connection.yml: missing required field 'endpoint'",
        ),
        (
            load_connection,
            "connection.yml",
            "name: c\nendpoint: https://x\nkey: k\n",
            "connection.yml: unknown field 'key'",
        ),
    ],
)
def test_loader_errors_name_the_file_and_the_field(
    tmp_path: Path, loader: object, file: str, text: str, message: str
) -> None:
    path = write(tmp_path, file, text)
    with pytest.raises(ValidationError) as caught:
        loader(path)  # type: ignore[operator]
    assert str(caught.value).startswith(str(path)), caught.value
    assert message.split(": ", 1)[1] in str(caught.value)
    assert path.name == message.split(":", 1)[0]


def test_a_missing_file_and_a_stream_are_named(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"nope\.yml: cannot read the file"):
        load_serverless_endpoint(tmp_path / "nope.yml")
    with pytest.raises(ValidationError, match=r"^<stream>: missing required field 'model_id'"):
        load_marketplace_subscription(io.StringIO("name: a\n"))
    with pytest.raises(ValidationError, match="params_override entries must be dicts"):
        load_marketplace_subscription(io.StringIO("name: a\n"), params_override=["model_id"])  # type: ignore[list-item]
