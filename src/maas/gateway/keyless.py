"""Keyless calls: an endpoint's Target URI also takes an access token instead of a key.

`Authorization: Bearer <JWT>`, an RS256 access token from this server's token endpoint for a
data-plane resource (`DATA_PLANE_RESOURCES`: `https://ml.azure.com`, what azure-ai-inference asks
for by default, or `https://cognitiveservices.azure.com`), opens an endpoint when the principal it
names is enabled and its roles hold `SCORE_DATA_ACTION` at the endpoint or above it (workspace,
resource group, subscription, `/`). A management token opens no endpoint, as a data-plane token
opens no management call.

- Tokens are told from keys by shape (`looks_like_jwt`: keys never hold a dot), so the key path
  does no extra work, and only in `Authorization` (`api-key` always holds a key).
- Who the token names and what it may do are read on every call through a `BearerAuthority`, the
  control plane's (`maas.controlplane.services.access.DataPlaneTokens`, wired in by
  `maas.server.process`; this package never imports the services): there is one verification of
  access tokens in the code base, and disabling a principal or removing its role assignment
  takes effect on its next call. That read is blocking, so it runs off the event loop.
- Once a token passes, the call is the endpoint's like a key's: the same state checks, quota,
  metering and billing (usage belongs to the endpoint, not to the caller).

Errors, in the inference envelope: 401 `invalid_token` (not a token of this server for a
data-plane resource, expired, or naming an unknown or disabled principal; the reason is said),
403 `permission_denied` naming the data action and the scope it was checked at.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from maas.controlplane.domain.authz import SCORE_DATA_ACTION, Grant, is_data_allowed
from maas.controlplane.domain.resources import Principal
from maas.controlplane.domain.tokens import DATA_PLANE_RESOURCES, InvalidAccessToken, looks_like_jwt
from maas.core.errors import Forbidden, Unauthenticated
from maas.gateway.readmodel import EndpointView

__all__ = ["BearerAuthority", "check_bearer", "looks_like_jwt"]

_ACCEPTED = " or ".join(f"{resource} (scope {resource}/.default)" for resource in DATA_PLANE_RESOURCES)


class BearerAuthority(Protocol):
    def authenticate(self, token: str) -> tuple[Principal, tuple[Grant, ...]]:
        """The enabled principal a data-plane access token names, and its role grants; raises
        `InvalidAccessToken` otherwise. Blocking."""
        ...


async def check_bearer(authority: BearerAuthority, view: EndpointView, token: str) -> None:
    """Pass a token whose principal may score this endpoint; 401 or 403 otherwise."""
    try:
        principal, grants = await asyncio.to_thread(authority.authenticate, token)
    except InvalidAccessToken as error:
        reason = str(error).strip().rstrip(".") or "it is not valid"
        raise Unauthenticated(
            f"The access token was refused: {reason}. Endpoints take access tokens from this "
            f"server's token endpoint for {_ACCEPTED}, of an enabled principal.",
            code="invalid_token",
        ) from None
    if not is_data_allowed(grants, SCORE_DATA_ACTION, view.id):
        raise Forbidden(
            f"The principal '{principal.name}' with object id '{principal.id}' lacks the data action "
            f"'{SCORE_DATA_ACTION}' over scope '{view.id}' (or a scope above it) to call the endpoint "
            f"'{view.name}'. Roles with it: Azure AI Developer, AzureML Data Scientist, or a custom "
            "role listing it in dataActions; control-plane actions (Owner's and Contributor's '*') "
            "never grant data actions.",
            code="permission_denied",
        )
