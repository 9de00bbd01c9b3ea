"""The SDK's exceptions: one small tree, with httpx's and the server's errors translated here.

    MaasClientError            anything the SDK raises on purpose
    ├── ValidationError        a local input was refused before any request (a YAML file, an
    │                          entity field): the message names the file and the field
    ├── ServiceRequestError    no answer came (connection refused, DNS, TLS, timeout)
    └── HttpResponseError      the server answered with an error: `status_code`, and the ARM
                               envelope's `code`, `message` and `target`; `error` is the code
                               too, with `.code`/`.message`/`.target` as azure-core's has

The names follow azure-core's (`ServiceRequestError`, `HttpResponseError`), so code written
against Azure's SDKs catches the same things.
"""

from __future__ import annotations

import httpx


class MaasClientError(Exception):
    """Base of every error the SDK raises on purpose."""


class ValidationError(MaasClientError):
    """A local input (a YAML file, an entity) was refused before any request was sent."""


class ErrorDetail(str):
    """The ARM error code as a string that also reads like azure-core's `ODataV4Format`:
    `err.error == "ModelNotFound"` and `err.error.code == "ModelNotFound"` both hold."""

    code: str
    message: str
    target: str | None

    def __new__(cls, code: str, message: str, target: str | None = None) -> ErrorDetail:
        detail = super().__new__(cls, code)
        detail.code, detail.message, detail.target = code, message, target
        return detail


class ServiceRequestError(MaasClientError):
    """The request got no answer."""


class HttpResponseError(MaasClientError):
    """The server answered with a status of 400 or more."""

    def __init__(self, message: str, *, status_code: int, code: str, target: str | None = None) -> None:
        super().__init__(f"({code}) {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.target = target
        self.error = ErrorDetail(code, message, target)

    @classmethod
    def from_response(cls, response: httpx.Response) -> HttpResponseError:
        """Read the ARM envelope `{"error": {"code", "message", "target"}}`, or keep the text."""
        try:
            error = response.json()["error"]
            code, message, target = str(error["code"]), str(error["message"]), error.get("target")
        except (ValueError, KeyError, TypeError, AttributeError):
            code, message, target = f"Http{response.status_code}", response.text[:500], None
        return cls(message, status_code=response.status_code, code=code, target=target)
