"""Limits: ARM's published template limits, bounded function results and the work budget.

Each refusal comes before anything large is built, with ARM's code and the JSON path as target.
"""

from __future__ import annotations

from typing import Any

import pytest

from maas.templates import DeploymentScope, TemplateError, TemplateTooLarge, plan
from maas.templates.limits import MAX_STRING, Budget, size

SCOPE = DeploymentScope("sub-1", "rg1", "eastus2")
CONN = "Microsoft.MachineLearningServices/workspaces/connections"


def output(value: str, type_: str = "string") -> dict[str, Any]:
    return {"resources": [], "outputs": {"x": {"type": type_, "value": value}}}


def fails(template: Any, supplied: Any = None) -> TemplateError:
    with pytest.raises(TemplateError) as caught:
        plan(template, supplied, SCOPE)
    return caught.value


def resource(name: str, **extra: Any) -> dict[str, Any]:
    return {"type": CONN, "apiVersion": "2024-04-01", "name": f"ws/{name}", **extra}


# -- the amplifier the issue reported ------------------------------------------------------------
def test_pad_left_to_100_million_is_refused_at_its_path() -> None:
    error = fails(output("[padLeft('x', 100000000, 'y')]"))
    assert (error.status, error.code, error.target) == (400, "InvalidTemplate", "outputs.x.value")
    assert "Unable to process template language expressions at 'outputs.x.value'" in error.message
    assert "Limit: '131072' and actual: '100000000'" in error.message
    assert (
        len(plan(output(f"[padLeft('x', {MAX_STRING}, 'y')]"), None, SCOPE).outputs["x"]["value"])
        == MAX_STRING
    )


# -- ARM's published counts and sizes ------------------------------------------------------------
def test_more_than_256_parameters() -> None:
    params = {f"p{i}": {"type": "int", "defaultValue": i} for i in range(257)}
    error = fails({"resources": [], "parameters": params})
    assert (error.code, error.target) == ("InvalidTemplate", "parameters")
    assert (
        "The number of template parameters limit exceeded. Limit: '256' and actual: '257'." in error.message
    )
    del params["p256"]
    assert len(plan({"resources": [], "parameters": params}, None, SCOPE).parameters) == 256


def test_more_than_256_variables() -> None:
    error = fails({"resources": [], "variables": {f"v{i}": i for i in range(257)}})
    assert (error.code, error.target) == ("InvalidTemplate", "variables")
    assert "variables limit exceeded. Limit: '256' and actual: '257'" in error.message


def test_more_than_64_outputs() -> None:
    outputs = {f"o{i}": {"type": "int", "value": i} for i in range(65)}
    error = fails({"resources": [], "outputs": outputs})
    assert (error.code, error.target) == ("InvalidTemplate", "outputs")
    assert "outputs limit exceeded. Limit: '64' and actual: '65'" in error.message
    del outputs["o64"]
    assert len(plan({"resources": [], "outputs": outputs}, None, SCOPE).outputs) == 64


def test_more_than_800_resources_counting_nested_children() -> None:
    parents = [
        {**resource(f"c{i}"), "type": "Microsoft.MachineLearningServices/workspaces", "name": f"ws{i}"}
        for i in range(400)
    ]
    for i, parent in enumerate(parents):
        parent["resources"] = [{"type": "connections", "apiVersion": "2024-04-01", "name": f"c{i}"}]
    assert len(plan({"resources": parents}, None, SCOPE).resources) == 800
    parents.append(resource("one-more"))
    error = fails({"resources": parents})
    assert (error.code, error.target) == ("InvalidTemplate", "resources")
    assert "The number of template resources limit exceeded. Limit: '800' and actual: '801'." in error.message


def test_a_template_or_parameters_over_4_mb_is_request_content_too_large() -> None:
    big = "x" * (4 * 1024 * 1024)
    error = fails({"resources": [], "variables": {"pad": big}})
    assert isinstance(error, TemplateTooLarge)
    assert (error.status, error.code, error.target) == (413, "RequestContentTooLarge", "template")
    assert "The request content size exceeds the maximum size of 4 MB" in error.message
    error = fails({"resources": [], "parameters": {"p": {"type": "string"}}}, {"p": big})
    assert (error.status, error.code, error.target) == (413, "RequestContentTooLarge", "parameters")


def test_an_expression_over_24576_characters() -> None:
    long = "[concat('" + "x" * 24_576 + "')]"
    error = fails({"resources": [resource("c", properties={"target": long})]})
    assert (error.code, error.target) == ("InvalidTemplate", "resources[0].properties.target")
    assert (
        "The language expression length limit exceeded. Limit: '24576' and actual: '24588'." in error.message
    )


def test_a_resource_over_1_mb_or_a_template_over_4_mb_once_evaluated() -> None:
    pad = f"[padLeft('', {MAX_STRING}, 'x')]"
    body = {f"k{i}": pad for i in range(9)}  # 9 × 131,072 characters: over 1 MB
    error = fails({"resources": [resource("c", properties=body)]})
    assert (error.code, error.target) == ("DeploymentJobSizeExceeded", "resources[0]")
    outputs = {f"o{i}": {"type": "string", "value": "[variables('pad')]"} for i in range(40)}
    error = fails({"resources": [], "variables": {"pad": pad}, "outputs": outputs})
    assert error.code == "DeploymentJobSizeExceeded" and error.target is not None
    assert error.target.startswith("outputs.o") and "at most 4 MB" in error.message


