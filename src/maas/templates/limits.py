"""How big a template may be, and how much work and data its evaluation may make.

Without bounds a 600-byte template amplifies without end: `padLeft('x', 100000000, 'y')` in an
output builds (and a deployment would store, and every listing return) 100 MB. So the engine
keeps ARM's published limits (azure-docs best-practices and error-job-size-exceeded) —

    a template of at most 4 MB as sent (and its parameters 4 MB), and once evaluated at most
    4 MB with each resource at most 1 MB; 256 parameters, 256 variables, 800 resources (nested
    children included), 64 outputs, 24,576 characters in one expression; uniqueString() over at
    most 131,072 characters; range() of at most 10,000 integers —

and adds the two ARM leaves unpublished, set far above what real templates use:

- every value a function returns is at most 131,072 characters (a string: ARM's literal limit)
  or 131,072 elements (an array or object), and an integer fits in 64 bits, as ARM's do;
  functions that could build more check before they build (`check_length`), so nothing large
  is ever made only to be refused;
- one evaluation spends at most 10,000,000 work units (`Budget`): a function call costs one plus
  the size of what it returns, and each use of a parameter or variable costs that value's size.
  Values may share parts (`createArray(variables('v'), variables('v'))`), so charging sizes, not
  allocations, is what stops a few doublings from describing a value too big to write out.

`size(value, stop)` is the measure: one per value, plus a string's characters and an object's
key characters — a lower bound on the value's compact JSON length. It walks without recursion
and gives up past `stop`, so measuring never costs more than the budget it guards.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from maas.templates.errors import FAILED, ExpressionError, TemplateError, TemplateTooLarge

MAX_TEMPLATE_BYTES = 4 * 1024 * 1024
MAX_RESOURCE_BYTES = 1024 * 1024
MAX_PARAMETERS = 256
MAX_VARIABLES = 256
MAX_RESOURCES = 800
MAX_OUTPUTS = 64
MAX_EXPRESSION = 24_576
MAX_STRING = 131_072
MAX_ITEMS = 131_072
MAX_RANGE = 10_000
MAX_WORK = 10_000_000
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
# `parameters()` and `variables()` hand back declared values, not values they make: the budget
# charges their size per use (`Budget.reference`), and only the functions that make values are
# held to MAX_STRING / MAX_ITEMS.
REFERENCES = frozenset({"parameters", "variables"})
JOB_SIZE_EXCEEDED = "DeploymentJobSizeExceeded"  # ARM's code when the evaluated template is too big


def count_exceeded(what: str, limit: int, actual: int) -> str:
    """ARM's sentence for a count over its limit (quoted from a real ARM error for resources)."""
    return f"The number of template {what} limit exceeded. Limit: '{limit}' and actual: '{actual}'."


