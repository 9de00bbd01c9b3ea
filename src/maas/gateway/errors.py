"""The inference error envelope: `{"error": {"code", "message", "status", "type", "param"}}` with
an `x-ms-error-code` header — what the Azure AI Model Inference API and OpenAI clients read.
The only place data-plane errors become responses."""

from __future__ import annotations

import logging

from maas.core.errors import MaasError
from maas.gateway.http import Exchange

log = logging.getLogger("maas.gateway")

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable",
    502: "api_error",
    504: "timeout",
}


def envelope(error: MaasError) -> dict[str, object]:
    return {
        "error": {
            "code": error.code,
            "message": error.message,
            "status": error.status,
            "type": _TYPES.get(error.status, "api_error"),
            "param": error.target,
        }
    }


async def render(exchange: Exchange, error: MaasError) -> None:
    if error.status >= 500:
        log.warning("%s %s: %s", error.status, error.code, error.message)
    extra = [(b"x-ms-error-code", error.code.encode())]
    if error.status in (429, 503):
        extra.append((b"retry-after", str(error.retry_after or 1).encode()))
    await exchange.json(error.status, envelope(error), extra)
