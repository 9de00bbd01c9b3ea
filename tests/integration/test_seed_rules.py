"""The rules the seed states, each enforced through the API (DESIGN §3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from maas.controlplane.api.app import create_app
from maas.controlplane.domain.resources import Resource
from maas.controlplane.reconciler.endpoints import EndpointHandler
from maas.controlplane.reconciler.loop import Outcome, PermanentError, Reconciler
from maas.controlplane.services.context import Services
from maas.controlplane.store.repository import Repository
from maas.core.ids import ENDPOINT_TYPE
from maas.core.settings import Settings
from maas.server.bootstrap import prepare
from support.api import FREE_MODEL, ML, MODEL, Api, World

VERSIONED = MODEL + "/versions/1"


def _deployed(api: Api, world: World, name: str, model: str = MODEL) -> dict[str, Any]:
    created = api.create_endpoint(world, name, model)
    assert created.status_code == 201, created.text
    assert api.wait_operation(created)["status"] == "Succeeded"
    return api.ok(api.get(world.endpoint(name)), 200)


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    return str(error["message"])


def _saas_items(api: Api, world: World) -> list[dict[str, Any]]:
    body = api.ok(api.get(f"{world.rg_path}/providers/Microsoft.SaaS/resources"), 200)
    items: list[dict[str, Any]] = body["value"]
    return items


# -- model ids --------------------------------------------------------------------------------
def test_unversioned_model_id_deploys_the_latest_version(api: Api) -> None:
    world = api.world()
    api.add_model(MODEL, "2")
    api.add_model(MODEL, "10")
    model = api.ok(api.get("/registries/azureml-meta/models/Meta-Llama-3-8B-Instruct"), 200)
    assert model["properties"]["latestVersion"] == "10"  # numeric, not lexical, order
    api.ok(api.subscribe(world), 201)
    endpoint = _deployed(api, world, "llama-latest")
    assert endpoint["properties"]["modelSettings"]["modelId"] == MODEL
    assert "_modelVersionId" not in endpoint["properties"]  # bookkeeping stays private

    versions = "/registries/azureml-meta/models/Meta-Llama-3-8B-Instruct/versions"
    message = _error(api.delete(f"{versions}/10"), 409, "ModelVersionInUse")
    assert "'10'" in message and "in use" in message
    assert api.delete(f"{versions}/2").status_code == 204
    assert api.delete(f"{versions}/1").status_code == 204
    assert api.get(f"{versions}/10").status_code == 200


def test_versioned_model_id_is_refused_for_an_endpoint(api: Api) -> None:
    world = api.world()
    api.ok(api.subscribe(world), 201)
    response = api.create_endpoint(world, "versioned", VERSIONED)
    message = _error(response, 400, "VersionedModelIdNotAllowed")
    assert "includes a version" in message and f"use '{MODEL}'" in message
    assert response.json()["error"]["target"] == "properties.modelSettings.modelId"
    assert api.get(world.endpoint("versioned")).status_code == 404


def test_versioned_model_id_is_refused_for_a_subscription(api: Api) -> None:
    world = api.world()
    response = api.subscribe(world, "versioned", VERSIONED)
    message = _error(response, 400, "VersionedModelIdNotAllowed")
    assert "latest version" in message
    assert response.json()["error"]["target"] == "properties.modelId"
    assert _saas_items(api, world) == []


def test_unknown_model_is_404(api: Api) -> None:
    world = api.world()
    response = api.create_endpoint(world, "ghost", "azureml://registries/azureml/models/nope")
    message = _error(response, 404, "ModelNotFound")
    assert "not in the catalog" in message


# -- marketplace subscriptions ----------------------------------------------------------------
def test_marketplace_offer_needs_the_workspace_subscription(api: Api) -> None:
    world = api.world()
    response = api.create_endpoint(world, "llama-no-sub")
    message = _error(response, 400, "MarketplaceSubscriptionRequired")
    assert "Subscribe the workspace first" in message
    assert api.get(world.endpoint("llama-no-sub")).status_code == 404


def test_first_party_offer_needs_no_subscription(api: Api) -> None:
    world = api.world()
    endpoint = _deployed(api, world, "phi-direct", FREE_MODEL)
    assert endpoint["properties"]["marketplaceSubscriptionId"] is None
    assert endpoint["properties"]["endpointState"] == "Online"
    refused = api.subscribe(world, "phi", FREE_MODEL)
    assert "needs no marketplace subscription" in _error(refused, 400, "MarketplaceSubscriptionNotRequired")


def test_later_endpoints_reuse_the_subscription(api: Api) -> None:
    world = api.world()
    subscription = api.ok(api.subscribe(world), 201)
    first = _deployed(api, world, "llama-one")
    assert first["properties"]["marketplaceSubscriptionId"] == subscription["id"]

    # One endpoint per model per workspace: a second one at the same time is refused ...
    message = _error(api.create_endpoint(world, "llama-two"), 409, "ModelAlreadyDeployed")
    assert "'llama-one'" in message and "one deployment per model per workspace" in message
    # ... so reuse shows after the first is gone: no new subscription is needed.
    deleting = api.delete(world.endpoint("llama-one"))
    assert deleting.status_code == 202
    assert api.wait_operation(deleting)["status"] == "Succeeded"
    second = _deployed(api, world, "llama-two")
    assert second["properties"]["marketplaceSubscriptionId"] == subscription["id"]
    assert len(_saas_items(api, world)) == 1
    listed = api.ok(api.get(f"{world.ws_path}/marketplaceSubscriptions"), 200)["value"]
    assert [s["name"] for s in listed] == ["Meta-Llama-3-8B-Instruct"]


def test_second_subscription_to_the_same_offer_is_a_conflict(api: Api) -> None:
    world = api.world()
    api.ok(api.subscribe(world), 201)
    again = api.subscribe(world, "another-name")
    message = _error(again, 409, "MarketplaceSubscriptionExists")
    assert "already subscribed to offer 'meta-llama-3-8b-instruct'" in message
    assert api.get(world.subscription("another-name")).status_code == 404
    assert len(_saas_items(api, world)) == 1
    # The same name again is the idempotent PUT, not a second subscription.
    assert api.subscribe(world).status_code == 200


def test_another_workspace_subscribes_on_its_own(api: Api) -> None:
    world = api.world()
    other = api.world(World(ws="ws2"), catalog=False)
    first = api.ok(api.subscribe(world), 201)
    second = api.ok(api.subscribe(other), 201)
    assert first["properties"]["saasResourceId"] != second["properties"]["saasResourceId"]
    assert len(_saas_items(api, world)) == 2


# -- regions ----------------------------------------------------------------------------------
def test_offer_deploys_only_in_its_regions(api: Api) -> None:
    api.world()
    central = api.world(World(rg="rg-central", ws="ws-central", location="centralus"), catalog=False)
    message = _error(api.subscribe(central), 400, "OfferNotAvailableInRegion")
    assert "'centralus'" in message and "eastus2, westus3" in message
    message = _error(api.create_endpoint(central, "llama-central"), 400, "OfferNotAvailableInRegion")
    assert "'centralus'" in message
    assert _saas_items(api, central) == []
    # A first-party offer with no region list deploys anywhere.
    assert _deployed(api, central, "phi-central", FREE_MODEL)["location"] == "centralus"


def test_offer_in_a_listed_second_region(api: Api) -> None:
    api.world()
    west = api.world(World(rg="rg-west", ws="ws-west", location="West US 3"), catalog=False)
    assert api.ok(api.get(west.ws_path), 200)["location"] == "westus3"
    api.ok(api.subscribe(west), 201)
    assert _deployed(api, west, "llama-west")["location"] == "westus3"


def test_endpoint_location_must_match_its_workspace(api: Api) -> None:
    world = api.world()
    response = api.create_endpoint(world, "phi-elsewhere", FREE_MODEL, location="westus3")
    assert "'eastus2'" in _error(response, 400, "LocationMismatch")


# -- payment ----------------------------------------------------------------------------------
def test_paid_offer_needs_a_payment_method(api: Api) -> None:
    world = api.world(payment="None")
    message = _error(api.subscribe(world), 400, "PaymentMethodRequired")
    assert "no payment method" in message
    assert _saas_items(api, world) == []
    api.account(world.sub, "CreditCard")
    api.ok(api.subscribe(world), 201)


def test_paid_offer_is_refused_on_a_trial_account(api: Api) -> None:
    world = api.world(offer_type="FreeTrial")
    message = _error(api.subscribe(world), 400, "PaidOfferNotAllowed")
    assert "FreeTrial" in message and "pay-as-you-go" in message
    assert _saas_items(api, world) == []


def test_free_first_party_offer_works_on_a_trial_account(api: Api) -> None:
    world = api.world(payment="None", offer_type="FreeTrial")
    assert _deployed(api, world, "phi-trial", FREE_MODEL)["properties"]["endpointState"] == "Online"


def test_paid_first_party_offer_needs_a_paying_account(api: Api) -> None:
    world = api.world(offer_type="FreeTrial")
    paid = "azureml://registries/azureml/models/Phi-3-medium"
    api.add_model(paid)
    api.ok(api.offer("phi-3-medium", paid, price=0.001), 201)
    _error(api.create_endpoint(world, "phi-paid", paid), 400, "PaidOfferNotAllowed")
    api.account(world.sub, "CreditCard")
    assert _deployed(api, world, "phi-paid", paid)["properties"]["endpointState"] == "Online"


# -- uniqueness -------------------------------------------------------------------------------
def test_endpoint_name_is_unique_per_region(api: Api) -> None:
    world = api.world()
    neighbour = api.world(World(ws="ws2"), catalog=False)
    west = api.world(World(rg="rg-west", ws="ws-west", location="westus3"), catalog=False)
    _deployed(api, world, "shared-name", FREE_MODEL)
    message = _error(api.create_endpoint(neighbour, "shared-name", FREE_MODEL), 409, "EndpointNameInUse")
    assert "already used in region 'eastus2'" in message
    assert api.get(neighbour.endpoint("shared-name")).status_code == 404
    # Names compare case-insensitively, as the URL does.
    _error(api.create_endpoint(neighbour, "SHARED-NAME", FREE_MODEL), 409, "EndpointNameInUse")
    other = _deployed(api, west, "shared-name", FREE_MODEL)
    assert other["properties"]["inferenceEndpoint"]["uri"].endswith("/westus3/shared-name")


def test_one_endpoint_per_model_per_workspace(api: Api) -> None:
    world = api.world()
    _deployed(api, world, "phi-one", FREE_MODEL)
    message = _error(api.create_endpoint(world, "phi-two", FREE_MODEL), 409, "ModelAlreadyDeployed")
    assert "'phi-one'" in message
    # The rule is per workspace: another workspace may deploy the same model.
    neighbour = api.world(World(ws="ws2"), catalog=False)
    _deployed(api, neighbour, "phi-two", FREE_MODEL)


# -- unsubscribing ----------------------------------------------------------------------------
def test_deleting_a_subscription_makes_its_endpoints_unhealthy_at_once(api: Api) -> None:
    world = api.world()
    subscription = api.ok(api.subscribe(world), 201)
    saas_path = subscription["properties"]["saasResourceId"]
    assert api.ok(api.get(saas_path), 200)["properties"]["saasSubscriptionStatus"] == "Subscribed"
    _deployed(api, world, "llama-doomed")
    phi = _deployed(api, world, "phi-bystander", FREE_MODEL)

    assert api.delete(world.subscription("Meta-Llama-3-8B-Instruct")).status_code == 204
    endpoint = api.ok(api.get(world.endpoint("llama-doomed")), 200)
    assert endpoint["properties"]["endpointState"] == "Unhealthy"
    saas = api.ok(api.get(saas_path), 200)
    assert saas["properties"]["saasSubscriptionStatus"] == "Unsubscribed"
    assert api.get(world.subscription("Meta-Llama-3-8B-Instruct")).status_code == 404
    # Endpoints of other offers are untouched.
    after = api.ok(api.get(world.endpoint("phi-bystander")), 200)
    assert after["properties"]["endpointState"] == phi["properties"]["endpointState"] == "Online"


def test_deleting_the_saas_resource_unsubscribes(api: Api) -> None:
    """The seed's ARM tab: `az resource delete --name <resource-name>` on the SaaS item."""
    world = api.world()
    subscription = api.ok(api.subscribe(world), 201)
    saas_path = subscription["properties"]["saasResourceId"]
    _deployed(api, world, "llama-unsubscribed")
    assert api.delete(saas_path).status_code == 204
    assert api.get(saas_path).status_code == 404
    assert api.get(world.subscription("Meta-Llama-3-8B-Instruct")).status_code == 404
    endpoint = api.ok(api.get(world.endpoint("llama-unsubscribed")), 200)
    assert endpoint["properties"]["endpointState"] == "Unhealthy"
    assert api.delete(saas_path).status_code == 204  # already gone: still 204, as ARM answers
    # a reader may not delete it
    principal, token = api.principal("saas-reader")
    api.ok(api.subscribe(world), 201)
    again = api.ok(api.get(world.subscription("Meta-Llama-3-8B-Instruct")), 200)["properties"][
        "saasResourceId"
    ]
    api.ok(api.assign(world.rg_path, principal, "acdd72a7-3385-48ef-bd42-f606fba81ae7"), 201)
    assert api.as_token(token).delete(again).status_code == 403
    assert api.get(again).status_code == 200