# -- what functions may build --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("[range(0, 100000000)]", "expects a count from 0 to 10000, got 100000000"),
        ("[range(2147483640, 10)]", "startIndex + count"),
        ("[replace(padLeft('', 100000, 'a'), 'a', 'bbbbbbbbbb')]", "'replace' would return 1000000"),
        ("[format('{0,100000000}', 'x')]", "'format' would return 100000000"),
        ("[format('{0:N100000000}', 1)]", "'format' would return 100000000"),
        ("[concat(padLeft('', 131072, 'a'), 'b')]", "'concat' would return 131073 characters"),
        ("[" + "concat(range(0, 10000), " * 13 + "range(0, 10000)" + ")" * 13 + "]", "140000 elements"),
        ("[string(createArray(padLeft('', 131072, 'a')))]", "'string' would return"),
        (
            "[uniqueString(padLeft('', 131072, 'a'), 'b')]",
            "literal limit. Limit: '131072' and actual: '131074'",
        ),
        ("[toUpper(padLeft('', 131072, 'ß'))]", "'toUpper' would return 262144 characters"),
        ("[mul(mul(4611686018427387904, 4), 4)]", "overflowed a 64-bit integer"),
        ("[json('" + "[" * 5000 + "')]", "nested too deeply"),
    ],
)
def test_function_results_are_bounded(expression: str, words: str) -> None:
    error = fails(output(expression, "array"))
    assert (error.code, error.target) == ("InvalidTemplate", "outputs.x.value")
    assert words in error.message


def test_range_and_union_at_their_limits() -> None:
    assert plan(output("[length(range(5, 10000))]", "int"), None, SCOPE).outputs["x"]["value"] == 10000
    both = "[length(union(range(0, 10000), range(5000, 10000), createArray(1, true)))]"
    assert plan(output(both, "int"), None, SCOPE).outputs["x"]["value"] == 15001  # true is not 1


# -- the work budget -----------------------------------------------------------------------------
def test_nested_concat_doubling_runs_out_of_budget() -> None:
    variables = {"v0": "[createArray('abc')]"}
    for i in range(1, 40):
        prev = f"createArray(variables('v{i - 1}'))"
        variables[f"v{i}"] = f"[concat({prev}, {prev})]"  # twice the previous, sharing its parts
    outputs = {"x": {"type": "array", "value": "[variables('v39')]"}}
    error = fails({"resources": [], "variables": variables, "outputs": outputs})
    assert error.code == "InvalidTemplate"
    assert error.target is not None and error.target.startswith("variables.v")
    assert "more than the 10000000 work units" in error.message


def test_many_large_values_run_out_of_budget() -> None:
    variables = {"big": "[padLeft('', 131000, 'x')]"}
    variables |= {f"c{i}": f"[concat(variables('big'), '{i}')]" for i in range(100)}
    error = fails({"resources": [], "variables": variables})
    assert error.code == "InvalidTemplate" and "work units" in error.message


def test_size_is_a_bounded_lower_bound_of_the_json_length() -> None:
    assert size({"ab": ["c", 1, None]}, 100) == 1 + 2 + 1 + 2 + 1 + 1
    shared: list[Any] = ["x"]
    for _ in range(60):
        shared = [shared, shared]  # 2**60 leaves, sharing
    assert size(shared, 1000) <= 1002
    budget = Budget(12)
    budget.reference("variables.v", "12345")
    budget.reference("variables.v", "12345")  # 6 + 6: the budget is spent
    with pytest.raises(Exception, match="work units"):
        budget.reference("variables.v", "12345")


# -- what used to crash or crawl -----------------------------------------------------------------
def test_inputs_that_used_to_raise_python_errors() -> None:
    assert plan(output("[split('abc', '')]", "array"), None, SCOPE).outputs["x"]["value"] == ["abc"]
    assert "at least one integer" in fails(output("[min(createArray())]", "int")).message
    deep = "[" + "array(" * 3000 + "1" + ")" * 3000 + "]"
    assert fails(output(deep, "array")).target == "template"


def test_ordering_is_linear_in_dependencies() -> None:
    # 400 resources, each depending on every earlier one (79,800 edges): was quadratic per edge.
    names = [f"c{i:03}" for i in range(400)]
    resources = [resource(n, dependsOn=names[:i]) for i, n in reversed(list(enumerate(names)))]
    ordered = plan({"resources": resources}, None, SCOPE).resources
    assert [r.names[-1] for r in ordered] == names


def test_a_repeated_depends_on_entry_is_looked_up_once() -> None:
    # "c" names 300 resources (ws0/c … ws299/c); written 60,000 times it is still 300 dependencies.
    shared = [{**resource("c"), "name": f"ws{i}/c"} for i in range(300)]
    last = {**resource("last"), "dependsOn": ["c", "C", "/c"] * 20_000}
    ordered = plan({"resources": [*shared, last]}, None, SCOPE).resources
    assert len(ordered[-1].depends_on) == 300 and ordered[-1].names == ("ws", "last")
