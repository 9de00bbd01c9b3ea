"""ARM template language expressions: `"[concat(parameters('ws'), '/', 'ep')]"`.

A JSON string that starts with `[` and ends with `]` is an expression; `[[` at the start escapes
it (`"[[x]"` is the literal `[x]`), and a string that starts with `[` but does not end with `]` is
a plain string. Inside, the grammar is small:

    expr    := primary ( '.' name | '[' expr ']' )*
    primary := 'string' | integer | name '(' [expr (',' expr)*] ')' | true | false | null

String literals use single quotes, doubled to escape (`'it''s'`). Function names are
case-insensitive; `.prop` access on objects is too, as ARM's is. Evaluation is pure: functions
come from a table the caller supplies (`functions.py`), so this module knows no function; the
caller may also pass a `meter`, told of every function's result, to bound them (`limits.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from maas.templates.errors import ExpressionError
from maas.templates.limits import MAX_EXPRESSION

Function = Callable[[list[Any]], Any]
Meter = Callable[[str, Any], None]  # (function name as written, its result)


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Member:
    target: Node
    name: str


@dataclass(frozen=True)
class Index:
    target: Node
    index: Node


Node = Literal | Call | Member | Index
_PUNCTUATION = "(),.[]"


def is_expression(text: str) -> bool:
    return text.startswith("[") and text.endswith("]") and not text.startswith("[[")


def unescape(text: str) -> str:
    """A plain template string's value: `[[x]` → `[x]`; anything else as written."""
    if text.startswith("[[") and text.endswith("]"):
        return text[1:]
    return text


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "'":
            j, chars = i + 1, []
            while True:
                if j >= n:
                    raise ExpressionError(f"The string literal starting at position {i} is not closed.")
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        chars.append("'")
                        j += 2
                        continue
                    break
                chars.append(text[j])
                j += 1
            out.append(("str", "".join(chars)))
            i = j + 1
        elif c.isdigit() or (c == "-" and i + 1 < n and text[i + 1].isdigit()):
            j = i + 1
            while j < n and text[j].isdigit():
                j += 1
            out.append(("int", int(text[i:j])))
            i = j
        elif c.isalpha() or c == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] in "_"):
                j += 1
            out.append(("name", text[i:j]))
            i = j
        elif c in _PUNCTUATION:
            out.append((c, c))
            i += 1
        else:
            raise ExpressionError(f"The character '{c}' at position {i} is not valid in an expression.")
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def take(self, kind: str) -> Any:
        if self.peek() != kind:
            found = self.tokens[self.pos][1] if self.pos < len(self.tokens) else "the end"
            raise ExpressionError(f"Expected '{kind}' but found '{found}'.")
        value = self.tokens[self.pos][1]
        self.pos += 1
        return value

    def parse(self) -> Node:
        if not self.tokens:
            raise ExpressionError("The expression is empty.")
        node = self.expression()
        if self.pos != len(self.tokens):
            raise ExpressionError(f"Unexpected '{self.tokens[self.pos][1]}' after the end of the expression.")
        return node

    def expression(self) -> Node:
        node = self.primary()
        while self.peek() in (".", "["):
            if self.take(self.peek() or "") == ".":
                node = Member(node, self.take("name"))
            else:
                node = Index(node, self.expression())
                self.take("]")
        return node

    def primary(self) -> Node:
        kind = self.peek()
        if kind == "str":
            return Literal(self.take("str"))
        if kind == "int":
            return Literal(self.take("int"))
        if kind != "name":
            found = self.tokens[self.pos][1] if kind else "the end"
            raise ExpressionError(f"Expected a value or a function call but found '{found}'.")
        name = self.take("name")
        if self.peek() != "(":
            constants = {"true": True, "false": False, "null": None}
            if name.lower() in constants:
                return Literal(constants[name.lower()])
            raise ExpressionError(f"'{name}' is not a value; call a function, e.g. '{name}()'.")
        self.take("(")
        args: list[Node] = []
        if self.peek() != ")":
            args.append(self.expression())
            while self.peek() == ",":
                self.take(",")
                args.append(self.expression())
        self.take(")")
        return Call(name, tuple(args))


def parse(text: str) -> Node:
    """Parse the inside of an expression (without its outer brackets)."""
    if len(text) + 2 > MAX_EXPRESSION:
        raise ExpressionError(
            f"The language expression length limit exceeded. Limit: '{MAX_EXPRESSION}' and actual: "
            f"'{len(text) + 2}'."
        )
    return _Parser(text).parse()


def _member(value: Any, name: str) -> Any:
    if not isinstance(value, Mapping):
        raise ExpressionError(
            f"The property '{name}' cannot be read from a value of type {type_name(value)}."
        )
    for key, item in value.items():
        if key.lower() == name.lower():
            return item
    raise ExpressionError(
        f"The language expression property '{name}' doesn't exist, available properties are "
        f"'{', '.join(value)}'."
    )


def _index(value: Any, index: Any) -> Any:
    if isinstance(value, Sequence) and not isinstance(value, str):
        if not isinstance(index, int) or isinstance(index, bool):
            raise ExpressionError("An array index must be an integer.")
        if not 0 <= index < len(value):
            raise ExpressionError(f"The index {index} is out of range for an array of length {len(value)}.")
        return value[index]
    if isinstance(value, Mapping) and isinstance(index, str):
        return _member(value, index)
    raise ExpressionError(f"A value of type {type_name(value)} cannot be indexed with {index!r}.")


def type_name(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, str):
        return "String"
    if isinstance(value, Mapping):
        return "Object"
    if isinstance(value, Sequence):
        return "Array"
    return type(value).__name__


def evaluate(node: Node, functions: Mapping[str, Function], meter: Meter | None = None) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Member):
        return _member(evaluate(node.target, functions, meter), node.name)
    if isinstance(node, Index):
        return _index(evaluate(node.target, functions, meter), evaluate(node.index, functions, meter))
    function = functions.get(node.name.lower())
    if function is None:
        raise ExpressionError(
            f"The template function '{node.name}' is not valid. Please see "
            "https://aka.ms/arm-template-functions for usage details."
        )
    # Lazy functions (`if`) see their arguments unevaluated, so the branch not taken never fails.
    if getattr(function, "lazy", False):
        result = function([lambda n=arg: evaluate(n, functions, meter) for arg in node.args])
    else:
        result = function([evaluate(arg, functions, meter) for arg in node.args])
    if meter is not None:
        meter(node.name, result)
    return result


def evaluate_string(text: str, functions: Mapping[str, Function], meter: Meter | None = None) -> Any:
    """A template string's value: an expression's result, or the (unescaped) string itself."""
    if not is_expression(text):
        return unescape(text)
    return evaluate(parse(text[1:-1]), functions, meter)
