"""Bad input is a clear 4xx in the ARM envelope, never a 500, and leaves nothing half written."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from support.api import FREE_MODEL, ML, MODEL, Api, World

OFFERS = "/providers/Microsoft.MaaS/offers"


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    error: dict[str, Any] = body["error"]
    return error


def _raw(api: Api, method: str, path: str, content: Any, **headers: str) -> httpx.Response:
    return api.client.request(
        method,
        path,
        content=content,
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json", **headers},
    )


# -- bodies that are not JSON objects ---------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b'{"location": "eastus2"', "not valid JSON"),
        (b"{'location': 'eastus2'}", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b'[{"location": "eastus2"}]', "must be a JSON object"),
        (b'"eastus2"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b"", "body is empty"),
        (b"   \n", "body is empty"),
    ],
)
def test_body_must_be_a_json_object(api: Api, content: bytes, phrase: str) -> None:
    world = api.world(catalog=False)
    path = f"{world.rg_path}/providers/{ML}/workspaces/ws-new"
    error = _error(_raw(api, "PUT", path, content), 400, "InvalidRequestContent")
    assert phrase in error["message"]
    assert api.get(path).status_code == 404


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_standard_json_numbers_are_refused(api: Api, constant: bytes) -> None:
    api.world(catalog=False)
    api.add_model(FREE_MODEL)
    body = (
        b'{"properties": {"modelId": "' + FREE_MODEL.encode() + b'", "publisherId": "p", '
        b'"meters": [{"meterId": "m", "pricePer1K": ' + constant + b"}]}}"
    )
    error = _error(_raw(api, "PUT", f"{OFFERS}/nan-offer", body), 400, "InvalidRequestContent")
    assert constant.decode().lstrip("-") in error["message"]
    assert api.get(f"{OFFERS}/nan-offer").status_code == 404


# -- unknown and mistyped fields --------------------------------------------------------------
def test_a_misspelled_field_is_named(api: Api) -> None:
    world = api.world()
    body = {"properties": {"modelSetings": {"modelId": FREE_MODEL}}, "sku": {"name": "Consumption"}}
    error = _error(api.put(world.endpoint("typo"), body), 400, "InvalidRequestContent")
    assert "'properties.modelSetings' is not a known field" in error["message"]
    assert error["target"] == "properties.modelSetings"
    targets = {d["target"] for d in error["details"]}
    assert targets == {"properties.modelSetings", "properties.modelSettings"}
    assert api.get(world.endpoint("typo")).status_code == 404


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"location": "eastus2", "locaton": "westus"}, "locaton"),
        ({"location": "eastus2", "properties": {"friendlyNmae": "x"}}, "properties.friendlyNmae"),
        ({"location": "eastus2", "tags": ["a", "b"]}, "tags"),
        ({"location": "eastus2", "tags": {"a": 1}}, "tags.a"),
        ({"location": 42}, "location"),
        ({"location": ""}, "location"),
        ({"location": "eastus2", "kind": "Spaceship"}, "kind"),
        ({"location": "eastus2", "properties": "text"}, "properties"),
        ({}, "location"),
    ],
)
def test_wrong_workspace_fields_are_400(api: Api, body: dict[str, Any], target: str) -> None:
    world = api.world(catalog=False)
    path = f"{world.rg_path}/providers/{ML}/workspaces/ws-new"
    error = _error(api.put(path, body), 400, "InvalidRequestContent")
    assert error["target"] == target
    assert f"'{target}'" in error["message"]
    assert api.get(path).status_code == 404


@pytest.mark.parametrize(
    ("body", "code", "target"),
    [
        ({"properties": None}, "InvalidRequestContent", "properties"),
        ({"properties": {"modelSettings": None}}, "InvalidRequestContent", "properties.modelSettings"),
        (
            {"properties": {"modelSettings": {"modelId": 5}}},
            "InvalidRequestContent",
            "properties.modelSettings.modelId",
        ),
        (
            {"properties": {"modelSettings": {"modelId": "llama"}}},
            "InvalidModelId",
            "properties.modelSettings.modelId",
        ),
        (
            {"properties": {"modelSettings": {"modelId": "azureml://registries//models/x"}}},
            "InvalidModelId",
            "properties.modelSettings.modelId",
        ),
        (
            {"properties": {"modelSettings": {"modelId": FREE_MODEL}, "authMode": "Magic"}},
            "InvalidRequestContent",
            "properties.authMode",
        ),
        (
            {"properties": {"modelSettings": {"modelId": FREE_MODEL}}, "sku": "Consumption"},
            "InvalidRequestContent",
            "sku",
        ),
        (
            {"properties": {"modelSettings": {"modelId": FREE_MODEL}}, "sku": {"name": "Standard"}},
            "InvalidSku",
            "sku.name",
        ),
        (
            {"properties": {"modelSettings": {"modelId": FREE_MODEL}}, "kind": "k" * 65},
            "InvalidRequestContent",
            "kind",
        ),
        (
            {"properties": {"modelSettings": {"modelId": FREE_MODEL}}, "location": "l" * 65},
            "InvalidRequestContent",
            "location",
        ),
    ],
)
def test_wrong_endpoint_fields_are_400(api: Api, body: dict[str, Any], code: str, target: str) -> None:
    world = api.world()
    error = _error(api.put(world.endpoint("phi"), body), 400, code)
    assert error["target"] == target
    assert api.get(world.endpoint("phi")).status_code == 404
    # Nothing was claimed: the same name and model deploy right after.
    assert api.create_endpoint(world, "phi", FREE_MODEL).status_code == 201


@pytest.mark.parametrize(
    ("path", "body", "target"),
    [
        (
            "/subscriptions/acct-2",
            {"properties": {"billingProfile": {"paymentMethod": "Bitcoin"}}},
            "properties.billingProfile.paymentMethod",
        ),
        ("/subscriptions/acct-2", {"displayName": "x" * 257}, "displayName"),
        (
            f"{OFFERS}/bad",
            {
                "properties": {
                    "modelId": FREE_MODEL,
                    "publisherId": "p",
                    "meters": [{"meterId": "m", "pricePer1K": -1}],
                }
            },
            "properties.meters[0].pricePer1K",
        ),
        (
            f"{OFFERS}/bad",
            {"properties": {"modelId": FREE_MODEL, "publisherId": "p", "regions": "eastus2"}},
            "properties.regions",
        ),
        (f"{OFFERS}/bad", {"properties": {"modelId": FREE_MODEL}}, "properties.publisherId"),
        (
            "/registries/r/models/m/versions/1",
            {"properties": {"artifact": {"kind": "pickle"}}},
            "properties.artifact.kind",
        ),
        (
            "/registries/r/models/m/versions/1",
            {"properties": {"artifact": {"kind": "gguf"}, "contextLength": 0}},
            "properties.contextLength",
        ),
    ],
)
def test_wrong_fields_elsewhere_are_400(api: Api, path: str, body: dict[str, Any], target: str) -> None:
    api.world()
    error = _error(api.put(path, body), 400, "InvalidRequestContent")
    assert error["target"] == target
    assert api.get(path).status_code == 404


def test_blank_location_is_refused(api: Api) -> None:
    world = api.world(catalog=False)
    for path in (
        f"{world.sub_path}/resourceGroups/rg-blank",
        f"{world.rg_path}/providers/{ML}/workspaces/ws-blank",
    ):
        error = _error(api.put(path, {"location": "   "}), 400, "InvalidLocation")
        assert error["target"] == "location"
        assert api.get(path).status_code == 404


def test_nul_characters_never_reach_the_store_as_a_500(api: Api) -> None:
    world = api.world()
    principal_id, _token = api.principal("nul-check")
    role = "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
    guid = "11111111-1111-1111-1111-111111111111"
    assignment = f"{world.rg_path}/providers/Microsoft.Authorization/roleAssignments/{guid}"
    for response in (
        api.put(world.ws_path, {"location": "eastus2", "properties": {"description": "a\x00b"}}),
        api.put(world.ws_path, {"location": "eastus2", "tags": {"k": "v\x00"}}),
        api.put(assignment, {"properties": {"roleDefinitionId": role, "principalId": "x\x00"}}),
        api.put(
            assignment,
            {"properties": {"roleDefinitionId": role, "principalId": principal_id, "description": "\x00"}},
        ),
        api.create_endpoint(world, "phi", FREE_MODEL, kind="\x00"),
    ):
        assert response.status_code in (200, 201, 400), response.text
        assert "error" not in response.json() or response.json()["error"]["code"] != "InternalServerError"


# -- parents, paths and methods ---------------------------------------------------------------
def test_missing_parents_are_404_parent_resource_not_found(api: Api) -> None:
    world = api.world()
    missing_rg = World(rg="no-such-rg")
    missing_ws = World(ws="no-such-ws")
    cases = [
        (f"{missing_rg.ws_path}", {"location": "eastus2"}),
        (missing_ws.endpoint("phi"), {"properties": {"modelSettings": {"modelId": FREE_MODEL}}}),
        (missing_ws.subscription("llama"), {"properties": {"modelId": MODEL}}),
        (
            f"{missing_ws.ws_path}/connections/c",
            {
                "properties": {
                    "category": "Serverless",
                    "target": "https://x.test",
                    "credentials": {"key": "k"},
                }
            },
        ),
        ("/subscriptions/no-such-account/resourceGroups/rg", {"location": "eastus2"}),
    ]
    for path, body in cases:
        error = _error(api.put(path, body), 404, "ParentResourceNotFound")
        assert "create it first" in error["message"], path
        assert api.get(path).status_code == 404
    assert world.ws  # the real world is untouched
    assert len(api.ok(api.get(f"{world.sub_path}/resources"), 200)["value"]) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/nothing-here",
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/onlineEndpoints/e",
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/serverlessEndpoints/e/listkeys/extra",
    ],
)
def test_unknown_paths_are_a_404_envelope(api: Api, path: str) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = api.request(method, path, {} if method == "PUT" else None)
        error = _error(response, 404, "NotFound")
        assert "No route matches" in error["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        (
            "POST",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws",
        ),
        (
            "PATCH",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/serverlessEndpoints/e",
        ),
        (
            "GET",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/serverlessEndpoints/e/listKeys",
        ),
        ("DELETE", "/registries"),
        ("PUT", "/subscriptions"),
    ],
)
def test_wrong_methods_are_a_405_envelope(api: Api, method: str, path: str) -> None:
    response = api.request(method, path, {} if method in ("PUT", "PATCH", "POST") else None)
    error = _error(response, 405, "MethodNotAllowed")
    assert f"'{method}'" in error["message"]


# -- size -------------------------------------------------------------------------------------
def _oversized(api: Api) -> bytes:
    limit = api.client.app.state.process.services.settings.max_body_bytes  # type: ignore[attr-defined]
    return b'{"location": "eastus2", "tags": {"pad": "' + b"x" * limit + b'"}}'


def test_oversized_body_with_content_length_is_413(api: Api) -> None:
    world = api.world(catalog=False)
    path = f"{world.rg_path}/providers/{ML}/workspaces/ws-big"
    error = _error(_raw(api, "PUT", path, _oversized(api)), 413, "RequestTooLarge")
    assert "larger than" in error["message"]
    assert api.get(path).status_code == 404


def test_oversized_chunked_body_is_413(api: Api) -> None:
    world = api.world(catalog=False)
    path = f"{world.rg_path}/providers/{ML}/workspaces/ws-big"
    payload = _oversized(api)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 64 * 1024):
            yield payload[start : start + 64 * 1024]

    response = _raw(api, "PUT", path, chunks())
    assert response.request.headers.get("transfer-encoding") == "chunked"
    _error(response, 413, "RequestTooLarge")
    assert api.get(path).status_code == 404


# -- query parameters -------------------------------------------------------------------------
@pytest.mark.parametrize("top", ["0", "-1", "abc", "1001", "1.5", "", " 3"])
def test_bad_top_is_400(api: Api, top: str) -> None:
    world = api.world(catalog=False)
    for path in (f"{world.ws_path}/serverlessEndpoints", f"{world.sub_path}/resources"):
        error = _error(api.get(path, params={"$top": top}), 400, "BadRequest")
        assert error["target"] == "$top"


def _token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("token", ["!!!", "zzzz", "%%%", "a", _token("\x00"), _token("not-a-key"), "AAAA"])
def test_bad_skiptoken_is_400(api: Api, token: str) -> None:
    world = api.world(catalog=False)
    for path in (
        f"{world.ws_path}/serverlessEndpoints",
        f"{world.ws_path}/marketplaceSubscriptions",
        f"{world.ws_path}/connections",
        f"{world.sub_path}/resources",
        f"{world.rg_path}/resources",
    ):
        error = _error(api.get(path, params={"$skiptoken": token}), 400, "BadRequest")
        assert error["target"] == "$skiptoken", path
        assert "start the listing again" in error["message"]


@pytest.mark.parametrize(
    "text",
    [
        "foo",
        "resourceType eq",
        "resourceType eq Microsoft.SaaS/resources",
        "name eq 'a' or name eq 'b'",
        "tagName eq 'x'",
        "resourceType eq 'a' and",
        "substringof('x', name)",
    ],
)
def test_bad_filter_is_400(api: Api, text: str) -> None:
    world = api.world(catalog=False)
    error = _error(api.get(f"{world.sub_path}/resources", params={"$filter": text}), 400, "InvalidFilter")
    assert error["target"] == "$filter"
    assert "Unsupported $filter clause" in error["message"]


# -- nothing half written ---------------------------------------------------------------------
def test_a_failed_endpoint_create_leaves_no_claims(api: Api) -> None:
    world = api.world()
    neighbour = api.world(World(ws="ws2"), catalog=False)
    api.wait_operation(api.create_endpoint(world, "phi-one", FREE_MODEL))
    # Refused after the region-wide name was checked: the name must not stay taken.
    _error(api.create_endpoint(world, "phi-two", FREE_MODEL), 409, "ModelAlreadyDeployed")
    assert api.create_endpoint(neighbour, "phi-two", FREE_MODEL).status_code == 201
    # Refused for want of a subscription: name and model stay free.
    _error(api.create_endpoint(world, "llama", MODEL), 400, "MarketplaceSubscriptionRequired")
    api.ok(api.subscribe(world), 201)
    created = api.create_endpoint(world, "llama", MODEL)
    assert created.status_code == 201
    assert api.wait_operation(created)["status"] == "Succeeded"


def test_rejected_subscriptions_create_no_saas_item(api: Api) -> None:
    central = api.world(World(rg="rg-central", ws="ws-central", location="centralus"))
    world = api.world(payment="None", catalog=False)
    _error(api.subscribe(world), 400, "PaymentMethodRequired")
    _error(api.subscribe(central), 400, "OfferNotAvailableInRegion")
    _error(api.subscribe(world, "phi", FREE_MODEL), 400, "MarketplaceSubscriptionNotRequired")
    _error(api.subscribe(world, "bad.name"), 400, "InvalidResourceName")
    api.account(world.sub, "CreditCard")
    api.ok(api.subscribe(world), 201)
    _error(api.subscribe(world, "second"), 409, "MarketplaceSubscriptionExists")
    saas = api.get(
        f"{world.sub_path}/resources", params={"$filter": "resourceType eq 'Microsoft.SaaS/resources'"}
    )
    assert len(api.ok(saas, 200)["value"]) == 1
    subscriptions = api.ok(api.get(f"{world.ws_path}/marketplaceSubscriptions"), 200)["value"]
    assert [s["name"] for s in subscriptions] == ["Meta-Llama-3-8B-Instruct"]
