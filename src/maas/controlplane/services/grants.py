"""`POST /{tenant}/oauth2/v2.0/token`: the grant named by `grant_type`, handed to its module
(`tokens` for client credentials, `signin` for a user's authorization code and refresh token)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from maas.controlplane.domain.activity import RequestInfo
from maas.controlplane.services import signin, tokens
from maas.controlplane.services.context import Services
from maas.core.errors import OAuthError

__all__ = ["token"]


def token(
    services: Services,
    segment: str,
    form: Mapping[str, str],
    basic: tuple[str, str] | None,
    request: RequestInfo,
) -> dict[str, Any]:
    tenant = tokens.resolve_tenant(services, segment)
    grant = tokens.required(form, "grant_type")
    if grant == "client_credentials":
        return tokens.client_credentials(services, tenant, form, basic, request)
    if grant == "authorization_code":
        return signin.authorization_code(services, tenant, form)
    if grant == "refresh_token":
        return signin.refresh_token(services, tenant, form)
    raise OAuthError(
        "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant}'."
    )
