"""Template functions: ARM's exact uniqueString and guid, format, resourceId and neighbours."""

from __future__ import annotations

from typing import Any

import pytest

from maas.templates.errors import ExpressionError
from maas.templates.expressions import evaluate_string
from maas.templates.functions import DeploymentScope, function_table, guid, unique_string

SCOPE = DeploymentScope(
    "sub-1", "my-rg", "eastus2", tenant_id="tenant-1", subscription_name="Dev", deployment_name="d1"
)
TABLE = function_table(SCOPE, lambda name: {"p": "P"}[name], lambda name: {"v": [1, 2]}[name])


def ev(text: str) -> Any:
    return evaluate_string(text, TABLE)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("test",), "rbgf3xv4ufgzg"),
        (("hello", "world"), "a7wkljktk6wne"),
        (("abc",), "cgtzqvhu4i23s"),
        (("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-rg",), "bmg7c6xu4tw46"),
        (("foo", "bar", "baz"), "xzi4ioaxtmth4"),
        (("aaa",), "zavj67f3en4hc"),
        (("bbb",), "w5eragfxe33cy"),
        (("zzz",), "cryksdzzzawae"),
        (("xxx", "yyy", "zzz"), "lghi7k5js7itq"),
    ],
)
def test_unique_string_matches_azure(args: tuple[str, ...], expected: str) -> None:
    assert unique_string(*args) == expected
    assert ev("[uniqueString(" + ", ".join(f"'{a}'" for a in args) + ")]") == expected


def test_unique_string_is_case_sensitive_and_wants_strings() -> None:
    assert unique_string("Test") != unique_string("test")
    with pytest.raises(ExpressionError, match="expects strings"):
        ev("[uniqueString(1)]")


def test_guid_is_uuid5_under_arms_namespace_joined_with_dashes() -> None:
    assert guid("test") == "d6a5baf1-8b9b-542a-8525-2982f1f98a0c"
    assert guid("test", "test2", "test3") == "43ca56fb-e844-5667-aabf-b316c27c09cc"
    assert ev("[guid('test')]") == "d6a5baf1-8b9b-542a-8525-2982f1f98a0c"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[format('{0}, {1}. Formatted number: {2:N0}', 'Hello', 'User', 8175133)]",
            "Hello, User. Formatted number: 8,175,133",
        ),
        ("[format('{0:N2}', 1234)]", "1,234.00"),
        ("[format('{0:D5}', 42)]", "00042"),
        ("[format('{0:X}', 255)]", "FF"),
        ("[format('{{{0}}}', 'x')]", "{x}"),
        ("[format('{0,5}|{0,-5}|', 'ab')]", "   ab|ab   |"),
        ("[format('{0} {1}', true, createArray(1))]", "True [1]"),
    ],
)
def test_format_is_dotnet_composite_formatting(text: str, expected: str) -> None:
    assert ev(text) == expected


def test_format_refuses_a_missing_argument() -> None:
    with pytest.raises(ExpressionError, match="only 1 were given"):
        ev("[format('{0}{1}', 'a')]")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[resourceId('Microsoft.MachineLearningServices/workspaces', 'ws')]",
            "/subscriptions/sub-1/resourceGroups/my-rg/providers/Microsoft.MachineLearningServices/workspaces/ws",
        ),
        (
            "[resourceId('Microsoft.ServiceBus/namespaces/queues/authorizationRules','namespace1','queue1','auth1')]",
            "/subscriptions/sub-1/resourceGroups/my-rg/providers/Microsoft.ServiceBus/namespaces/namespace1"
            "/queues/queue1/authorizationRules/auth1",
        ),
        (
            "[resourceId('otherRG', 'Microsoft.Storage/storageAccounts', 'examplestorage')]",
            "/subscriptions/sub-1/resourceGroups/otherRG/providers/Microsoft.Storage/storageAccounts/examplestorage",
        ),
        (
            "[resourceId('sub-2', 'otherRG', 'Microsoft.Storage/storageAccounts', 'st')]",
            "/subscriptions/sub-2/resourceGroups/otherRG/providers/Microsoft.Storage/storageAccounts/st",
        ),
        (
            "[resourceId('Microsoft.SQL/servers/databases', 'serverName/databaseName')]",
            "/subscriptions/sub-1/resourceGroups/my-rg/providers/Microsoft.SQL/servers/serverName/databases/databaseName",
        ),
        (
            "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'abc')]",
            "/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/abc",
        ),
        (
            "[subscriptionResourceId('sub-9', 'Microsoft.Authorization/roleDefinitions', 'abc')]",
            "/subscriptions/sub-9/providers/Microsoft.Authorization/roleDefinitions/abc",
        ),
        ("[tenantResourceId('Microsoft.Billing/accounts', 'a')]", "/providers/Microsoft.Billing/accounts/a"),
        (
            "[extensionResourceId('/subscriptions/s/resourceGroups/r', 'Microsoft.Authorization/locks',"
            " 'l')]",
            "/subscriptions/s/resourceGroups/r/providers/Microsoft.Authorization/locks/l",
        ),
    ],
)
def test_resource_id_forms(text: str, expected: str) -> None:
    assert ev(text) == expected


