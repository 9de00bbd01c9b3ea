"""Whole templates: parameter rules, variables, child names, dependsOn order, outputs, error paths."""

from __future__ import annotations

from typing import Any

import pytest

from maas.templates import DeploymentScope, TemplateError, plan

SCOPE = DeploymentScope("sub-1", "rg1", "eastus2")
WS = "Microsoft.MachineLearningServices/workspaces"
EP = f"{WS}/serverlessEndpoints"
RG_ID = "/subscriptions/sub-1/resourceGroups/rg1/providers/Microsoft.MachineLearningServices"


def resource(type_: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "apiVersion": "2024-04-01", "name": name, **extra}


def template(*resources: dict[str, Any], **sections: Any) -> dict[str, Any]:
    return {"resources": list(resources), **sections}


def fails(tmpl: Any, supplied: Any = None) -> TemplateError:
    with pytest.raises(TemplateError) as caught:
        plan(tmpl, supplied, SCOPE)
    assert caught.value.status == 400
    return caught.value


# -- parameters ---------------------------------------------------------------------------------
def test_parameters_supplied_wrapped_or_plain_and_defaults() -> None:
    params = {
        "a": {"type": "String"},
        "b": {"type": "int", "defaultValue": 3},
        "c": {"type": "string", "defaultValue": "[concat(parameters('a'), '-c')]"},
        "s": {"type": "securestring", "defaultValue": "hidden"},
    }
    result = plan(template(parameters=params), {"a": {"value": "x"}}, SCOPE)
    assert result.parameters == {
        "a": {"type": "String", "value": "x"},
        "b": {"type": "Int", "value": 3},
        "c": {"type": "String", "value": "x-c"},
        "s": {"type": "SecureString"},
    }
    assert plan(template(parameters=params), {"A": "y", "b": "7"}, SCOPE).parameters["b"]["value"] == 7


def test_supplied_values_are_taken_literally() -> None:
    params = {"a": {"type": "string"}}
    out = {"o": {"type": "string", "value": "[parameters('a')]"}}
    result = plan(template(parameters=params, outputs=out), {"a": "[[not evaluated]"}, SCOPE)
    assert result.outputs["o"]["value"] == "[[not evaluated]"


def test_missing_unknown_and_mistyped_parameters() -> None:
    params = {"a": {"type": "string"}}
    error = fails(template(parameters=params))
    assert error.target == "parameters.a"
    assert "The value for the template parameter 'a' is not provided" in error.message
    error = fails(template(parameters=params), {"a": "x", "b": "y"})
    assert error.target == "parameters.b"
    assert "not present in the original template" in error.message and "'a'" in error.message
    error = fails(template(parameters=params), {"a": 5})
    assert "Expected a value of type 'String'" in error.message


@pytest.mark.parametrize(
    ("decl", "value", "words"),
    [
        ({"type": "string", "allowedValues": ["x", "y"]}, "z", "not part of the allowed value(s): 'x,y'"),
        ({"type": "int", "minValue": 1, "maxValue": 3}, 4, "between 1 and 3"),
        ({"type": "int", "minValue": 1}, 0, "between 1 and"),
        ({"type": "string", "minLength": 2}, "a", "length 1"),
        ({"type": "array", "maxLength": 1}, [1, 2], "length 2"),
        ({"type": "array", "allowedValues": [1, 2]}, [1, 3], "allowed value(s)"),
    ],
)
def test_parameter_constraints(decl: dict[str, Any], value: Any, words: str) -> None:
    error = fails(template(parameters={"p": decl}), {"p": value})
    assert error.target == "parameters.p"
    assert words in error.message


def test_a_default_value_is_checked_too() -> None:
    decl = {"type": "string", "defaultValue": "z", "allowedValues": ["x"]}
    assert fails(template(parameters={"p": decl})).target == "parameters.p.defaultValue"


def test_bad_declarations() -> None:
    assert fails(template(parameters={"p": {"type": "text"}})).target == "parameters.p.type"
    assert (
        fails(template(parameters={"p": {"type": "string", "defaultVal": 1}})).target
        == "parameters.p.defaultVal"
    )


# -- variables and expressions ------------------------------------------------------------------
def test_variables_use_parameters_and_each_other() -> None:
    tmpl = template(
        resource(WS, "[variables('name')]", location="[resourceGroup().location]"),
        parameters={"prefix": {"type": "string", "defaultValue": "ws"}},
        variables={"name": "[concat(variables('base'), '-1')]", "base": "[parameters('prefix')]"},
    )
    [ws] = plan(tmpl, None, SCOPE).resources
    assert ws.id == f"{RG_ID}/workspaces/ws-1"
    assert ws.body == {"location": "eastus2"}


def test_a_variable_cycle_is_an_error() -> None:
    error = fails(template(variables={"a": "[variables('b')]", "b": "[variables('a')]"}))
    assert "refers to itself" in error.message
    assert error.target is not None and error.target.startswith("variables.")