# -- names ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["a" * 53, "bad_name", "1starts-with-digit", "dot.ted", "-dash", "sp ace"])
def test_bad_endpoint_names_are_refused(api: Api, name: str) -> None:
    world = api.world()
    response = api.create_endpoint(world, name, FREE_MODEL)
    message = _error(response, 400, "InvalidResourceName")
    assert "serverless endpoint name" in message and "1 to 52 characters" in message
    assert response.json()["error"]["target"] == "name"


def test_endpoint_name_of_52_characters_is_accepted(api: Api) -> None:
    world = api.world()
    name = "e" + "x" * 50 + "9"
    assert len(name) == 52
    assert _deployed(api, world, name, FREE_MODEL)["name"] == name


@pytest.mark.parametrize("name", ["ab", "w" * 34, "ws.dot", "_under", "ws space"])
def test_bad_workspace_names_are_refused(api: Api, name: str) -> None:
    world = api.world(catalog=False)
    path = f"{world.rg_path}/providers/{ML}/workspaces/{name}"
    assert "workspace name" in _error(api.put(path, {"location": "eastus2"}), 400, "InvalidResourceName")


def test_workspace_name_limits_are_inclusive(api: Api) -> None:
    world = api.world(catalog=False)
    for name in ("abc", "w" * 33, "ws_under-score"):
        path = f"{world.rg_path}/providers/{ML}/workspaces/{name}"
        assert api.put(path, {"location": "eastus2"}).status_code == 201, name