def test_resource_id_wants_one_name_per_type_segment() -> None:
    with pytest.raises(ExpressionError, match="one name per type segment"):
        ev("[resourceId('Microsoft.MachineLearningServices/workspaces/serverlessEndpoints', 'ws')]")


def test_scope_functions() -> None:
    assert ev("[resourceGroup().id]") == "/subscriptions/sub-1/resourceGroups/my-rg"
    assert ev("[resourceGroup().location]") == "eastus2"
    assert ev("[resourceGroup().name]") == "my-rg"
    assert ev("[subscription().subscriptionId]") == "sub-1"
    assert ev("[subscription().tenantId]") == "tenant-1"
    assert ev("[subscription().displayName]") == "Dev"
    assert ev("[deployment().name]") == "d1"
    assert ev("[parameters('p')]") == "P"
    assert ev("[variables('v')[1]]") == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[concat(createArray(1), createArray(2, 3))]", [1, 2, 3]),
        ("[concat('a', 1)]", "a1"),
        ("[toLower('AbC')]", "abc"),
        ("[toUpper('AbC')]", "ABC"),
        ("[string(true)]", "True"),
        ("[string(createObject('a', 1))]", '{"a":1}'),
        ("[int('12')]", 12),
        ("[bool('TRUE')]", True),
        ("[json('{\"a\": [1]}').a[0]]", 1),
        ("[if(equals(1, 1), 'yes', nope())]", "yes"),
        ("[equals('a', 'A')]", False),
        ("[empty('')]", True),
        ("[length(createArray(1, 2, 3))]", 3),
        ("[replace('a-b-c', '-', '_')]", "a_b_c"),
        ("[union(createObject('a', 1), createObject('b', 2))]", {"a": 1, "b": 2}),
        ("[union(createArray(1, 2), createArray(2, 3))]", [1, 2, 3]),
        ("[first(createArray('x', 'y'))]", "x"),
        ("[last('abc')]", "c"),
        ("[split('a,b;c', createArray(',', ';'))]", ["a", "b", "c"]),
        ("[trim('  x ')]", "x"),
        ("[startsWith('Hello', 'he')]", True),
        ("[endsWith('Hello', 'LO')]", True),
        ("[contains('Hello', 'ell')]", True),
        ("[contains(createArray(1, 2), 3)]", False),
        ("[contains(createObject('Key', 1), 'key')]", True),
        ("[substring('hello', 1, 3)]", "ell"),
        ("[add(2, mul(3, 4))]", 14),
        ("[div(-7, 2)]", -3),
        ("[and(true, or(false, not(false)))]", True),
        ("[coalesce(null, 'x')]", "x"),
        ("[less(1, 2)]", True),
    ],
)
def test_common_functions(text: str, expected: Any) -> None:
    assert ev(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[concat('a', createArray(1))]", "either strings or arrays"),
        ("[toLower(1)]", "expects a string"),
        ("[parameters('p', 'q')]", "expects 1 argument"),
        ("[div(1, 0)]", "Division by zero"),
        ("[if(1, 'a', 'b')]", "must be a boolean"),
    ],
)
def test_function_errors(text: str, words: str) -> None:
    with pytest.raises(ExpressionError, match=words):
        ev(text)