def test_an_undeclared_parameter_names_the_json_path() -> None:
    error = fails(
        template(resource(f"{WS}/marketplaceSubscriptions", "ws/sub", location="[parameters('location')]"))
    )
    assert error.code == "InvalidTemplate"
    assert error.target == "resources[0].location"
    assert "The template parameter 'location' is not found." in error.message
    assert "resources[0].location" in error.message


def test_an_error_deep_in_properties_names_its_path() -> None:
    body = {"properties": {"modelSettings": {"modelId": "[toLower(1)]"}}}
    error = fails(template(resource(EP, "ws/ep", **body)))
    assert error.target == "resources[0].properties.modelSettings.modelId"


def test_null_members_are_dropped() -> None:
    [ws] = plan(
        template(resource(WS, "ws", location="eastus2", tags="[json('null')]")), None, SCOPE
    ).resources
    assert ws.body == {"location": "eastus2"}


# -- resources ----------------------------------------------------------------------------------
def test_nested_children_inherit_type_and_name() -> None:
    child = {"type": "serverlessEndpoints", "apiVersion": "2024-04-01", "name": "ep", "dependsOn": ["ws"]}
    result = plan(template(resource(WS, "ws", location="eastus2", resources=[child])), None, SCOPE)
    ws, ep = result.resources
    assert ep.type == EP and ep.names == ("ws", "ep")
    assert ep.id == f"{RG_ID}/workspaces/ws/serverlessEndpoints/ep"
    assert ep.path == "resources[0].resources[0]"
    assert ep.depends_on == (ws.id,)


def test_name_segments_must_match_type_segments() -> None:
    error = fails(template(resource(EP, "ep")))
    assert error.target == "resources[0].name"
    assert "incorrect segment lengths" in error.message


def test_depends_on_orders_resources() -> None:
    ep = resource(EP, "ws/ep", dependsOn=[f"[resourceId('{WS}', 'ws')]"])
    conn = resource(f"{WS}/connections", "ws/c", dependsOn=["ws/ep"])
    result = plan(template(conn, ep, resource(WS, "ws")), None, SCOPE)
    assert [r.names[-1] for r in result.resources] == ["ws", "ep", "c"]


def test_a_parent_in_the_template_comes_first_even_without_depends_on() -> None:
    result = plan(template(resource(EP, "ws/ep"), resource(WS, "ws")), None, SCOPE)
    assert [r.type for r in result.resources] == [WS, EP]


def test_depends_on_must_point_inside_the_template() -> None:
    error = fails(template(resource(EP, "ws/ep", dependsOn=["other"])))
    assert error.target == "resources[0].dependsOn[0]"
    assert "The resource 'other' is not defined in a template." in error.message


def test_a_dependency_cycle_is_an_error() -> None:
    a = resource(WS, "a", dependsOn=["b"])
    b = resource(WS, "b", dependsOn=["a"])
    error = fails(template(a, b))
    assert "Circular dependency" in error.message


def test_a_resource_defined_twice_is_an_error() -> None:
    error = fails(template(resource(WS, "ws"), resource(WS, "WS")))
    assert error.target == "resources[1].name"


def test_condition_false_skips_a_resource_and_dependencies_on_it() -> None:
    skipped = resource(WS, "ws", condition="[equals(1, 2)]")
    result = plan(template(skipped, resource(EP, "other/ep", dependsOn=["ws"])), None, SCOPE)
    assert [r.names for r in result.resources] == [("other", "ep")]


@pytest.mark.parametrize(
    ("item", "target"),
    [
        ({"type": WS, "name": "ws"}, "resources[0].apiVersion"),
        ({"type": WS, "apiVersion": "1", "name": "ws", "locaton": "x"}, "resources[0].locaton"),
        ({"type": WS, "apiVersion": "1", "name": "ws", "copy": {}}, "resources[0].copy"),
        ({"type": "[1]", "apiVersion": "1", "name": "ws"}, "resources[0].type"),
    ],
)
def test_resource_shape_errors(item: dict[str, Any], target: str) -> None:
    assert fails(template(item)).target == target


def test_template_shape_errors() -> None:
    assert fails([]).target == "template"
    assert fails({"resource": []}).target == "resource"
    assert fails({}).target == "resources"


# -- outputs ------------------------------------------------------------------------------------
def test_outputs_are_typed_and_checked() -> None:
    outputs = {
        "id": {"type": "string", "value": f"[resourceId('{WS}', 'ws')]"},
        "n": {"type": "Int", "value": 3},
        "o": {"type": "object", "value": {"a": "[concat('x', 'y')]"}},
        "secret": {"type": "securestring", "value": "s"},
    }
    result = plan(template(outputs=outputs), None, SCOPE)
    assert result.outputs == {
        "id": {"type": "String", "value": f"{RG_ID}/workspaces/ws"},
        "n": {"type": "Int", "value": 3},
        "o": {"type": "Object", "value": {"a": "xy"}},
        "secret": {"type": "SecureString"},
    }
    error = fails(template(outputs={"n": {"type": "int", "value": "three"}}))
    assert error.target == "outputs.n.value"