def section(raw: Any, name: str, limit: int) -> dict[str, Any]:
    """A template's top-level object of named entries (`parameters`, `outputs`): {} when absent,
    refused when it is not an object or has more than `limit` entries."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise TemplateError(FAILED + f"'{name}' must be an object.", name)
    if len(raw) > limit:
        raise TemplateError(FAILED + count_exceeded(name, limit, len(raw)), name)
    return raw


def check_length(name: str, length: int, unit: str = "characters") -> None:
    """Refuse, before it is built, a result of `length` characters (or elements) from `name`."""
    limit = MAX_STRING if unit == "characters" else MAX_ITEMS
    if length > limit:
        raise ExpressionError(
            f"The template function '{name}' would return {length} {unit}, over the template literal "
            f"limit. Limit: '{limit}' and actual: '{length}'."
        )


def check_result(name: str, value: Any) -> None:
    """The bounds every value a function returns keeps (see the module docstring)."""
    if isinstance(value, str):
        check_length(name, len(value))
    elif isinstance(value, (list, dict)):
        check_length(name, len(value), "elements")
    elif isinstance(value, int) and not isinstance(value, bool) and not INT_MIN <= value <= INT_MAX:
        raise ExpressionError(f"The template function '{name}' overflowed a 64-bit integer.")


def size(value: Any, stop: int) -> int:
    """A lower bound on `value`'s compact JSON length; once past `stop`, a number past `stop`."""
    total = 0
    pending = [value]
    while pending and total <= stop:
        item = pending.pop()
        total += 1
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            total += sum(len(key) for key in item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return total


class Budget:
    """The work one evaluation may still do; `charge` raises once it is spent."""

    def __init__(self, units: int = MAX_WORK) -> None:
        self.units = units
        self.left = units
        self._sizes: dict[str, int] = {}

    def charge(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise ExpressionError(
                f"The template needs more than the {self.units} work units MaaS allows one deployment "
                "(a unit is a function call, or a character or element of a value that a function "
                "returns or that a parameter or variable supplies each time it is used)."
            )

    def result(self, name: str, value: Any) -> None:
        """Charge for (and bound) what the function `name` returned."""
        if name.lower() in REFERENCES:
            self.charge(1)  # the value's size was charged by `reference`
            return
        check_result(name, value)
        self.charge(1 + size(value, self.left))

    def reference(self, key: str, value: Any) -> None:
        """Charge for one use of a parameter or variable (`key` names it; sizes are kept)."""
        if key not in self._sizes:
            measured = size(value, self.left)
            self.charge(measured)
            self._sizes[key] = measured
            return
        self.charge(self._sizes[key])


def json_size(value: Any, limit: int) -> int:
    """`value`'s compact JSON length, or a number over `limit` — measured first, so a value too
    big to write out is never written out to find that out."""
    lower = size(value, limit)
    return lower if lower > limit else len(json.dumps(value, separators=(",", ":")))


def count_resources(raw: Any) -> int:
    """How many resources a template declares, nested children included, before evaluating any."""
    count, pending = 0, [raw]
    while pending:
        items = pending.pop()
        if not isinstance(items, list):
            continue
        count += len(items)
        for item in items:
            if isinstance(item, dict):
                pending += [v for k, v in item.items() if k.lower() == "resources"]
    return count


def check_sent(length: int, path: str) -> None:
    """The template, or its parameters, as sent: at most 4 MB (a 413, as ARM answers)."""
    if length > MAX_TEMPLATE_BYTES:
        raise TemplateTooLarge(
            f"The request content size exceeds the maximum size of 4 MB: the {path} are {length} bytes."
            if path == "parameters"
            else f"The request content size exceeds the maximum size of 4 MB: the {path} is {length} bytes.",
            path,
        )


def check_evaluated(
    resources: Iterable[tuple[str, str, Any]], sections: Mapping[str, Mapping[str, Any]]
) -> None:
    """ARM's limits on the template once evaluated: each resource (id, path, body) at most 1 MB,
    and resources with the `sections` (outputs, parameters as echoed) at most 4 MB in all."""
    parts: list[tuple[int, str]] = []
    for rid, path, body in resources:
        n = json_size(body, MAX_RESOURCE_BYTES)
        if n > MAX_RESOURCE_BYTES:
            raise TemplateError(
                FAILED + f"The template resource '{rid}' is over {MAX_RESOURCE_BYTES} bytes once evaluated; "
                "a resource may be at most 1 MB.",
                path,
                code=JOB_SIZE_EXCEEDED,
            )
        parts.append((n, path))
    for section, values in sections.items():
        parts += [(json_size(v, MAX_TEMPLATE_BYTES), f"{section}.{k}") for k, v in values.items()]
    if sum(n for n, _ in parts) > MAX_TEMPLATE_BYTES:
        raise TemplateError(
            FAILED + f"The template is over {MAX_TEMPLATE_BYTES} bytes once evaluated (resources, "
            f"{', '.join(sections)}); a template may be at most 4 MB.",
            max(parts)[1],
            code=JOB_SIZE_EXCEEDED,
        )
