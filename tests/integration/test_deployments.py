"""Template deployments through the API: the seed's templates, bad templates, and rollback."""

from __future__ import annotations

import copy
from typing import Any

from support.api import FREE_MODEL, MODEL, Api, World

EP_TYPE = "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints"
# The seed's two templates, verbatim (../shared/seed: "Use the following template to ...").
SEED_SUBSCRIPTION_TEMPLATE: dict[str, Any] = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {
        "workspace_name": {"defaultValue": "my-workspace", "type": "String"},
        "subscription_name": {"defaultValue": "Meta-Llama-3-8B-Instruct", "type": "String"},
        "model_id": {
            "defaultValue": "azureml://registries/azureml-meta/models/Meta-Llama-3-8B-Instruct",
            "type": "String",
        },
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
SEED_ENDPOINT_TEMPLATE: dict[str, Any] = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {
        "workspace_name": {"defaultValue": "my-workspace", "type": "String"},
        "endpoint_name": {"defaultValue": "meta-llama3-8b-qwerty", "type": "String"},
        "location": {"defaultValue": "eastus2", "type": "String"},
        "model_id": {
            "defaultValue": "azureml://registries/azureml-meta/models/Meta-Llama-3-8B-Instruct",
            "type": "String",
        },
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


def deployment(world: World, name: str) -> str:
    return f"{world.rg_path}/providers/Microsoft.Resources/deployments/{name}"


def deploy(api: Api, world: World, name: str, template: Any, parameters: Any = None) -> Any:
    body = {"properties": {"template": template, "parameters": parameters or {}, "mode": "Incremental"}}
    return api.put(deployment(world, name), body, params={"api-version": "2021-04-01"})


def children(api: Api, world: World) -> list[str]:
    out = []
    for collection in ("serverlessEndpoints", "marketplaceSubscriptions", "connections"):
        listed = api.ok(api.get(f"{world.ws_path}/{collection}"), 200)["value"]
        out += [item["id"] for item in listed]
    return out


def test_the_seeds_endpoint_template_deploys_unchanged(api: Api) -> None:
    world = api.world()
    api.ok(api.subscribe(world))
    parameters = {"workspace_name": {"value": world.ws}, "model_id": {"value": MODEL}}
    created = api.ok(
        deploy(api, world, "model-subscription-deployment", SEED_ENDPOINT_TEMPLATE, parameters), 201
    )
    assert created["properties"]["provisioningState"] == "Succeeded", created
    shown = api.ok(api.get(deployment(world, "model-subscription-deployment")), 200)
    assert shown["type"] == "Microsoft.Resources/deployments"
    assert shown["properties"]["provisioningState"] == "Succeeded"
    assert shown["properties"]["parameters"]["location"] == {"type": "String", "value": "eastus2"}
    endpoint = api.ok(api.get(world.endpoint("meta-llama3-8b-qwerty")), 200)
    assert endpoint["properties"]["provisioningState"] == "Succeeded"
    assert shown["properties"]["outputResources"] == [{"id": endpoint["id"]}]
    listed = api.ok(api.get(f"{world.rg_path}/providers/Microsoft.Resources/deployments"), 200)["value"]
    assert [d["name"] for d in listed] == ["model-subscription-deployment"]
    # Deleting the deployment deletes its record only.
    assert api.delete(deployment(world, "model-subscription-deployment")).status_code == 204
    assert api.get(deployment(world, "model-subscription-deployment")).status_code == 404
    api.ok(api.get(world.endpoint("meta-llama3-8b-qwerty")), 200)


def test_the_seeds_subscription_template_names_the_undeclared_location(api: Api) -> None:
    world = api.world()
    parameters = {"workspace_name": {"value": world.ws}}
    response = deploy(api, world, "sub", SEED_SUBSCRIPTION_TEMPLATE, parameters)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "InvalidTemplate"
    assert "The template parameter 'location' is not found" in error["message"]
    assert "resources[0].location" in error["message"]
    assert error["target"] == "resources[0].location"
    assert children(api, world) == []
    assert api.get(deployment(world, "sub")).status_code == 404

    declared = copy.deepcopy(SEED_SUBSCRIPTION_TEMPLATE)
    declared["parameters"]["location"] = {"defaultValue": "eastus2", "type": "String"}
    body = api.ok(deploy(api, world, "sub", declared, parameters), 201)
    assert body["properties"]["provisioningState"] == "Succeeded", body
    api.ok(api.get(world.subscription("Meta-Llama-3-8B-Instruct")), 200)


def test_outputs_and_expressions_come_back_typed(api: Api) -> None:
    world = api.world()
    template = {
        "parameters": {"suffix": {"type": "string", "allowedValues": ["a", "b"]}},
        "variables": {
            "name": "[format('ep-{0}-{1}', parameters('suffix'), uniqueString(resourceGroup().id))]"
        },
        "resources": [
            {
                "type": "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints",
                "apiVersion": "2024-04-01",
                "name": f"[concat('{world.ws}', '/', variables('name'))]",
                "location": "[resourceGroup().location]",
                "sku": {"name": "Consumption"},
                "properties": {"modelSettings": {"modelId": FREE_MODEL}},
            }
        ],
        "outputs": {
            "endpoint": {
                "type": "string",
                "value": f"[resourceId('{EP_TYPE}', '{world.ws}', variables('name'))]",
            },
            "count": {"type": "int", "value": "[length(createArray(1, 2))]"},
        },
    }
    body = api.ok(deploy(api, world, "typed", template, {"suffix": "a"}), 201)
    assert body["properties"]["provisioningState"] == "Succeeded", body
    outputs = body["properties"]["outputs"]
    assert outputs["count"] == {"type": "Int", "value": 2}
    assert outputs["endpoint"]["type"] == "String"
    api.ok(api.get(outputs["endpoint"]["value"]), 200)


def _bad(api: Api, world: World, template: Any, parameters: Any, target: str, words: str) -> None:
    before = children(api, world)
    response = deploy(api, world, "bad", template, parameters)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["target"] == target, error
    assert words in error["message"], error
    assert children(api, world) == before
    assert api.get(deployment(world, "bad")).status_code == 404


def test_bad_templates_name_the_field_and_create_nothing(api: Api) -> None:
    world = api.world()
    api.ok(api.subscribe(world))
    base = copy.deepcopy(SEED_ENDPOINT_TEMPLATE)
    good = {"workspace_name": {"value": world.ws}, "model_id": {"value": MODEL}}

    typo = copy.deepcopy(base)
    typo["resources"][0]["name"] = "[concatt(parameters('workspace_name'), '/x')]"
    _bad(api, world, typo, good, "resources[0].name", "The template function 'concatt' is not valid")

    unknown = copy.deepcopy(base)
    unknown["resources"][0]["type"] = "Microsoft.Storage/storageAccounts"
    unknown["resources"][0]["name"] = "store"
    _bad(api, world, unknown, good, "resources[0].type", "Microsoft.MachineLearningServices/workspaces")

    missing = copy.deepcopy(base)
    del missing["parameters"]["model_id"]["defaultValue"]
    _bad(api, world, missing, {"workspace_name": world.ws}, "parameters.model_id", "is not provided")

    allowed = copy.deepcopy(base)
    allowed["parameters"]["location"]["allowedValues"] = ["eastus2", "westus3"]
    _bad(api, world, allowed, {**good, "location": "mars"}, "parameters.location", "allowed value(s)")

    extra = {**good, "locaton": "eastus2"}
    _bad(api, world, base, extra, "parameters.locaton", "not present in the original template")

    dangling = copy.deepcopy(base)
    dangling["resources"][0]["dependsOn"] = [
        "[resourceId('Microsoft.MachineLearningServices/workspaces', 'nope')]"
    ]
    _bad(api, world, dangling, good, "resources[0].dependsOn[0]", "is not defined in a template")

    body_typo = copy.deepcopy(base)
    body_typo["resources"][0]["properties"]["modelSetings"] = {}
    _bad(api, world, body_typo, good, "resources[0].properties.modelSetings", "not a known field")

    bad_expression = copy.deepcopy(base)
    bad_expression["resources"][0]["location"] = "[parameters('location']"
    _bad(api, world, bad_expression, good, "resources[0].location", "Expected")

    complete = {"properties": {"template": base, "parameters": good, "mode": "Complete"}}
    response = api.put(deployment(world, "bad"), complete)
    assert response.status_code == 400 and "Complete" in response.json()["error"]["message"]
    linked = {"properties": {"templateLink": {"uri": "https://example.com/t.json"}}}
    response = api.put(deployment(world, "bad"), linked)
    assert response.status_code == 400 and "templateLink" in response.json()["error"]["message"]


def test_a_failing_resource_rolls_back_what_the_deployment_created(api: Api) -> None:
    world = api.world()  # no marketplace subscription: the second endpoint breaks a service rule
    template = {
        "resources": [
            {
                "type": "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints",
                "apiVersion": "2024-04-01",
                "name": f"{world.ws}/free-one",
                "sku": {"name": "Consumption"},
                "properties": {"modelSettings": {"modelId": FREE_MODEL}},
            },
            {
                "type": "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints",
                "apiVersion": "2024-04-01",
                "name": f"{world.ws}/paid-one",
                "dependsOn": ["free-one"],
                "sku": {"name": "Consumption"},
                "properties": {"modelSettings": {"modelId": MODEL}},
            },
        ]
    }
    body = api.ok(deploy(api, world, "half", template), 201)
    assert body["properties"]["provisioningState"] == "Failed", body
    error = body["properties"]["error"]
    assert error["code"] == "DeploymentFailed"
    assert error["details"][0]["code"] == "MarketplaceSubscriptionRequired"
    assert error["target"].startswith("resources[1]")
    assert api.get(world.endpoint("free-one")).status_code == 404
    assert children(api, world) == []
    shown = api.ok(api.get(deployment(world, "half")), 200)
    assert shown["properties"]["provisioningState"] == "Failed"
    assert shown["properties"]["outputResources"] == []


def test_validate_checks_without_deploying(api: Api) -> None:
    world = api.world()
    body = {"properties": {"template": SEED_ENDPOINT_TEMPLATE, "parameters": {"workspace_name": world.ws}}}
    checked = api.ok(api.post(deployment(world, "check") + "/validate", body), 200)
    assert checked["properties"]["validatedResources"] == [{"id": world.endpoint("meta-llama3-8b-qwerty")}]
    assert children(api, world) == []
    bad = {"properties": {"template": SEED_SUBSCRIPTION_TEMPLATE}}
    response = api.post(deployment(world, "check") + "/validate", bad)
    assert response.status_code == 400 and response.json()["error"]["target"] == "resources[0].location"


def test_a_reader_cannot_deploy(api: Api) -> None:
    world = api.world()
    principal, token = api.principal("reader")
    api.ok(api.assign(world.rg_path, principal, "acdd72a7-3385-48ef-bd42-f606fba81ae7"), 201)
    reader = api.as_token(token)
    parameters = {"workspace_name": world.ws, "model_id": FREE_MODEL}
    response = deploy(reader, world, "nope", SEED_ENDPOINT_TEMPLATE, parameters)
    assert response.status_code == 403, response.text
    assert children(api, world) == []


def test_a_subscription_and_its_endpoint_deploy_in_dependency_order(api: Api) -> None:
    world = api.world()
    subscription = copy.deepcopy(SEED_SUBSCRIPTION_TEMPLATE["resources"][0])
    endpoint = copy.deepcopy(SEED_ENDPOINT_TEMPLATE["resources"][0])
    endpoint["dependsOn"] = [
        "[resourceId('Microsoft.MachineLearningServices/workspaces/marketplaceSubscriptions', "
        "parameters('workspace_name'), parameters('subscription_name'))]"
    ]
    template = {
        "parameters": {
            **SEED_ENDPOINT_TEMPLATE["parameters"],
            "subscription_name": {"defaultValue": "llama-sub", "type": "String"},
        },
        # The endpoint comes first in the file; dependsOn puts the subscription first.
        "resources": [endpoint, subscription],
        "outputs": {"endpoint": {"type": "string", "value": "[parameters('endpoint_name')]"}},
    }
    parameters = {"workspace_name": {"value": world.ws}, "model_id": {"value": MODEL}}
    body = api.ok(deploy(api, world, "both", template, parameters), 201)
    assert body["properties"]["provisioningState"] == "Succeeded", body
    assert body["properties"]["outputs"]["endpoint"] == {"type": "String", "value": "meta-llama3-8b-qwerty"}
    assert [r["id"] for r in body["properties"]["outputResources"]] == [
        world.subscription("llama-sub"),
        world.endpoint("meta-llama3-8b-qwerty"),
    ]
    api.ok(api.get(world.endpoint("meta-llama3-8b-qwerty")), 200)

    # Deploying the same template again is idempotent (200: the deployment record existed).
    again = api.ok(deploy(api, world, "both", template, parameters), 200)
    assert again["properties"]["provisioningState"] == "Succeeded", again


def test_a_failure_after_a_subscription_removes_the_subscription(api: Api) -> None:
    world = api.world()
    subscription = copy.deepcopy(SEED_SUBSCRIPTION_TEMPLATE["resources"][0])
    subscription["location"] = "eastus2"
    endpoint = copy.deepcopy(SEED_ENDPOINT_TEMPLATE["resources"][0])
    endpoint["location"] = "westus3"  # not the workspace's region: the endpoint service refuses it
    endpoint["dependsOn"] = ["[concat(parameters('workspace_name'), '/', parameters('subscription_name'))]"]
    template = {"parameters": SEED_SUBSCRIPTION_TEMPLATE["parameters"], "resources": [subscription, endpoint]}
    template["parameters"] = {
        **template["parameters"],
        "endpoint_name": {"type": "string", "defaultValue": "e1"},
    }
    parameters = {"workspace_name": world.ws, "model_id": MODEL}
    body = api.ok(deploy(api, world, "sub-then-fail", template, parameters), 201)
    assert body["properties"]["provisioningState"] == "Failed", body
    assert body["properties"]["error"]["details"][0]["code"] == "LocationMismatch"
    assert body["properties"]["error"]["target"] == "resources[1].location"
    assert children(api, world) == []
