"""Template parameters: declarations, the values a deployment supplies, and ARM's rules for both.

Supplied values come as ARM sends them (`{"name": {"value": …}}`) or plain (`{"name": …}`), are
taken literally (never evaluated: `[[` escaping applies only inside the template), and are checked
against the declaration's type, allowedValues, min/max value and min/max length. Messages quote
ARM's own sentences (AZURE-REFERENCE §2.2) so a user can search for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from maas.templates.errors import FAILED, TemplateError
from maas.templates.expressions import type_name
from maas.templates.limits import MAX_PARAMETERS, section

TYPES = {
    "string": "String",
    "securestring": "SecureString",
    "int": "Int",
    "bool": "Bool",
    "object": "Object",
    "secureobject": "SecureObject",
    "array": "Array",
}
_DECLARATION_KEYS = {
    "type",
    "defaultvalue",
    "allowedvalues",
    "minvalue",
    "maxvalue",
    "minlength",
    "maxlength",
    "metadata",
}


@dataclass(frozen=True)
class Declaration:
    name: str
    type: str  # canonical: String, SecureString, Int, Bool, Object, SecureObject, Array
    spec: Mapping[str, Any]  # keys lower-cased

    @property
    def secure(self) -> bool:
        return self.type.startswith("Secure")


def declarations(raw: Any) -> dict[str, Declaration]:
    out: dict[str, Declaration] = {}
    for name, decl in section(raw, "parameters", MAX_PARAMETERS).items():
        path = f"parameters.{name}"
        if not isinstance(decl, dict):
            raise TemplateError(FAILED + f"The template parameter '{name}' must be an object.", path)
        spec = {k.lower(): v for k, v in decl.items()}
        for key in decl:
            if key.lower() not in _DECLARATION_KEYS:
                raise TemplateError(
                    FAILED + f"The template parameter '{name}' has an unknown property '{key}'.",
                    f"{path}.{key}",
                )
        type_ = spec.get("type")
        if not isinstance(type_, str) or type_.lower() not in TYPES:
            raise TemplateError(
                FAILED + f"The template parameter '{name}' has type '{type_}'; use one of "
                f"{', '.join(TYPES.values())}.",
                f"{path}.type",
            )
        out[name.lower()] = Declaration(name, TYPES[type_.lower()], spec)
    return out


def _unwrap(name: str, supplied: Any) -> Any:
    if isinstance(supplied, dict) and "reference" in supplied:
        raise TemplateError(
            FAILED + f"The parameter '{name}' uses a Key Vault reference, which MaaS does not support.",
            f"parameters.{name}",
        )
    if isinstance(supplied, dict) and set(supplied) <= {"value", "metadata"} and "value" in supplied:
        return supplied["value"]
    return supplied


def _coerce(decl: Declaration, value: Any) -> Any:
    """Command-line values arrive as strings (`--parameters n=3`); read them as the declared type."""
    if isinstance(value, str) and decl.type == "Int" and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, str) and decl.type == "Bool" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _type_ok(decl: Declaration, value: Any) -> bool:
    expected = {
        "String": "String",
        "SecureString": "String",
        "Int": "Integer",
        "Bool": "Boolean",
        "Object": "Object",
        "SecureObject": "Object",
        "Array": "Array",
    }[decl.type]
    return type_name(value) == expected


def check(decl: Declaration, value: Any, path: str) -> None:
    name, spec = decl.name, decl.spec
    if not _type_ok(decl, value):
        raise TemplateError(
            FAILED + f"The provided value for the template parameter '{name}' is not valid. Expected a "
            f"value of type '{decl.type}', but received a value of type '{type_name(value)}'.",
            path,
        )
    allowed = spec.get("allowedvalues")
    if isinstance(allowed, list):
        values = value if decl.type == "Array" else [value]
        if any(v not in allowed for v in values):
            shown = "***" if decl.secure else value
            listed = ",".join(str(a) for a in allowed)
            raise TemplateError(
                FAILED + f"The provided value '{shown}' for the template parameter '{name}' is not valid. "
                f"The parameter value is not part of the allowed value(s): '{listed}'.",
                path,
            )
    if decl.type == "Int":
        low, high = spec.get("minvalue"), spec.get("maxvalue")
        if (isinstance(low, int) and value < low) or (isinstance(high, int) and value > high):
            raise TemplateError(
                FAILED + f"The provided value '{value}' for the template parameter '{name}' is not valid. "
                f"It must be between {low if low is not None else '-∞'} and "
                f"{high if high is not None else '∞'}.",
                path,
            )
    if decl.type in ("String", "SecureString", "Array"):
        low, high = spec.get("minlength"), spec.get("maxlength")
        if (isinstance(low, int) and len(value) < low) or (isinstance(high, int) and len(value) > high):
            raise TemplateError(
                FAILED + f"The provided value for the template parameter '{name}' is not valid: its length "
                f"{len(value)} must be from {low if low is not None else 0} to "
                f"{high if high is not None else 'any'}.",
                path,
            )


def resolve(
    declared: Mapping[str, Declaration],
    supplied: Any,
    evaluate_default: Callable[[Declaration, Mapping[str, Any]], Any],
) -> dict[str, Any]:
    """Every declared parameter's value (key: lower-case name), checked; raises TemplateError.

    A default value may use the parameters declared before it (`evaluate_default` gets them)."""
    if supplied is None:
        supplied = {}
    if not isinstance(supplied, dict):
        raise TemplateError(FAILED + "The deployment's 'parameters' must be an object.", "parameters")
    unknown = [name for name in supplied if name.lower() not in declared]
    if unknown:
        only = ", ".join(d.name for d in declared.values())
        raise TemplateError(
            FAILED + f"The template parameters '{', '.join(unknown)}' in the parameters file are not valid; "
            "they are not present in the original template and can therefore not be provided at "
            f"deployment time. The only supported parameters for this template are '{only}'.",
            f"parameters.{unknown[0]}",
        )
    given = {name.lower(): _unwrap(name, value) for name, value in supplied.items()}
    values: dict[str, Any] = {}
    for key, decl in declared.items():
        if key in given:
            value, path = _coerce(decl, given[key]), f"parameters.{decl.name}"
        elif "defaultvalue" in decl.spec:
            value, path = evaluate_default(decl, values), f"parameters.{decl.name}.defaultValue"
        else:
            raise TemplateError(
                FAILED + f"The value for the template parameter '{decl.name}' is not provided. Please see "
                "https://aka.ms/arm-create-parameter-file for usage details.",
                f"parameters.{decl.name}",
            )
        check(decl, value, path)
        values[key] = value
    return values


def echo(declared: Mapping[str, Declaration], values: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters as a deployment shows them: typed, secure values hidden."""
    out: dict[str, Any] = {}
    for key, decl in declared.items():
        entry: dict[str, Any] = {"type": decl.type}
        if not decl.secure:
            entry["value"] = values.get(key)
        out[decl.name] = entry
    return out