@pytest.mark.parametrize("name", ["Meta.Llama", "s" * 256, "-starts-with-dash", "has space"])
def test_bad_subscription_names_are_refused(api: Api, name: str) -> None:
    world = api.world()
    message = _error(api.subscribe(world, name), 400, "InvalidResourceName")
    assert "marketplace subscription name" in message
    assert _saas_items(api, world) == []


def test_subscription_name_of_255_characters_is_accepted(api: Api) -> None:
    world = api.world()
    name = "S" + "_-9" * 84 + "x"
    assert len(name) == 254
    api.ok(api.subscribe(world, name + "z"), 201)


@pytest.mark.parametrize("name", ["g" * 91, "ends-with-dot.", "has space", "semi;colon", "star*"])
def test_bad_resource_group_names_are_refused(api: Api, name: str) -> None:
    world = api.world(catalog=False)
    response = api.put(f"{world.sub_path}/resourceGroups/{name}", {"location": "eastus2"})
    assert "resource group name" in _error(response, 400, "InvalidResourceName")


def test_resource_group_name_rules_allow_what_azure_allows(api: Api) -> None:
    world = api.world(catalog=False)
    for name in ("g" * 90, "rg.(prod)_1-a", "Grüße"):
        response = api.put(f"{world.sub_path}/resourceGroups/{name}", {"location": "eastus2"})
        assert response.status_code == 201, (name, response.text)


