"""Template limits through the API: a template that amplifies is refused before anything is
stored, with ARM's code and the JSON path, so no deployment record (or listing) can balloon."""

from __future__ import annotations

from typing import Any

from support.api import Api, World

CONN = "Microsoft.MachineLearningServices/workspaces/connections"
PAD = "[padLeft('', 131072, 'x')]"  # the largest string a function may return


def deployments(world: World) -> str:
    return f"{world.rg_path}/providers/Microsoft.Resources/deployments"


def deploy(api: Api, world: World, name: str, template: Any) -> Any:
    body = {"properties": {"template": template, "parameters": {}, "mode": "Incremental"}}
    return api.put(f"{deployments(world)}/{name}", body, params={"api-version": "2021-04-01"})


def refused(api: Api, world: World, template: Any, status: int, code: str, target: str) -> dict[str, Any]:
    response = deploy(api, world, "big", template)
    assert response.status_code == status, response.text[:2000]
    assert len(response.content) < 4096, "the refusal itself stays small"
    error: dict[str, Any] = response.json()["error"]
    assert (error["code"], error["target"]) == (code, target), error
    assert api.get(f"{deployments(world)}/big").status_code == 404
    listing = api.get(deployments(world))
    assert listing.status_code == 200 and listing.json()["value"] == []
    assert len(listing.content) < 1024
    return error


def test_a_600_byte_template_asking_for_100_mb_is_refused_and_nothing_is_stored(api: Api) -> None:
    world = api.world(catalog=False)
    template = {
        "resources": [],
        "outputs": {"x": {"type": "string", "value": "[padLeft('x', 100000000, 'y')]"}},
    }
    error = refused(api, world, template, 400, "InvalidTemplate", "outputs.x.value")
    assert "at 'outputs.x.value'" in error["message"]
    assert "Limit: '131072' and actual: '100000000'" in error["message"]
    validate = api.post(f"{deployments(world)}/big/validate", {"properties": {"template": template}})
    assert validate.status_code == 400 and validate.json()["error"]["target"] == "outputs.x.value"


def test_outputs_a_record_cannot_keep_are_refused(api: Api) -> None:
    # 9 outputs of 131,072 characters: within every template limit, over the 1 MiB a record keeps.
    world = api.world(catalog=False)
    outputs = {f"o{i}": {"type": "string", "value": "[variables('pad')]"} for i in range(9)}
    template = {"resources": [], "variables": {"pad": PAD}, "outputs": outputs}
    error = refused(api, world, template, 400, "DeploymentJobSizeExceeded", "outputs.o8")
    assert "at most 1048576 bytes per deployment" in error["message"]


def test_quadratic_dependencies_are_refused_before_any_resource_is_made(api: Api) -> None:
    # Each of 150 connections depends on every earlier one: 11,175 dependencies a record would keep.
    world = api.world(catalog=False)
    names = [f"c{i:03}" for i in range(150)]
    resources = [
        {"type": CONN, "apiVersion": "2024-04-01", "name": f"{world.ws}/{n}", "dependsOn": names[:i]}
        for i, n in enumerate(names)
    ]
    refused(api, world, {"resources": resources}, 400, "DeploymentJobSizeExceeded", "dependencies")
    listed = api.ok(api.get(f"{world.ws_path}/connections"), 200)
    assert listed["value"] == []
