"""The scope-free template functions: strings, arrays, objects, comparisons and logic.

Each is what the ARM function reference documents, for the JSON types templates use (string,
integer, boolean, array, object, null). Where ARM compares case-insensitively (`startsWith`,
`endsWith`, `indexOf`), so do we; `equals` and `contains` are case-sensitive, as in ARM.

Functions that can make large values (`concat`, `padLeft`, `replace`, `union`, `range`) check the
size of their result against `limits` before making it, so nothing large is built to be refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from maas.templates.errors import ExpressionError
from maas.templates.expressions import Function, type_name
from maas.templates.limits import MAX_RANGE, check_length
from maas.templates.text import to_string


def _check(name: str, args: list[Any], low: int, high: int | None) -> None:
    if len(args) < low or (high is not None and len(args) > high):
        expected = f"{low}" if high == low else f"{low} to {high}" if high is not None else f"at least {low}"
        raise ExpressionError(
            f"The template function '{name}' expects {expected} argument(s), got {len(args)}."
        )


def _fn(name: str, low: int, high: int | None = -2) -> Callable[[Callable[..., Any]], Function]:
    top = low if high == -2 else high

    def wrap(body: Callable[..., Any]) -> Function:
        def call(args: list[Any]) -> Any:
            _check(name, args, low, top)
            return body(*args)

        TABLE[name.lower()] = call
        return call

    return wrap


TABLE: dict[str, Function] = {}


def _str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ExpressionError(f"The template function '{name}' expects a string, not {type_name(value)}.")
    return value


def _int(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ExpressionError(f"The template function '{name}' expects an integer, not {type_name(value)}.")
    return value


def _list(name: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ExpressionError(f"The template function '{name}' expects an array, not {type_name(value)}.")
    return value


@_fn("concat", 1, None)
def concat(*args: Any) -> Any:
    if all(isinstance(a, list) or a is None for a in args):
        check_length("concat", sum(len(a) for a in args if a), "elements")
        return [item for a in args if a for item in a]
    if any(isinstance(a, (list, dict)) for a in args):
        raise ExpressionError("The template function 'concat' joins either strings or arrays, not both.")
    parts = [to_string(a, "concat") for a in args]
    check_length("concat", sum(len(p) for p in parts))
    return "".join(parts)


@_fn("toLower", 1)
def to_lower(value: Any) -> str:
    return _str("toLower", value).lower()


@_fn("toUpper", 1)
def to_upper(value: Any) -> str:
    return _str("toUpper", value).upper()


@_fn("trim", 1)
def trim(value: Any) -> str:
    return _str("trim", value).strip()


@_fn("replace", 3)
def replace(value: Any, old: Any, new: Any) -> str:
    text, before, after = _str("replace", value), _str("replace", old), _str("replace", new)
    check_length("replace", len(text) + text.count(before) * (len(after) - len(before)))
    return text.replace(before, after)


@_fn("split", 2)
def split(value: Any, delimiter: Any) -> list[str]:
    text = _str("split", value)
    delimiters = delimiter if isinstance(delimiter, list) else [delimiter]
    parts = [text]
    for d in delimiters:
        if not _str("split", d):
            continue  # as .NET's String.Split ignores an empty separator (Python's refuses one)
        parts = [piece for part in parts for piece in part.split(d)]
    return parts


@_fn("startsWith", 2)
def starts_with(value: Any, prefix: Any) -> bool:
    return _str("startsWith", value).lower().startswith(_str("startsWith", prefix).lower())


@_fn("endsWith", 2)
def ends_with(value: Any, suffix: Any) -> bool:
    return _str("endsWith", value).lower().endswith(_str("endsWith", suffix).lower())


@_fn("indexOf", 2)
def index_of(value: Any, item: Any) -> int:
    return _str("indexOf", value).lower().find(_str("indexOf", item).lower())


@_fn("substring", 2, 3)
def substring(value: Any, start: Any, length: Any = None) -> str:
    text, begin = _str("substring", value), _int("substring", start)
    end = len(text) if length is None else begin + _int("substring", length)
    if begin < 0 or end > len(text) or end < begin:
        raise ExpressionError("The template function 'substring' got a range outside the string.")
    return text[begin:end]


@_fn("padLeft", 2, 3)
def pad_left(value: Any, width: Any, char: Any = " ") -> str:
    text, total = to_string(value, "padLeft"), _int("padLeft", width)
    check_length("padLeft", total)
    return text.rjust(total, _str("padLeft", char)[:1] or " ")


@_fn("contains", 2)
def contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return to_string(item, "contains") in container
    if isinstance(container, dict):
        return isinstance(item, str) and any(k.lower() == item.lower() for k in container)
    return item in _list("contains", container)


@_fn("length", 1)
def length(value: Any) -> int:
    if not isinstance(value, (str, list, dict)):
        raise ExpressionError(f"The template function 'length' cannot measure {type_name(value)}.")
    return len(value)


@_fn("empty", 1)
def empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and len(value) == 0)


@_fn("first", 1)
def first(value: Any) -> Any:
    if isinstance(value, str):
        return value[:1]
    items = _list("first", value)
    return items[0] if items else None


@_fn("last", 1)
def last(value: Any) -> Any:
    if isinstance(value, str):
        return value[-1:]
    items = _list("last", value)
    return items[-1] if items else None


@_fn("take", 2)
def take(value: Any, count: Any) -> Any:
    n = max(_int("take", count), 0)
    return value[:n] if isinstance(value, str) else _list("take", value)[:n]


@_fn("skip", 2)
def skip(value: Any, count: Any) -> Any:
    n = max(_int("skip", count), 0)
    return value[n:] if isinstance(value, str) else _list("skip", value)[n:]


@_fn("createArray", 0, None)
def create_array(*args: Any) -> list[Any]:
    return list(args)


@_fn("array", 1)
def array(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@_fn("createObject", 0, None)
def create_object(*args: Any) -> dict[str, Any]:
    if len(args) % 2:
        raise ExpressionError("The template function 'createObject' expects key and value pairs.")
    return {_str("createObject", k): v for k, v in zip(args[::2], args[1::2], strict=True)}


@_fn("union", 1, None)
def union(*args: Any) -> Any:
    if all(isinstance(a, dict) for a in args):
        check_length("union", sum(len(a) for a in args), "elements")
        merged: dict[str, Any] = {}
        for a in args:
            merged.update(a)
        return merged
    check_length("union", sum(len(_list("union", a)) for a in args), "elements")
    out: list[Any] = []
    seen: set[str] = set()
    for a in args:
        for x in a:
            # keyed by canonical JSON: linear, where `x not in out` was quadratic in the elements
            key = json.dumps([type_name(x), x], sort_keys=True, separators=(",", ":"))
            if key not in seen:
                seen.add(key)
                out.append(x)
    return out


@_fn("range", 2)
def range_(start: Any, count: Any) -> list[int]:
    first, n = _int("range", start), _int("range", count)
    if not 0 <= n <= MAX_RANGE:
        raise ExpressionError(
            f"The template function 'range' expects a count from 0 to {MAX_RANGE}, got {n}."
        )
    if first + n > 2_147_483_647:
        raise ExpressionError("The template function 'range' expects startIndex + count <= 2147483647.")
    return list(range(first, first + n))


@_fn("coalesce", 1, None)
def coalesce(*args: Any) -> Any:
    return next((a for a in args if a is not None), None)


@_fn("true", 0)
def true() -> bool:
    return True


@_fn("false", 0)
def false() -> bool:
    return False


@_fn("equals", 2)
def equals(a: Any, b: Any) -> bool:
    return bool(a == b and type_name(a) == type_name(b))


@_fn("not", 1)
def not_(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ExpressionError("The template function 'not' expects a boolean.")
    return not value


def _bools(name: str, args: tuple[Any, ...]) -> list[bool]:
    if not all(isinstance(a, bool) for a in args):
        raise ExpressionError(f"The template function '{name}' expects booleans.")
    return list(args)


@_fn("and", 2, None)
def and_(*args: Any) -> bool:
    return all(_bools("and", args))


@_fn("or", 2, None)
def or_(*args: Any) -> bool:
    return any(_bools("or", args))


@_fn("int", 1)
def int_(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ExpressionError(f"The template function 'int' cannot convert '{value}'.") from None


@_fn("bool", 1)
def bool_(value: Any) -> bool:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, int):
        return bool(value)
    raise ExpressionError(f"The template function 'bool' cannot convert '{value}'.")


def _arith(name: str, op: Callable[[int, int], int]) -> None:
    @_fn(name, 2)
    def call(a: Any, b: Any) -> int:
        return op(_int(name, a), _int(name, b))


def _divide(a: int, b: int) -> int:
    if b == 0:
        raise ExpressionError("Division by zero.")
    return int(a / b)


_arith("add", lambda a, b: a + b)
_arith("sub", lambda a, b: a - b)
_arith("mul", lambda a, b: a * b)
_arith("div", _divide)
_arith("mod", lambda a, b: a - b * _divide(a, b))


def _values(name: str, args: tuple[Any, ...]) -> list[int]:
    values = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
    if not values:
        raise ExpressionError(f"The template function '{name}' expects at least one integer.")
    return [_int(name, v) for v in values]


@_fn("min", 1, None)
def min_(*args: Any) -> int:
    return min(_values("min", args))


@_fn("max", 1, None)
def max_(*args: Any) -> int:
    return max(_values("max", args))


for _name, _op in (
    ("less", lambda a, b: a < b),
    ("lessOrEquals", lambda a, b: a <= b),
    ("greater", lambda a, b: a > b),
    ("greaterOrEquals", lambda a, b: a >= b),
):

    def _compare(a: Any, b: Any, _n: str = _name, _o: Callable[[Any, Any], bool] = _op) -> bool:
        if type_name(a) != type_name(b) or type_name(a) not in ("Integer", "String"):
            raise ExpressionError(f"The template function '{_n}' compares two integers or two strings.")
        return _o(a, b)

    _fn(_name, 2)(_compare)