@pytest.mark.parametrize("name", ["conn.x", "c" * 256, "_conn", "co nn"])
def test_bad_connection_names_are_refused(api: Api, name: str) -> None:
    world = api.world(catalog=False)
    body = {
        "properties": {
            "category": "Serverless",
            "target": "https://example.test/endpoints/eastus2/x",
            "credentials": {"key": "k" * 32},
        }
    }
    response = api.put(f"{world.ws_path}/connections/{name}", body)
    assert "connection name" in _error(response, 400, "InvalidResourceName")


# -- unsubscribing while the reconciler works ---------------------------------------------------
@pytest.fixture
def manual(settings: Settings) -> Iterator[Api]:
    """An app whose reconciler runs only when a test drives one."""
    prepare(settings)
    assert settings.admin_token is not None
    with TestClient(create_app(settings, reconcile=False), raise_server_exceptions=False) as client:
        yield Api(client, settings.admin_token.get_secret_value())


class _UnsubscribeMidway:
    """Deletes the subscription after the handler has looked at it and before its outcome lands."""

    def __init__(self, api: Api, path: str) -> None:
        self.api, self.path, self.inner = api, path, EndpointHandler()

    def reconcile(self, services: Services, resource: Resource) -> Outcome:
        outcome = self.inner.reconcile(services, resource)
        assert self.api.delete(self.path).status_code == 204
        return outcome

    def fail(self, repo: Repository, resource: Resource, error: PermanentError) -> None:
        self.inner.fail(repo, resource, error)


def test_unsubscribing_while_an_endpoint_is_created_leaves_it_unhealthy(manual: Api) -> None:
    api = manual
    world = api.world()
    api.ok(api.subscribe(world), 201)
    created = api.create_endpoint(world, "llama-racing")
    assert created.status_code == 201
    services = api.client.app.state.process.services  # type: ignore[attr-defined]
    racing = _UnsubscribeMidway(api, world.subscription("Meta-Llama-3-8B-Instruct"))
    Reconciler(services, {ENDPOINT_TYPE: racing}).run_once()
    endpoint = api.ok(api.get(world.endpoint("llama-racing")), 200)
    assert endpoint["properties"]["endpointState"] == "Unhealthy"
    assert endpoint["properties"]["provisioningState"] == "Succeeded"
    assert api.wait_operation(created)["status"] == "Succeeded"
