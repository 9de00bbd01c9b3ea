"""Strings that UTF-8 cannot encode (a lone UTF-16 surrogate, sent as the escape "\\ud800") are
refused with a 400 in the ARM envelope wherever a body carries them, never stored, and can never
turn a later read into a 500: found by hand against workspace tags, resource-group tags, connection
metadata, template outputs and cost-query filters (issue 11, item 1)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from maas.controlplane.api.responses import ArmResponse
from maas.core.jsontext import dumps, unencodable_path
from support.api import ML, Api, World

LONE = "\\ud800"  # as it appears in JSON text: the escape, not the character


def _raw(api: Api, method: str, path: str, body: str) -> httpx.Response:
    return api.client.request(
        method,
        path,
        content=body.encode(),
        params={"api-version": "2024-01-01-preview"},
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )


def _refused(response: httpx.Response, target: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "InvalidRequestContent", error
    assert error["target"] == target, error
    assert "not valid Unicode" in error["message"]


def _readable(api: Api, *paths: str) -> None:
    for path in paths:
        response = api.get(path)
        assert response.status_code in (200, 404), (path, response.text)


def _world(api: Api) -> World:
    return api.world(catalog=False)


def test_workspace_tags(api: Api) -> None:
    world = _world(api)
    path = f"{world.rg_path}/providers/{ML}/workspaces/bad"
    _refused(_raw(api, "PUT", path, '{"location":"eastus2","tags":{"a":"' + LONE + '"}}'), "tags.a")
    _refused(_raw(api, "PUT", path, '{"location":"eastus2","tags":{"' + LONE + '":"x"}}'), "tags")
    assert api.get(path).status_code == 404
    _readable(api, f"{world.rg_path}/providers/{ML}/workspaces", f"{world.sub_path}/resources")


def test_resource_group_tags(api: Api) -> None:
    world = _world(api)
    path = f"{world.sub_path}/resourceGroups/rg-bad"
    _refused(_raw(api, "PUT", path, '{"location":"eastus2","tags":{"a":"x' + LONE + 'y"}}'), "tags.a")
    assert api.get(path).status_code == 404
    _readable(api, f"{world.sub_path}/resourceGroups", f"{world.sub_path}/resources")


def test_connection_metadata(api: Api) -> None:
    world = _world(api)
    path = f"{world.ws_path}/connections/bad"
    body = (
        '{"properties":{"category":"Serverless","target":"https://maas.example/endpoints/eastus2/x",'
        '"credentials":{"key":"k"},"metadata":{"note":"' + LONE + '"}}}'
    )
    _refused(_raw(api, "PUT", path, body), "properties.metadata.note")
    assert api.get(path).status_code == 404
    _readable(api, f"{world.ws_path}/connections")


def test_cost_query_filter_value(api: Api) -> None:
    world = _world(api)
    body = (
        '{"type":"Usage","timeframe":"MonthToDate","dataset":{"filter":{"dimensions":'
        '{"name":"ResourceGroupName","operator":"In","values":["' + LONE + '"]}}}}'
    )
    response = _raw(api, "POST", f"{world.sub_path}/providers/Microsoft.CostManagement/query", body)
    _refused(response, "dataset.filter.dimensions.values[0]")


def test_template_outputs_that_evaluate_to_a_lone_surrogate_are_not_stored(api: Api) -> None:
    world = _world(api)
    # the body is valid Unicode; the template's json() makes the surrogate while evaluating
    template: dict[str, Any] = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [],
        "outputs": {"x": {"type": "string", "value": "[json('\"\\ud800\"')]"}},
    }
    path = f"{world.rg_path}/providers/Microsoft.Resources/deployments/bad"
    response = api.put(path, {"properties": {"template": template, "mode": "Incremental"}})
    _refused(response, "properties.outputs.x.value")
    _readable(api, path, f"{world.rg_path}/providers/Microsoft.Resources/deployments")
    listed = api.get(f"{world.rg_path}/providers/Microsoft.Resources/deployments")
    assert unencodable_path(listed.json()) is None, listed.text


def test_a_surrogate_in_a_path_or_query_is_a_clean_error(api: Api) -> None:
    world = _world(api)
    for path in (
        f"{world.rg_path}/providers/{ML}/workspaces/%ED%A0%80",
        f"{world.sub_path}/resourceGroups/%ED%A0%80",
    ):
        response = api.get(path)
        assert 400 <= response.status_code < 500, response.text
        assert set(response.json()) == {"error"}


# -- the renderer cannot fail, whatever it is given --------------------------------------------
def test_the_arm_renderer_renders_what_utf8_cannot_encode() -> None:
    body = ArmResponse({"error": {"code": "X", "message": "bad \ud800 value", "\udc00": ["\ud800"]}}).body
    assert body == dumps({"error": {"code": "X", "message": "bad \ufffd value", "\ufffd": ["\ufffd"]}})
    assert body.decode("utf-8")


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"a": "ok"}, None),
        ({"a": ["ok", {"b": "\ud800"}]}, "a[1].b"),
        ({"\ud800": 1}, "(body)"),
        ({"a": {"\udfff": 1}}, "a"),
        ("\U0001f600", None),  # what a well-formed pair of escapes parses to
    ],
)
def test_unencodable_path(value: Any, where: str | None) -> None:
    assert unencodable_path(value) == where
