"""How template values become text: `string()`, and `format()` with .NET composite formatting.

ARM's `format` uses .NET's `String.Format`: `{index[,alignment][:spec]}` items, `{{`/`}}` for
literal braces, and numeric specs such as `N0` (thousands separators) — the documented example
`format('{2:N0}', …, 8175133)` gives `8,175,133`. We support the specs templates use for names
and messages (N, D, X, F, G and none); others are refused rather than guessed. Both keep to
`limits.MAX_STRING`, checked before any text is built: widths, precisions and the growing result.
"""

from __future__ import annotations

import json
import re
from typing import Any

from maas.templates.errors import ExpressionError
from maas.templates.limits import MAX_STRING, check_length, size

_ITEM = re.compile(r"\{(\d{1,9})(?:,(-?\d{1,9}))?(?::([^{}]*))?\}")


def to_string(value: Any, function: str = "string") -> str:
    """ARM's `string()`: booleans as .NET writes them, objects and arrays as compact JSON.

    `function` names the template function asking, for the error when the text would be too long."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    check_length(function, size(value, MAX_STRING))  # a lower bound on the JSON's length
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _number(value: Any, spec: str) -> str:
    letter, digits = spec[0], spec[1:]
    if digits and not (digits.isascii() and digits.isdigit() and len(digits) <= 9):
        raise ExpressionError(f"The format specifier '{spec}' is not supported.")
    precision = int(digits) if digits else None
    check_length("format", precision or 0)
    if letter in "Nn":
        return f"{value:,.{2 if precision is None else precision}f}"
    if letter in "Ff":
        return f"{value:.{2 if precision is None else precision}f}"
    if letter in "Dd":
        if not isinstance(value, int):
            raise ExpressionError("The format specifier 'D' needs an integer.")
        sign = "-" if value < 0 else ""
        return sign + str(abs(value)).zfill(precision or 0)
    if letter in "Xx":
        if not isinstance(value, int) or value < 0:
            raise ExpressionError("The format specifier 'X' needs a non-negative integer.")
        text = format(value, "X" if letter == "X" else "x")
        return text.zfill(precision or 0)
    if letter in "Gg":
        return str(value)
    raise ExpressionError(f"The format specifier '{spec}' is not supported.")


def _item(value: Any, spec: str | None) -> str:
    if spec and isinstance(value, int) and not isinstance(value, bool):
        return _number(value, spec)
    return to_string(value, "format")


def format_string(args: list[Any]) -> str:
    if not args or not isinstance(args[0], str):
        raise ExpressionError("The template function 'format' expects a format string first.")
    template, values = args[0], args[1:]
    out: list[str] = []
    built = 0  # characters in `out`
    i = 0
    while i < len(template):
        c = template[i]
        if template.startswith("{{", i) or template.startswith("}}", i):
            out.append(c)
            built += 1
            i += 2
            continue
        if c == "}":
            raise ExpressionError("The format string has a '}' with no matching '{'; write '}}'.")
        if c != "{":
            out.append(c)
            built += 1
            i += 1
            continue
        match = _ITEM.match(template, i)
        if match is None:
            raise ExpressionError(f"The format string has an invalid item at position {i}.")
        index = int(match[1])
        if index >= len(values):
            raise ExpressionError(
                f"The format string refers to argument {{{index}}} but only {len(values)} were given."
            )
        text = _item(values[index], match[3])
        if match[2]:
            width = int(match[2])
            check_length("format", built + abs(width))
            text = text.ljust(-width) if width < 0 else text.rjust(width)
        built += len(text)
        check_length("format", built)
        out.append(text)
        i = match.end()
    return "".join(out)
