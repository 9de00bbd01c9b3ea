"""ARM semantics every client relies on: the resource envelope, idempotent PUT, long-running
operations, any api-version, paging, case-insensitive paths, the generic listing, the error
envelope and GET-modify-PUT round trips. Secrets are in test_secrets.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from maas.controlplane.api.app import create_app
from maas.controlplane.reconciler.loop import Reconciler
from maas.core.settings import Settings
from maas.server.bootstrap import prepare
from support.api import FREE_MODEL, ML, MODEL, Api, World

SYSTEM_DATA = {
    "createdAt",
    "createdBy",
    "createdByType",
    "lastModifiedAt",
    "lastModifiedBy",
    "lastModifiedByType",
}
CONNECTION = {
    "properties": {
        "category": "Serverless",
        "target": "https://maas.example/endpoints/eastus2/llama",
        "authType": "ApiKey",
        "credentials": {"key": "connection-secret-0123456789abcdef"},
    }
}


@pytest.fixture
def manual(settings: Settings) -> Iterator[tuple[Api, Reconciler]]:
    """An app whose reconciler only runs when the test says so, to see operations in progress."""
    prepare(settings)
    assert settings.admin_token is not None
    with TestClient(create_app(settings, reconcile=False), raise_server_exceptions=False) as client:
        yield Api(client, settings.admin_token.get_secret_value()), client.app.state.process.reconciler


def _path(url: str) -> str:
    assert url.startswith("http://testserver/"), url
    return url.removeprefix("http://testserver")


def _stable(body: dict[str, Any]) -> dict[str, Any]:
    """A body without the fields a no-op PUT may legitimately move."""
    system = {k: v for k, v in body["systemData"].items() if not k.startswith("lastModified")}
    return {**body, "systemData": system}


def _connection(api: Api, world: World, name: str = "llama-conn") -> str:
    path = f"{world.ws_path}/connections/{name}"
    api.ok(api.put(path, CONNECTION), 201)
    return path


# -- the envelope -----------------------------------------------------------------------------
def test_every_resource_type_has_the_arm_envelope(api: Api) -> None:
    world = api.world()
    subscription = api.ok(api.subscribe(world), 201)
    created = api.create_endpoint(world, "llama")
    api.wait_operation(created)
    _connection(api, world)
    expected = {
        world.sub_path: "Microsoft.Resources/subscriptions",
        world.rg_path: "Microsoft.Resources/resourceGroups",
        world.ws_path: f"{ML}/workspaces",
        world.subscription("Meta-Llama-3-8B-Instruct"): f"{ML}/workspaces/marketplaceSubscriptions",
        world.endpoint("llama"): f"{ML}/workspaces/serverlessEndpoints",
        f"{world.ws_path}/connections/llama-conn": f"{ML}/workspaces/connections",
        subscription["properties"]["saasResourceId"]: "Microsoft.SaaS/resources",
        "/registries/azureml-meta": f"{ML}/registries",
        "/registries/azureml-meta/models/Meta-Llama-3-8B-Instruct": f"{ML}/registries/models",
        "/registries/azureml-meta/models/Meta-Llama-3-8B-Instruct/versions/1": (
            f"{ML}/registries/models/versions"
        ),
        "/providers/Microsoft.MaaS/offers/phi-3-mini": "Microsoft.MaaS/offers",
    }
    for path, type_ in expected.items():
        body = api.ok(api.get(path), 200)
        assert body["id"] == path, path
        assert body["name"] == path.rsplit("/", 1)[-1], path
        assert body["type"] == type_, path
        assert set(body["systemData"]) == SYSTEM_DATA, path
        assert body["systemData"]["createdBy"] == "admin"
        assert body["systemData"]["createdByType"] == "User"
        assert body["systemData"]["createdAt"].endswith("Z")
        assert body["properties"]["provisioningState"] == "Succeeded", path
    # Subscriptions always carry marketplacePlan (azure-ai-ml reads it unconditionally).
    assert subscription["properties"]["marketplacePlan"] == {
        "publisherId": "metagenai",
        "offerId": "meta-llama-3-8b-instruct",
        "planId": "meta-llama-3-8b-instruct",
    }


# -- idempotent PUT ---------------------------------------------------------------------------
def test_put_is_create_or_update_and_idempotent(api: Api) -> None:
    world = api.world(catalog=False)
    api.add_model(FREE_MODEL)
    offer = {"properties": {"modelId": FREE_MODEL, "publisherId": "microsoft", "kind": "FirstParty"}}
    version = {"properties": {"artifact": {"kind": "openai-upstream", "url": "http://127.0.0.1:9/v1"}}}
    cases = [
        (f"/subscriptions/{world.sub}-2", {"properties": {"billingProfile": {"paymentMethod": "Invoice"}}}),
        (f"{world.sub_path}/resourceGroups/rg-two", {"location": "westus3", "tags": {"a": "b"}}),
        (f"{world.rg_path}/providers/{ML}/workspaces/ws-two", {"location": "eastus2", "tags": {"t": "1"}}),
        (f"{world.ws_path}/connections/conn-two", CONNECTION),
        ("/registries/azureml/models/Phi-3-mini/versions/2", version),
        ("/registries/other-registry", {"properties": {"description": "more models"}}),
        ("/providers/Microsoft.MaaS/offers/phi-3-mini", offer),
        (world.subscription("Meta-Llama-3-8B-Instruct"), None),
    ]
    api.add_model(MODEL)
    api.ok(api.offer("llama", MODEL, kind="Marketplace"), 201)
    for path, body in cases:
        if body is None:
            first, second = api.subscribe(world), api.subscribe(world)
        else:
            first, second = api.put(path, body), api.put(path, body)
        assert first.status_code == 201, (path, first.text)
        assert second.status_code == 200, (path, second.text)
        assert _stable(second.json()) == _stable(first.json()), path
        assert _stable(api.ok(api.get(path), 200)) == _stable(first.json()), path


def test_put_updates_tags_and_bumps_last_modified_only(api: Api) -> None:
    world = api.world(catalog=False)
    before = api.ok(api.get(world.ws_path), 200)
    after = api.ok(api.put(world.ws_path, {"location": "eastus2", "tags": {"team": "a"}}), 200)
    assert after["tags"] == {"team": "a"}
    assert after["systemData"]["createdAt"] == before["systemData"]["createdAt"]
    assert after["systemData"]["lastModifiedAt"] > before["systemData"]["lastModifiedAt"]
    assert after["properties"]["workspaceId"] == before["properties"]["workspaceId"]


def test_endpoint_create_is_a_long_running_operation(manual: tuple[Api, Reconciler]) -> None:
    api, reconciler = manual
    world = api.world()
    created = api.create_endpoint(world, "phi", FREE_MODEL)
    assert created.status_code == 201
    assert created.json()["properties"]["provisioningState"] == "Creating"
    assert created.headers["Retry-After"] == "1"
    status_url = _path(created.headers["Azure-AsyncOperation"])
    result_url = _path(created.headers["Location"])
    prefix = f"{world.sub_path}/providers/{ML}/locations/eastus2/"
    assert status_url.startswith(prefix + "mfeOperationsStatus/")
    assert result_url.startswith(prefix + "mfeOperationResults/")

    polled = api.get(status_url)
    status = api.ok(polled, 200)
    assert status["status"] == "InProgress" and "endTime" not in status
    assert polled.headers["Retry-After"] == "1"  # else azure-core waits 30 s before polling again
    pending = api.get(result_url)
    assert pending.status_code == 202 and pending.headers["Retry-After"] == "1"
    assert api.ok(api.get(world.endpoint("phi")), 200)["properties"]["endpointState"] == "Creating"

    assert reconciler.run_once() == 1
    done = api.ok(api.get(status_url), 200)
    assert done["status"] == "Succeeded" and done["endTime"] >= done["startTime"]
    assert api.get(result_url).status_code == 204
    endpoint = api.ok(api.get(world.endpoint("phi")), 200)
    assert endpoint["properties"]["provisioningState"] == "Succeeded"
    assert endpoint["properties"]["endpointState"] == "Online"

    again = api.create_endpoint(world, "phi", FREE_MODEL)
    assert again.status_code == 200
    assert "Azure-AsyncOperation" not in again.headers and "Location" not in again.headers
    assert _stable(again.json()) == _stable(endpoint)
    assert reconciler.run_once() == 0


def test_endpoint_delete_is_a_long_running_operation(manual: tuple[Api, Reconciler]) -> None:
    api, reconciler = manual
    world = api.world()
    api.create_endpoint(world, "phi", FREE_MODEL)
    reconciler.run_once()
    deleting = api.delete(world.endpoint("phi"))
    assert deleting.status_code == 202
    assert deleting.headers["Retry-After"] == "1"
    status_url = _path(deleting.headers["Azure-AsyncOperation"])
    result_url = _path(deleting.headers["Location"])
    assert api.ok(api.get(status_url), 200)["status"] == "InProgress"
    assert api.get(result_url).status_code == 202
    assert api.ok(api.get(world.endpoint("phi")), 200)["properties"]["provisioningState"] == "Deleting"
    assert api.post(world.endpoint("phi") + "/regenerateKeys", {"keyType": "Primary"}).status_code == 409

    reconciler.run_once()
    assert api.ok(api.get(status_url), 200)["status"] == "Succeeded"
    assert api.get(result_url).status_code == 204
    gone = api.get(world.endpoint("phi"))
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "ResourceNotFound"
    assert api.delete(world.endpoint("phi")).status_code == 204


def test_deleting_what_does_not_exist_is_204(api: Api) -> None:
    world = api.world()
    for path in (
        world.endpoint("never-was"),
        world.subscription("never-was"),
        f"{world.ws_path}/connections/never-was",
        f"{world.rg_path}/providers/{ML}/workspaces/never-was",
    ):
        response = api.delete(path)
        assert response.status_code == 204, (path, response.text)
        assert response.content == b""


def test_marketplace_subscription_delete_is_204(api: Api) -> None:
    world = api.world()
    api.ok(api.subscribe(world), 201)
    response = api.delete(world.subscription("Meta-Llama-3-8B-Instruct"))
    assert response.status_code == 204 and response.content == b""
    assert api.get(world.subscription("Meta-Llama-3-8B-Instruct")).status_code == 404


@pytest.mark.parametrize("version", [None, "2099-01-01", "garbage", "2024-10-01-preview"])
def test_any_api_version_is_accepted(api: Api, version: str | None) -> None:
    world = api.world(catalog=False)
    params = {} if version is None else {"api-version": version}
    headers = {"Authorization": f"Bearer {api.token}"}
    response = api.client.get(world.ws_path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "ws1"


# -- paging -----------------------------------------------------------------------------------
def _follow(api: Api, url: str) -> tuple[list[str], int]:
    names: list[str] = []
    pages = 0
    next_url: str | None = url
    while next_url is not None:
        response = api.client.get(next_url, headers={"Authorization": f"Bearer {api.token}"})
        body = api.ok(response, 200)
        assert len(body["value"]) <= 3
        names += [item["name"] for item in body["value"]]
        pages += 1
        next_url = _path(body["nextLink"]) if body.get("nextLink") else None
        assert pages < 10, "paging does not end"
    return names, pages


def test_next_link_pages_through_every_item_once(api: Api) -> None:
    world = api.world(catalog=False)
    for i in range(7):
        model = f"azureml://registries/paging/models/model-{i}"
        api.add_model(model)
        api.ok(api.offer(f"offer-{i}", model), 201)
        assert api.create_endpoint(world, f"ep-{i}", model).status_code == 201
    names, pages = _follow(api, f"{world.ws_path}/serverlessEndpoints?$top=3&api-version=2024-01-01-preview")
    assert sorted(names) == [f"ep-{i}" for i in range(7)]
    assert len(set(names)) == 7 and pages == 3
    everything, _ = _follow(api, f"{world.sub_path}/resources?$top=3")
    assert len(everything) == len(set(everything)) == 8  # the workspace and its 7 endpoints
    endpoints, _ = _follow(
        api, f"{world.rg_path}/resources?$top=3&$filter=resourceType eq '{ML}/workspaces/serverlessEndpoints'"
    )
    assert sorted(endpoints) == sorted(names)


# -- paths ------------------------------------------------------------------------------------
def test_paths_are_case_insensitive(api: Api) -> None:
    world = api.world()
    lower = (
        f"/subscriptions/{world.sub}/resourcegroups/rg1/providers/"
        "microsoft.machinelearningservices/workspaces/ws1"
    )
    body = api.ok(api.get(lower), 200)
    assert body["id"] == world.ws_path
    assert (
        api.ok(api.get(world.ws_path.upper().replace("/SUBSCRIPTIONS/", "/subscriptions/")), 200)["name"]
        == "ws1"
    )
    created = api.put(lower.replace("ws1", "ws-lower"), {"location": "eastus2"})
    assert created.status_code == 201
    assert created.json()["type"] == f"{ML}/workspaces"
    api.ok(api.subscribe(world), 201)
    upper = world.subscription("META-LLAMA-3-8B-INSTRUCT").replace(
        "marketplaceSubscriptions", "MARKETPLACESUBSCRIPTIONS"
    )
    assert api.ok(api.get(upper), 200)["name"] == "Meta-Llama-3-8B-Instruct"


# -- the generic listing ----------------------------------------------------------------------
def test_generic_listing_shows_every_resource_with_its_type(api: Api) -> None:
    world = api.world()
    subscription = api.ok(api.subscribe(world), 201)
    api.wait_operation(api.create_endpoint(world, "llama"))
    saas_id = subscription["properties"]["saasResourceId"]
    expected = {
        world.ws_path: f"{ML}/workspaces",
        world.subscription("Meta-Llama-3-8B-Instruct"): f"{ML}/workspaces/marketplaceSubscriptions",
        world.endpoint("llama"): f"{ML}/workspaces/serverlessEndpoints",
        saas_id: "Microsoft.SaaS/resources",
    }
    for scope in (world.sub_path, world.rg_path):
        items = api.ok(api.get(f"{scope}/resources"), 200)["value"]
        assert {item["id"]: item["type"] for item in items} == expected
        assert all("properties" not in item for item in items)
        saas = api.ok(
            api.get(f"{scope}/resources", params={"$filter": "resourceType eq 'Microsoft.SaaS/resources'"}),
            200,
        )
        assert [item["id"] for item in saas["value"]] == [saas_id]
        assert saas["value"][0]["plan"]["publisher"] == "metagenai"
    narrowed = api.get(
        f"{world.sub_path}/resources",
        params={"$filter": "resourceType ne 'Microsoft.SaaS/resources' and name eq 'llama'"},
    )
    assert [item["id"] for item in api.ok(narrowed, 200)["value"]] == [world.endpoint("llama")]
    case = api.get(
        f"{world.rg_path}/resources", params={"$filter": "resourcetype EQ 'microsoft.saas/resources'"}
    )
    assert len(api.ok(case, 200)["value"]) == 1


def test_generic_listing_of_a_missing_scope_is_404(api: Api) -> None:
    world = api.world(catalog=False)
    response = api.get(f"{world.sub_path}/resourceGroups/nope/resources")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ResourceNotFound"


# -- errors -----------------------------------------------------------------------------------
def test_errors_use_the_arm_envelope(api: Api) -> None:
    world = api.world(catalog=False)
    for response, status, code in (
        (api.get(world.endpoint("missing")), 404, "ResourceNotFound"),
        (api.get("/no/such/route"), 404, "NotFound"),
        (api.request("PATCH", world.ws_path), 405, "MethodNotAllowed"),
        (api.put(world.ws_path, {"location": "westus"}), 409, "LocationImmutable"),
        (api.as_token("nope").get(world.ws_path), 401, "InvalidAuthenticationToken"),
    ):
        assert response.status_code == status, response.text
        body = response.json()
        assert set(body) == {"error"}
        assert body["error"]["code"] == code
        assert isinstance(body["error"]["message"], str) and body["error"]["message"]
        assert response.headers["content-type"].startswith("application/json")


# -- GET-modify-PUT ---------------------------------------------------------------------------
def _round_trip(api: Api, path: str) -> dict[str, Any]:
    body = api.ok(api.get(path), 200)
    body["tags"] = {**body.get("tags", {}), "round": "trip"}
    response = api.put(path, body)
    assert response.status_code == 200, (path, response.text)
    after = api.ok(api.get(path), 200)
    assert after["tags"]["round"] == "trip"
    for key in ("id", "name", "type"):
        assert after[key] == body[key]
    return after


def test_get_modify_put_round_trips(api: Api) -> None:
    world = api.world()
    subscription = api.ok(api.subscribe(world), 201)
    api.wait_operation(api.create_endpoint(world, "llama"))
    connection = _connection(api, world)
    workspace = _round_trip(api, world.ws_path)
    assert workspace["properties"]["friendlyName"] == "ws1"
    again = _round_trip(api, world.subscription("Meta-Llama-3-8B-Instruct"))
    assert again["properties"]["saasResourceId"] == subscription["properties"]["saasResourceId"]
    assert _round_trip(api, connection)["properties"]["target"] == CONNECTION["properties"]["target"]
    secrets = api.ok(api.post(connection + "/listsecrets"), 200)
    assert secrets["properties"]["credentials"]["key"] == "connection-secret-0123456789abcdef"
    for path in (
        world.sub_path,
        world.rg_path,
        "/registries/azureml-meta",
        "/registries/azureml-meta/models/Meta-Llama-3-8B-Instruct/versions/1",
        "/providers/Microsoft.MaaS/offers/meta-llama-3-8b-instruct",
    ):
        before = api.ok(api.get(path), 200)
        after = _round_trip(api, path)
        assert after["properties"] == before["properties"], path

    body = api.ok(api.get(world.endpoint("llama")), 200)
    body["tags"] = {"round": "trip"}
    updated = api.put(world.endpoint("llama"), body)
    assert updated.status_code == 200, updated.text
    assert api.wait_operation(updated)["status"] == "Succeeded"
    endpoint = api.ok(api.get(world.endpoint("llama")), 200)
    assert endpoint["tags"] == {"round": "trip"}
    assert endpoint["properties"]["inferenceEndpoint"] == body["properties"]["inferenceEndpoint"]
    assert endpoint["properties"]["endpointState"] == "Online"


def test_read_only_fields_cannot_smuggle_changes(api: Api) -> None:
    world = api.world()
    api.ok(api.subscribe(world), 201)
    api.wait_operation(api.create_endpoint(world, "llama"))
    body = api.ok(api.get(world.endpoint("llama")), 200)
    original = body["properties"]["inferenceEndpoint"]["uri"]
    body["properties"]["inferenceEndpoint"] = {"uri": "https://evil.example/", "headers": {}}
    body["properties"]["endpointState"] = "Suspended"
    body["properties"]["provisioningState"] = "Failed"
    api.ok(api.put(world.endpoint("llama"), body), 200)
    after = api.ok(api.get(world.endpoint("llama")), 200)
    assert after["properties"]["inferenceEndpoint"]["uri"] == original
    assert after["properties"]["endpointState"] == "Online"
    assert after["properties"]["provisioningState"] == "Succeeded"


def test_operation_status_of_an_unknown_operation_is_404(api: Api) -> None:
    world = api.world(catalog=False)
    response = api.get(f"{world.sub_path}/providers/{ML}/locations/eastus2/mfeOperationsStatus/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "OperationNotFound"
