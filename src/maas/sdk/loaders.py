"""The `load_*` functions: the seed's YAML files (subscription.yml, endpoint.yml,
connection.yml) into entities, as azure-ai-ml's loaders read them.

Every refusal is a `ValidationError` whose message starts with the file's name and names the
field, so a CLI can print it as it is:

    subscription.yml: unknown field 'model_idd' (did you mean 'model_id'?)
    endpoint.yml: missing required field 'model_id'
    endpoint.yml: not valid YAML (line 2, column 9): mapping values are not allowed here

`params_override` is azure-ai-ml's: a list of `{field: value}` dicts applied in order on top of
the file; a dotted field (`tags.team`) sets a nested key.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any, AnyStr

import yaml

from maas.sdk.entities import MarketplaceSubscription, ServerlessConnection, ServerlessEndpoint
from maas.sdk.errors import ValidationError

__all__ = ["load_connection", "load_marketplace_subscription", "load_serverless_endpoint"]

Source = str | os.PathLike[str] | IO[AnyStr]
Overrides = list[dict[str, Any]] | None


@dataclass(frozen=True)
class _Field:
    name: str
    kind: str  # "str" or "tags" or "safety"
    required: bool = False


def _read(source: Source[Any]) -> tuple[str, Any]:
    if isinstance(source, str | os.PathLike):
        where = os.fspath(source)
        try:
            with open(where, encoding="utf-8") as handle:
                text: str | bytes = handle.read()
        except OSError as exc:
            raise ValidationError(f"{where}: cannot read the file: {exc.strerror or exc}") from exc
    else:
        where = str(getattr(source, "name", "<stream>"))
        text = source.read()
    try:
        return where, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValidationError(f"{where}: not valid YAML{at}: {problem}") from exc
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{where}: not valid YAML: the file is not UTF-8 text") from exc


def _override(data: dict[str, Any], overrides: Overrides, where: str) -> None:
    for override in overrides or []:
        if not isinstance(override, Mapping):
            raise ValidationError(f"{where}: params_override entries must be dicts, not {override!r}")
        for dotted, value in override.items():
            target = data
            *parents, last = str(dotted).split(".")
            for parent in parents:
                child = target.get(parent)
                if not isinstance(child, dict):
                    child = target[parent] = {}
                target = child
            target[last] = value


def _check(where: str, data: dict[str, Any], fields: list[_Field]) -> dict[str, Any]:
    known = {f.name: f for f in fields}
    values: dict[str, Any] = {}
    for key, value in data.items():
        key = str(key)
        if key == "$schema":
            continue
        spec = known.get(key)
        if spec is None:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known fields: {', '.join(known)})"
            raise ValidationError(f"{where}: unknown field '{key}'{hint}")
        values[key] = _value(where, spec, value)
    for spec in fields:
        if spec.required and values.get(spec.name) in (None, ""):
            raise ValidationError(f"{where}: missing required field '{spec.name}'")
    return values


def _value(where: str, spec: _Field, value: Any) -> Any:
    if value is None:
        return None
    if spec.kind == "str":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationError(
                f"{where}: field '{spec.name}' must be a string, not {type(value).__name__}"
            )
        return str(value)
    if not isinstance(value, Mapping):
        raise ValidationError(f"{where}: field '{spec.name}' must be a mapping, not {type(value).__name__}")
    if spec.kind == "safety":
        unknown = [str(k) for k in value if k != "content_safety_status"]
        if unknown:
            raise ValidationError(
                f"{where}: unknown field '{spec.name}.{unknown[0]}' (did you mean "
                f"'{spec.name}.content_safety_status'?)"
            )
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _load(source: Source[Any], overrides: Overrides, fields: list[_Field]) -> tuple[str, dict[str, Any]]:
    where, data = _read(source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationError(f"{where}: the file must hold a mapping of fields, not {type(data).__name__}")
    _override(data, overrides, where)
    return where, _check(where, data, fields)


_SUBSCRIPTION = [_Field("name", "str", True), _Field("model_id", "str", True), _Field("tags", "tags")]
_ENDPOINT = [
    _Field("name", "str", True),
    _Field("model_id", "str", True),
    _Field("location", "str"),
    _Field("auth_mode", "str"),
    _Field("content_safety", "safety"),
    _Field("kind", "str"),
    _Field("tags", "tags"),
    _Field("description", "str"),
]
_CONNECTION = [
    _Field("name", "str", True),
    _Field("type", "str"),
    _Field("endpoint", "str", True),
    _Field("api_key", "str"),
    _Field("tags", "tags"),
]


def load_marketplace_subscription(
    source: Source[Any], *, params_override: Overrides = None
) -> MarketplaceSubscription:
    """A `MarketplaceSubscription` from YAML (`name`, `model_id`, optional `tags`)."""
    _, values = _load(source, params_override, _SUBSCRIPTION)
    return MarketplaceSubscription(**values)


def load_serverless_endpoint(source: Source[Any], *, params_override: Overrides = None) -> ServerlessEndpoint:
    """A `ServerlessEndpoint` from YAML (`name`, `model_id`; optional `location`, `auth_mode`,
    `content_safety.content_safety_status`, `kind`, `tags`, `description`)."""
    where, values = _load(source, params_override, _ENDPOINT)
    mode = values.get("auth_mode")
    if mode is not None and mode.lower() not in ("key", "aad"):
        raise ValidationError(f"{where}: field 'auth_mode' must be 'key' or 'aad', not '{mode}'")
    if "auth_mode" in values and mode is None:
        values.pop("auth_mode")
    return ServerlessEndpoint(**values)


def load_connection(source: Source[Any], *, params_override: Overrides = None) -> ServerlessConnection:
    """A `ServerlessConnection` from YAML (`name`, `type: serverless`, `endpoint`, `api_key`,
    optional `tags`). Only serverless connections exist in MaaS."""
    where, values = _load(source, params_override, _CONNECTION)
    kind = values.pop("type", None)
    if kind is not None and kind.lower() != "serverless":
        raise ValidationError(f"{where}: field 'type' must be 'serverless' (MaaS has no other), not '{kind}'")
    return ServerlessConnection(**values)
