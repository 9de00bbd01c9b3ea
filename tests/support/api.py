"""A thin helper over the in-process test client: ARM paths, the admin token, and a world with
an account, resource group, workspace, catalog models and offers ready to use."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient

ML = "Microsoft.MachineLearningServices"
MODEL = "azureml://registries/azureml-meta/models/Meta-Llama-3-8B-Instruct"
FREE_MODEL = "azureml://registries/azureml/models/Phi-3-mini"


@dataclass
class World:
    sub: str = "00000000-0000-0000-0000-000000000001"
    rg: str = "rg1"
    ws: str = "ws1"
    location: str = "eastus2"

    @property
    def sub_path(self) -> str:
        return f"/subscriptions/{self.sub}"

    @property
    def rg_path(self) -> str:
        return f"{self.sub_path}/resourceGroups/{self.rg}"

    @property
    def ws_path(self) -> str:
        return f"{self.rg_path}/providers/{ML}/workspaces/{self.ws}"

    def endpoint(self, name: str) -> str:
        return f"{self.ws_path}/serverlessEndpoints/{name}"

    def subscription(self, name: str) -> str:
        return f"{self.ws_path}/marketplaceSubscriptions/{name}"


class Api:
    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.token = token

    def as_token(self, token: str) -> Api:
        return Api(self.client, token)

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        params = {"api-version": "2024-01-01-preview", **kwargs.pop("params", {})}
        return self.client.request(method, path, json=body, headers=headers, params=params, **kwargs)

    def put(self, path: str, body: Any, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, body, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.request("POST", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def ok(self, response: httpx.Response, *codes: int) -> dict[str, Any]:
        assert response.status_code in (codes or (200, 201)), response.text
        return response.json() if response.content else {}

    # -- building a world ------------------------------------------------------------------------
    def account(self, sub: str, payment: str = "CreditCard", offer_type: str = "PayAsYouGo") -> None:
        body = {"properties": {"billingProfile": {"paymentMethod": payment, "offerType": offer_type}}}
        self.ok(self.put(f"/subscriptions/{sub}", body))

    def world(
        self,
        world: World | None = None,
        *,
        payment: str = "CreditCard",
        offer_type: str = "PayAsYouGo",
        catalog: bool = True,
    ) -> World:
        world = world or World()
        self.account(world.sub, payment, offer_type)
        self.ok(self.put(world.rg_path, {"location": world.location}))
        self.ok(self.put(world.ws_path, {"location": world.location}))
        if catalog:
            self.catalog()
        return world

    def catalog(self) -> None:
        """A paid marketplace model (regions eastus2, westus3) and a free first-party model."""
        upstream = {"kind": "openai-upstream", "url": "http://127.0.0.1:9/v1"}
        for model_id in (MODEL, FREE_MODEL):
            path = model_id.removeprefix("azureml:/") + "/versions/1"
            self.ok(self.put(path, {"properties": {"artifact": upstream, "description": "test model"}}))
        meters = [
            {"meterId": "paygo-inference-input-tokens", "pricePer1K": 0.0003},
            {"meterId": "paygo-inference-output-tokens", "pricePer1K": 0.0006},
        ]
        self.ok(
            self.put(
                "/providers/Microsoft.MaaS/offers/meta-llama-3-8b-instruct",
                {
                    "properties": {
                        "modelId": MODEL,
                        "publisherId": "metagenai",
                        "planId": "meta-llama-3-8b-instruct",
                        "kind": "Marketplace",
                        "terms": "Llama 3 licence",
                        "regions": ["eastus2", "westus3"],
                        "meters": meters,
                    }
                },
            )
        )
        self.ok(
            self.put(
                "/providers/Microsoft.MaaS/offers/phi-3-mini",
                {
                    "properties": {
                        "modelId": FREE_MODEL,
                        "publisherId": "microsoft",
                        "kind": "FirstParty",
                        "meters": [],
                    }
                },
            )
        )

    def subscribe(
        self, world: World, name: str = "Meta-Llama-3-8B-Instruct", model: str = MODEL
    ) -> httpx.Response:
        return self.put(world.subscription(name), {"properties": {"modelId": model}})

    def create_endpoint(self, world: World, name: str, model: str = MODEL, **extra: Any) -> httpx.Response:
        body = {"properties": {"modelSettings": {"modelId": model}}, "sku": {"name": "Consumption"}, **extra}
        return self.put(world.endpoint(name), body)

    def wait_operation(self, response: httpx.Response, timeout: float = 20.0) -> dict[str, Any]:
        """Poll an Azure-AsyncOperation URL until it is terminal."""
        url = response.headers["Azure-AsyncOperation"].removeprefix("http://testserver")
        deadline = time.monotonic() + timeout
        while True:
            status = self.ok(self.get(url.split("?")[0]), 200)
            if status["status"] != "InProgress" or time.monotonic() > deadline:
                return status
            time.sleep(0.02)

    # -- helpers for the integration suites ---------------------------------------------------
    def add_model(self, model_id: str, version: str = "1", artifact: dict[str, Any] | None = None) -> None:
        """Add one version of a catalog model (an unreachable openai-upstream by default)."""
        artifact = artifact or {"kind": "openai-upstream", "url": "http://127.0.0.1:9/v1"}
        path = model_id.removeprefix("azureml:/") + f"/versions/{version}"
        self.ok(self.put(path, {"properties": {"artifact": artifact}}))

    def offer(
        self,
        name: str,
        model_id: str,
        *,
        kind: str = "FirstParty",
        regions: list[str] | None = None,
        price: float = 0.0,
    ) -> httpx.Response:
        meters = [{"meterId": "paygo-inference-input-tokens", "pricePer1K": price}] if price else []
        properties = {"modelId": model_id, "publisherId": "test", "kind": kind, "meters": meters}
        return self.put(
            f"/providers/Microsoft.MaaS/offers/{name}",
            {"properties": {**properties, "regions": regions or []}},
        )

    def principal(self, name: str) -> tuple[str, str]:
        """Create a principal; returns (principal id, its bearer token)."""
        body = self.ok(self.put(f"/providers/Microsoft.MaaS/principals/{name}", {}), 201)
        return body["properties"]["principalId"], body["properties"]["token"]

    def assign(self, scope: str, principal_id: str, role_guid: str) -> httpx.Response:
        """Give a principal a built-in role at a scope (a fresh assignment GUID each call)."""
        role = f"/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"
        return self.put(
            f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
            {"properties": {"roleDefinitionId": role, "principalId": principal_id}},
        )
