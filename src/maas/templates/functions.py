"""The template functions MaaS supports, with ARM's exact algorithms where they matter.

`uniqueString` and `guid` must give the same values as Azure's, since templates use them to name
resources: uniqueString is a 64-bit two-lane cut of MurmurHash3 over the arguments joined with
'-', base32-encoded to 13 characters; guid is a UUIDv5 under ARM's namespace GUID (see
AZURE-REFERENCE §2.2 for the sources and the test vectors the unit tests check).

`function_table()` builds the name → function map one evaluation uses; `parameters()` and
`variables()` are supplied by the template, so this module knows nothing of a template's shape.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from maas.templates import builtins
from maas.templates.errors import ExpressionError
from maas.templates.expressions import Function, type_name
from maas.templates.limits import MAX_STRING
from maas.templates.text import format_string, to_string

ARM_NAMESPACE = uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830")
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_MASK = 0xFFFFFFFF


@dataclass(frozen=True)
class DeploymentScope:
    """Where a deployment runs: what resourceGroup(), subscription() and resourceId() see."""

    subscription_id: str
    resource_group: str
    location: str
    tenant_id: str = "00000000-0000-0000-0000-000000000000"
    subscription_name: str = ""
    resource_group_tags: Mapping[str, str] = field(default_factory=dict)
    deployment_name: str = ""


# -- uniqueString and guid ---------------------------------------------------------------------
def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _MASK


def _fmix(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    return h ^ (h >> 16)


def _k1(k: int) -> int:
    return (_rotl((k * 0x239B961B) & _MASK, 15) * 0xAB0E9789) & _MASK


def _k2(k: int) -> int:
    return (_rotl((k * 0xAB0E9789) & _MASK, 17) * 0x239B961B) & _MASK


def murmur64(data: bytes) -> int:
    h1 = h2 = 0
    blocks = len(data) // 8
    for i in range(blocks):
        k1 = int.from_bytes(data[i * 8 : i * 8 + 4], "little")
        k2 = int.from_bytes(data[i * 8 + 4 : i * 8 + 8], "little")
        h1 ^= _k1(k1)
        h1 = (_rotl(h1, 19) + h2) & _MASK
        h1 = (h1 * 5 + 0x561CCD1B) & _MASK
        h2 ^= _k2(k2)
        h2 = (_rotl(h2, 13) + h1) & _MASK
        h2 = (h2 * 5 + 0x0BCAA747) & _MASK
    tail = data[blocks * 8 :]
    if tail:
        h1 ^= _k1(int.from_bytes(tail[:4], "little"))
    if len(tail) > 4:
        h2 ^= _k2(int.from_bytes(tail[4:], "little"))
    h1 ^= len(data)
    h2 ^= len(data)
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    return (h2 << 32) | h1


def _strings(name: str, args: list[Any]) -> list[str]:
    if not args:
        raise ExpressionError(f"The template function '{name}' expects at least one argument.")
    for arg in args:
        if not isinstance(arg, str):
            raise ExpressionError(f"The template function '{name}' expects strings, not {type_name(arg)}.")
    return args


def unique_string(*args: str) -> str:
    joined = "-".join(args)
    if len(joined) > MAX_STRING:  # ARM's own check (TemplateLiteralLimitExceeded)
        raise ExpressionError(
            f"The template function 'uniqueString' got {len(joined)} characters, over the template "
            f"literal limit. Limit: '{MAX_STRING}' and actual: '{len(joined)}'."
        )
    value = murmur64(joined.encode("utf-8"))
    out = []
    for _ in range(13):
        out.append(_BASE32[value >> 59])
        value = (value << 5) & 0xFFFFFFFFFFFFFFFF
    return "".join(out)


def guid(*args: str) -> str:
    return str(uuid.uuid5(ARM_NAMESPACE, "-".join(args)))


# -- resource ids ------------------------------------------------------------------------------
def _typed_path(name: str, type_: str, names: list[str]) -> str:
    segments = type_.strip("/").split("/")
    parts = [p for n in names for p in n.strip("/").split("/")]
    if len(segments) < 2 or len(parts) != len(segments) - 1:
        raise ExpressionError(
            f"The template function '{name}' got type '{type_}' and {len(parts)} name segment(s); "
            f"give one name per type segment after the namespace ({max(len(segments) - 1, 1)})."
        )
    path = f"/providers/{segments[0]}"
    for segment, part in zip(segments[1:], parts, strict=True):
        path += f"/{segment}/{part}"
    return path


def _split_type(name: str, args: list[Any]) -> tuple[list[str], str, list[str]]:
    """(leading scope arguments, resource type, names): the type is the first with a '/'."""
    strings = _strings(name, args)
    for i, arg in enumerate(strings):
        if "/" in arg:
            return strings[:i], arg, strings[i + 1 :]
    raise ExpressionError(f"The template function '{name}' needs a resource type such as 'Namespace/type'.")


def resource_id(scope: DeploymentScope, args: list[Any]) -> str:
    before, type_, names = _split_type("resourceId", args)
    if len(before) > 2:
        raise ExpressionError("The template function 'resourceId' takes at most a subscription and group.")
    sub = before[0] if len(before) == 2 else scope.subscription_id
    rg = before[-1] if before else scope.resource_group
    return f"/subscriptions/{sub}/resourceGroups/{rg}" + _typed_path("resourceId", type_, names)


def subscription_resource_id(scope: DeploymentScope, args: list[Any]) -> str:
    before, type_, names = _split_type("subscriptionResourceId", args)
    if len(before) > 1:
        raise ExpressionError("The template function 'subscriptionResourceId' takes one subscription id.")
    sub = before[0] if before else scope.subscription_id
    return f"/subscriptions/{sub}" + _typed_path("subscriptionResourceId", type_, names)


def tenant_resource_id(args: list[Any]) -> str:
    before, type_, names = _split_type("tenantResourceId", args)
    if before:
        raise ExpressionError("The template function 'tenantResourceId' takes a type first.")
    return _typed_path("tenantResourceId", type_, names)


def extension_resource_id(args: list[Any]) -> str:
    strings = _strings("extensionResourceId", args)
    if len(strings) < 3:
        raise ExpressionError("The template function 'extensionResourceId' needs an id, a type and a name.")
    return strings[0].rstrip("/") + _typed_path("extensionResourceId", strings[1], strings[2:])


# -- the table -----------------------------------------------------------------------------------
def _arity(name: str, fn: Callable[..., Any], low: int, high: int | None = None) -> Function:
    def call(args: list[Any]) -> Any:
        top = low if high is None else high
        if not low <= len(args) <= (top if top >= 0 else len(args)):
            expected = f"{low}" if high is None else f"{low} to {high}" if high >= 0 else f"at least {low}"
            raise ExpressionError(
                f"The template function '{name}' expects {expected} argument(s), got {len(args)}."
            )
        return fn(*args)

    return call


def _lazy_if(args: list[Any]) -> Any:
    if len(args) != 3:
        raise ExpressionError(f"The template function 'if' expects 3 argument(s), got {len(args)}.")
    condition = args[0]()
    if not isinstance(condition, bool):
        raise ExpressionError("The first argument of 'if' must be a boolean.")
    return args[1]() if condition else args[2]()


_lazy_if.lazy = True  # type: ignore[attr-defined]


def function_table(
    scope: DeploymentScope, parameter: Callable[[str], Any], variable: Callable[[str], Any]
) -> dict[str, Function]:
    def _rg() -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{scope.subscription_id}/resourceGroups/{scope.resource_group}",
            "name": scope.resource_group,
            "type": "Microsoft.Resources/resourceGroups",
            "location": scope.location,
            "tags": dict(scope.resource_group_tags),
            "properties": {"provisioningState": "Succeeded"},
        }

    def _sub() -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{scope.subscription_id}",
            "subscriptionId": scope.subscription_id,
            "tenantId": scope.tenant_id,
            "displayName": scope.subscription_name or scope.subscription_id,
        }

    def _deployment() -> dict[str, Any]:
        return {"name": scope.deployment_name, "properties": {"mode": "Incremental"}}

    def _name(fn: Callable[[str], Any], what: str) -> Callable[[Any], Any]:
        def get(name: Any) -> Any:
            if not isinstance(name, str):
                raise ExpressionError(f"The template function '{what}' expects a string name.")
            return fn(name)

        return get

    table: dict[str, Function] = {
        "parameters": _arity("parameters", _name(parameter, "parameters"), 1),
        "variables": _arity("variables", _name(variable, "variables"), 1),
        "resourcegroup": _arity("resourceGroup", _rg, 0),
        "subscription": _arity("subscription", _sub, 0),
        "tenant": _arity(
            "tenant",
            lambda: {"id": f"/tenants/{scope.tenant_id}", "tenantId": scope.tenant_id},
            0,
        ),
        "deployment": _arity("deployment", _deployment, 0),
        "resourceid": lambda args: resource_id(scope, args),
        "subscriptionresourceid": lambda args: subscription_resource_id(scope, args),
        "tenantresourceid": tenant_resource_id,
        "extensionresourceid": extension_resource_id,
        "uniquestring": lambda args: unique_string(*_strings("uniqueString", args)),
        "guid": lambda args: guid(*_strings("guid", args)),
        "format": lambda args: format_string(args),
        "string": _arity("string", to_string, 1),
        "json": _arity("json", _json, 1),
        "if": _lazy_if,
    }
    table.update(builtins.TABLE)
    return table


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        raise ExpressionError("The template function 'json' expects a string.")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ExpressionError(f"The template function 'json' got text that is not JSON: {exc}.") from None
    except RecursionError:
        raise ExpressionError("The template function 'json' got JSON nested too deeply.") from None
