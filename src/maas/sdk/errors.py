"""The SDK's exceptions: one small tree, with httpx's and the server's errors translated here.

    MaasClientError            anything the SDK raises on purpose
    ├── ValidationError        a local input was refused before any request (a YAML file, an
    │                          entity field): the message names the file and the field
    ├── ServiceRequestError    no answer came (connection refused, DNS, TLS, timeout)
    └── HttpResponseError      the server answered with an error: `status_code`, and the ARM
                               envelope's `code`, `message` and `target`; `error` is the code
                               too, with `.code`/`.message`/`.target`/`.details` as azure-core's
                               has. An answer without the envelope has the code `Http<status>`
                               and its text (500 characters at most) as the message.

The names follow azure-core's (`ServiceRequestError`, `HttpResponseError`), so code written
against Azure's SDKs catches the same things.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx


class MaasClientError(Exception):
    """Base of every error the SDK raises on purpose."""


class ValidationError(MaasClientError):
    """A local input (a YAML file, an entity) was refused before any request was sent."""


class ErrorDetail(str):
    """The ARM error code as a string that also reads like azure-core's `ODataV4Format`:
    `err.error == "ModelNotFound"` and `err.error.code == "ModelNotFound"` both hold. `details`
    are the envelope's inner errors (e.g. one per invalid field), each an `ErrorDetail`."""

    code: str
    message: str
    target: str | None
    details: tuple[ErrorDetail, ...]

    def __new__(
        cls, code: str, message: str, target: str | None = None, details: Sequence[ErrorDetail] = ()
    ) -> ErrorDetail:
        detail = super().__new__(cls, code)
        detail.code, detail.message, detail.target = code, message, target
        detail.details = tuple(details)
        return detail

    @classmethod
    def _from_wire(cls, error: Any, *, code: str | None = None, message: str | None = None) -> ErrorDetail:
        """An ARM error object; `code` and `message` stand in for missing ones, and without them
        a missing one is a `KeyError` (a `TypeError` or `AttributeError` when it is no object)."""

        def field(key: str, default: str | None) -> str:
            return str(error[key] if default is None else error.get(key) or default)

        details = [cls._inner(item) for item in error.get("details") or [] if isinstance(item, dict)]
        return cls(field("code", code), field("message", message), error.get("target"), details)

    @classmethod
    def _inner(cls, item: dict[str, Any]) -> ErrorDetail:
        # Inner errors are read as sent: a missing code or message reads "None", never fails.
        return cls(str(item.get("code")), str(item.get("message")), item.get("target"))


class ServiceRequestError(MaasClientError):
    """The request got no answer."""


class HttpResponseError(MaasClientError):
    """The server answered with a status of 400 or more."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str,
        target: str | None = None,
        details: Sequence[ErrorDetail] = (),
    ) -> None:
        super().__init__(f"({code}) {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.target = target
        self.error = ErrorDetail(code, message, target, details)

    @property
    def details(self) -> tuple[ErrorDetail, ...]:
        """The envelope's inner errors (empty when it has none)."""
        return self.error.details

    @classmethod
    def from_response(cls, response: httpx.Response) -> HttpResponseError:
        """Read the ARM envelope `{"error": {"code", "message", "target", "details"}}`, or keep
        the text."""
        try:
            error = ErrorDetail._from_wire(response.json()["error"])
        except (ValueError, KeyError, TypeError, AttributeError):
            error = ErrorDetail(f"Http{response.status_code}", response.text[:500])
        return cls.from_error(error, status_code=response.status_code)

    @classmethod
    def from_error(cls, error: ErrorDetail, *, status_code: int) -> HttpResponseError:
        return cls(
            error.message,
            status_code=status_code,
            code=error.code,
            target=error.target,
            details=error.details,
        )
