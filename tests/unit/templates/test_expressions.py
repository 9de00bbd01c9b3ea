"""The expression language: literals, escaping, calls, property and index access, errors."""

from __future__ import annotations

from typing import Any

import pytest

from maas.templates.errors import ExpressionError
from maas.templates.expressions import evaluate_string, is_expression, parse

FUNCTIONS: dict[str, Any] = {
    "concat": lambda args: "".join(args),
    "obj": lambda args: {"Location": "eastus2", "list": [10, 20, {"deep": "x"}]},
    "echo": lambda args: args,
}


def ev(text: str) -> Any:
    return evaluate_string(text, FUNCTIONS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[test value]", "[test value]"),
        ("[test] value", "[test] value"),
        ("plain", "plain"),
        ("", ""),
        ("['it''s']", "it's"),
        ("['']", ""),
        ("[42]", 42),
        ("[-7]", -7),
        ("[true]", True),
        ("[FALSE]", False),
        ("[null]", None),
        ("[concat('a', 'b', 'c')]", "abc"),
        ("[CONCAT('a','b')]", "ab"),
        ("[ concat ( 'a' , 'b' ) ]", "ab"),
        ("[obj().location]", "eastus2"),
        ("[obj().list[1]]", 20),
        ("[obj().list[2].deep]", "x"),
        ("[obj()['Location']]", "eastus2"),
        ("[echo()]", []),
        ("[echo(1, 'a', echo(true))]", [1, "a", [True]]),
    ],
)
def test_values(text: str, expected: Any) -> None:
    assert ev(text) == expected


def test_escaping_applies_only_to_strings_that_look_like_expressions() -> None:
    assert is_expression("[x()]")
    assert not is_expression("[[x()]")
    assert not is_expression("[x() and more")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[nope()]", "The template function 'nope' is not valid"),
        ("[concat('a']", "Expected ')'"),
        ("['open]", "not closed"),
        ("[concat('a') extra]", "Unexpected"),
        ("[]", "empty"),
        ("[location]", "is not a value"),
        ("[obj().missing]", "doesn't exist"),
        ("[obj().list[9]]", "out of range"),
        ("[obj().list['a']]", "must be an integer"),
        ("[concat('a', #)]", "not valid in an expression"),
    ],
)
def test_errors_say_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(ExpressionError, match=words.replace("(", r"\(").replace(")", r"\)")):
        ev(text)


def test_a_very_long_expression_is_refused() -> None:
    with pytest.raises(ExpressionError, match=r"length limit exceeded\. Limit: '24576' and actual: '30004'"):
        parse("'" + "x" * 30_000 + "'")
    parse("'" + "x" * (24_576 - 4) + "'")  # exactly at the limit (with its brackets): allowed
