"""The parts every ARM request body shares, and how a body is parsed.

Every string in a body must be valid Unicode: one UTF-8 cannot encode is refused here, the one
place bodies are parsed, so it never reaches the store. Management bodies forbid unknown fields,
so a typo is a 400 rather than a silent no-op. The read-only fields a client echoes back from
a GET (`id`, `name`, `type`, `systemData`, `provisioningState`, ...) are accepted and ignored,
as ARM does, so GET-modify-PUT works.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from maas.core.errors import ValidationFailed
from maas.core.jsontext import unencodable_path

Body = TypeVar("Body", bound=BaseModel)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ArmBody(Strict):
    """Top-level fields of any tracked resource body; the read-only ones are ignored."""

    id: Any = None
    name: Any = None
    type: Any = None
    system_data: Any = Field(default=None, alias="systemData")
    etag: Any = None
    tags: dict[str, str] = Field(default_factory=dict)


class ErrorDetail(BaseModel):
    """One error of the ARM envelope (ARM's ErrorDetail: `details` nest)."""

    code: str
    message: str
    target: str | None = None
    details: list[ErrorDetail] | None = None


class ErrorResponse(BaseModel):
    """`{"error": {...}}`: every error the management API answers."""

    error: ErrorDetail


class ReadOnlyProperties(Strict):
    provisioning_state: Any = Field(default=None, alias="provisioningState")


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _refuse_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON (RFC 8259) and PostgreSQL do not.
    raise ValueError(f"{name} is not a JSON number")


def parse_body(model: type[Body], raw: bytes) -> Body:
    """Parse JSON bytes into `model`, turning every failure into one clear 400."""
    if not raw.strip():
        raise ValidationFailed("The request body is empty; a JSON object is required.")
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed(f"The request body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise ValidationFailed("The request body is nested too deeply.") from None
    if not isinstance(data, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    where = unencodable_path(data)
    if where is not None:
        # a lone UTF-16 surrogate ("\ud800") parses in Python but can never be written out again
        raise ValidationFailed(
            f"'{where}' holds a string that is not valid Unicode (a lone UTF-16 surrogate escape).",
            target=where,
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = []
        # An unknown field first: a misspelt name explains the "field required" that comes with it.
        errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
        for error in errors:
            where = _location(error["loc"]) or "(body)"
            message = (
                f"'{where}' is not a known field."
                if error["type"] == "extra_forbidden"
                else f"'{where}': {error['msg']}."
            )
            details.append({"code": "InvalidRequestContent", "target": where, "message": message})
        first = details[0]
        summary = (
            first["message"] if len(details) == 1 else f"{first['message']} (and {len(details) - 1} more)"
        )
        raise ValidationFailed(summary, target=first["target"], details=details) from None
