"""Routes: the token endpoint, Entra ID's v2.0 paths (MSAL and azure-identity use them as is),
and the operator's signing keys.

GET  /{tenant}/v2.0/.well-known/openid-configuration   OpenID Connect discovery (no auth)
GET  /{tenant}/discovery/v2.0/keys                     JWKS: the keys that verify access tokens
POST /{tenant}/oauth2/v2.0/token                       form-encoded grant -> access token
GET  /providers/Microsoft.MaaS/signingKeys             (Microsoft.MaaS/signingKeys/read)
POST /providers/Microsoft.MaaS/signingKeys/rotate      (Microsoft.MaaS/signingKeys/rotate/action)

The token endpoint's errors are `OAuthError`s, rendered in Entra's shape by `errors.install`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from maas.controlplane.api.correlation import request_info
from maas.controlplane.api.deps import Ctx, ServicesDep, arm, call, listing
from maas.controlplane.domain.tokens import LoadedKey
from maas.controlplane.services import grants, signing_keys, tokens
from maas.core.errors import OAuthError

router = APIRouter()
KEYS = "/providers/Microsoft.MaaS/signingKeys"
MAX_FORM_BYTES = 64 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def form_fields(request: Request) -> dict[str, str]:
    """A form-encoded body (at most `MAX_FORM_BYTES`), the first value of each name."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise OAuthError(
            "invalid_request", 900561, "The endpoint only accepts POST requests with form-encoded bodies."
        )
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM_BYTES:
            raise OAuthError("invalid_request", 90014, "The request body is too large.")
    try:
        pairs = parse_qsl(raw.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise OAuthError("invalid_request", 90014, "The request body is not valid UTF-8.") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)  # the first of a repeated parameter
    return form


def _basic(request: Request) -> tuple[str, str] | None:
    """client_secret_basic (RFC 6749 2.3.1): form-encoded id and secret in HTTP Basic."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, sep, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        sep = ""
    if not sep:
        raise OAuthError("invalid_client", 7000215, "The Authorization header is not valid HTTP Basic.")
    return unquote_plus(client_id), unquote_plus(secret)


@router.get("/{tenant}/v2.0/.well-known/openid-configuration", include_in_schema=False)
async def openid_configuration(tenant: str, services: ServicesDep) -> Response:
    return JSONResponse(await call(tokens.discovery_document, services, tenant))


@router.get("/{tenant}/discovery/v2.0/keys", include_in_schema=False)
async def jwks(tenant: str, services: ServicesDep) -> Response:
    await call(tokens.resolve_tenant, services, tenant)
    return JSONResponse(await call(signing_keys.jwks, services))


@router.post("/{tenant}/oauth2/v2.0/token", include_in_schema=False)
async def token(tenant: str, request: Request, services: ServicesDep) -> Response:
    form = await form_fields(request)
    info = request_info(request, services.settings.trust_forwarded_for)
    issued = await call(grants.token, services, tenant, form, _basic(request), info)
    return JSONResponse(issued, headers=NO_STORE)


def _key_body(key: LoadedKey, active: LoadedKey | None) -> dict[str, Any]:
    return {
        "id": f"{KEYS}/{key.kid}",
        "name": key.kid,
        "type": "Microsoft.MaaS/signingKeys",
        "properties": {
            "algorithm": key.jwk.get("alg"),
            "active": active is not None and key.kid == active.kid,
            "createdAt": key.created_at.isoformat(),
            "retiredAt": key.retired_at.isoformat() if key.retired_at else None,
        },
    }


@router.get(KEYS)
async def list_keys(ctx: Ctx) -> Response:
    keys = await ctx.call(signing_keys.list_signing_keys)
    active = ctx.services.keyring.active
    return listing([_key_body(k, active) for k in reversed(keys)])


@router.post(KEYS + "/rotate")
async def rotate(ctx: Ctx) -> Response:
    made = await ctx.call(signing_keys.rotate_signing_key)
    return arm(_key_body(made, made))
