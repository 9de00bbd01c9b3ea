"""A world for the Studio browser tests of resource groups, connections and costs: built over
the management API of the module's `maas serve` (httpx with the admin token), with a marketplace
model served by `support.fake_upstream` on loopback, and chat calls through the gateway so there
is traffic and cost. No tests here."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from support.server import RunningServer

ML = "Microsoft.MachineLearningServices"
SUB = "00000000-0000-0000-0000-0000000000b1"
MODEL = "azureml://registries/azureml-meta/models/Meta-Llama-3-8B-Instruct"
OFFER = "meta-llama-3-8b-instruct"
VERSION = {"api-version": "2024-01-01-preview"}

__all__ = ["ML", "SUB", "Place", "build", "chat", "deploy", "wait_for_cost"]


@dataclass(frozen=True)
class Place:
    rg: str
    ws: str
    location: str

    @property
    def rg_path(self) -> str:
        return f"/subscriptions/{SUB}/resourceGroups/{self.rg}"

    @property
    def ws_path(self) -> str:
        return f"{self.rg_path}/providers/{ML}/workspaces/{self.ws}"

    def endpoint(self, name: str) -> str:
        return f"{self.ws_path}/serverlessEndpoints/{name}"


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201, 202), response.text
    return response.json() if response.content else {}


def build(server: RunningServer, upstream_url: str, places: list[Place]) -> None:
    """An account that may buy from the marketplace, each place's group and workspace, and the
    paid marketplace model (regions eastus2 and westus3) relayed to the fake upstream."""
    with server.client() as api:
        body = {"properties": {"billingProfile": {"paymentMethod": "CreditCard", "offerType": "PayAsYouGo"}}}
        _ok(api.put(f"/subscriptions/{SUB}", json=body, params=VERSION))
        for place in places:
            _ok(api.put(place.rg_path, json={"location": place.location}, params=VERSION))
            _ok(api.put(place.ws_path, json={"location": place.location}, params=VERSION))
        artifact = {"kind": "openai-upstream", "url": upstream_url, "upstreamModel": "up-model"}
        version = MODEL.removeprefix("azureml:/") + "/versions/1"
        model = {"properties": {"artifact": artifact, "task": "chat-completion", "description": "test model"}}
        _ok(api.put(version, json=model, params=VERSION))
        offer = {
            "properties": {
                "modelId": MODEL,
                "publisherId": "metagenai",
                "planId": OFFER,
                "kind": "Marketplace",
                "terms": "Llama 3 licence",
                "regions": ["eastus2", "westus3"],
                "meters": [
                    {"meterId": "paygo-inference-input-tokens", "pricePer1K": 0.0003},
                    {"meterId": "paygo-inference-output-tokens", "pricePer1K": 0.0006},
                ],
            }
        }
        _ok(api.put(f"/providers/Microsoft.MaaS/offers/{OFFER}", json=offer, params=VERSION))


def deploy(server: RunningServer, place: Place, name: str) -> tuple[str, str]:
    """Subscribe `place`'s workspace to the offer and deploy endpoint `name`: (Target URI, key)."""
    with server.client() as api:
        subscription = f"{place.ws_path}/marketplaceSubscriptions/Meta-Llama-3-8B-Instruct"
        _ok(api.put(subscription, json={"properties": {"modelId": MODEL}}, params=VERSION))
        body = {"properties": {"modelSettings": {"modelId": MODEL}}, "sku": {"name": "Consumption"}}
        _ok(api.put(place.endpoint(name), json=body, params=VERSION))
        deadline = time.monotonic() + 60
        while True:
            found = _ok(api.get(place.endpoint(name), params=VERSION))
            if found["properties"]["provisioningState"] == "Succeeded" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert found["properties"]["provisioningState"] == "Succeeded", found
        keys = _ok(api.post(place.endpoint(name) + "/listKeys", params=VERSION))
        return found["properties"]["inferenceEndpoint"]["uri"], keys["primaryKey"]


def chat(uri: str, key: str, times: int = 3) -> None:
    """Chat calls through the gateway, as a client with the Target URI and key makes them."""
    with httpx.Client(timeout=30) as client:
        for n in range(times):
            answer = client.post(
                f"{uri}/chat/completions",
                json={"messages": [{"role": "user", "content": f"hello {n}"}]},
                headers={"api-key": key},
            )
            assert answer.status_code == 200, answer.text


def wait_for_cost(server: RunningServer, scope: str, timeout: float = 60) -> float:
    """The cost at `scope` this month, once the ledger has written the calls (it group-commits)."""
    body = {
        "type": "ActualCost",
        "timeframe": "MonthToDate",
        "dataset": {"aggregation": {"c": {"name": "PreTaxCost", "function": "Sum"}}},
    }
    deadline = time.monotonic() + timeout
    with server.client() as api:
        while True:
            rows = _ok(
                api.post(f"{scope}/providers/Microsoft.CostManagement/query", json=body, params=VERSION)
            )["properties"]["rows"]
            if rows and rows[0][0] > 0:
                return float(rows[0][0])
            assert time.monotonic() < deadline, f"no cost at {scope} after {timeout} s"
            time.sleep(0.5)
