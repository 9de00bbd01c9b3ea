"""The token endpoint's logic: OpenID Connect discovery, the client-credentials grant, and the
verification `access.authenticate` applies to the access tokens it issued.

Paths and shapes are Entra ID's v2.0 endpoints, so MSAL and azure-identity use them unchanged:
MSAL reads `{authority}/v2.0/.well-known/openid-configuration` (with instance discovery off) and
posts to its `token_endpoint`. Tokens are RS256 JWTs, `aud` the resource asked for (the
management resource, or a data-plane one for keyless calls to endpoints: `DATA_PLANE`), `iss`
`{base}/{tenant}/v2.0`, with `tid`, `oid` (the principal's object id, what role assignments
name), `sub`, `appid`/`azp`, `iat`/`nbf`/`exp` (one hour) and the signing key's `kid`. Management
calls take only management tokens (`AUDIENCES`), endpoints only data-plane ones
(`DATA_PLANE_AUDIENCES`): a token leaked from one side opens nothing on the other.

Errors are `OAuthError`s, rendered in Entra's shape (`error`, `error_description` starting with
`AADSTS<n>:`, `error_codes`). A wrong, expired or unknown client secret, or a disabled service
principal, all get AADSTS7000215 after the same work: the answer does not tell which. The tenant
segment may be the tenant id, `organizations` or `common` (this installation has one tenant).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from maas.controlplane.domain.activity import RequestInfo
from maas.controlplane.domain.tokens import (
    ALGORITHM,
    DATA_PLANE_RESOURCES,
    TOKEN_LIFETIME,
    InvalidAccessToken,
    kid_of,
    sign,
    verify,
)
from maas.controlplane.services import activity, directory, signing_keys
from maas.controlplane.services.context import Services
from maas.core.clock import utcnow
from maas.core.errors import InvalidClient, OAuthError, SignInThrottled

__all__ = [
    "AUDIENCES",
    "DATA_PLANE",
    "DATA_PLANE_AUDIENCES",
    "ISSUED",
    "MANAGEMENT",
    "RESERVED_SCOPES",
    "access_token",
    "client_credentials",
    "discovery_document",
    "issuer",
    "required",
    "resolve_tenant",
    "resource_of",
    "verified_claims",
    "verify_access_token",
]

MANAGEMENT = "https://management.azure.com"
# What a token's aud may be: the resource with and without the slash Entra's v1 tokens carry.
AUDIENCES = [MANAGEMENT, MANAGEMENT + "/"]
# The resources an endpoint's Target URI takes tokens for (keyless calls; see the domain's note).
DATA_PLANE = DATA_PLANE_RESOURCES
DATA_PLANE_AUDIENCES = [aud for resource in DATA_PLANE for aud in (resource, resource + "/")]
ISSUED = (MANAGEMENT, *DATA_PLANE)
RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
TENANT_ALIASES = frozenset({"organizations", "common"})
MAX_CLIENT_ID = 64  # the width of activity_log.principal_id


def _base(services: Services) -> str:
    return services.settings.base_url


def issuer(services: Services, tenant: str) -> str:
    return f"{_base(services)}/{tenant}/v2.0"


def resolve_tenant(services: Services, segment: str) -> str:
    """This installation's tenant id, if `segment` names it; else Entra's AADSTS90002."""
    tenant = directory.tenant_id(services)
    if segment.lower() == tenant.lower() or segment.lower() in TENANT_ALIASES:
        return tenant
    raise OAuthError(
        "invalid_tenant",
        90002,
        f"Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud.",
    )


def discovery_document(services: Services, segment: str) -> dict[str, Any]:
    """OpenID Connect discovery (the fields MSAL reads, in Entra's v2.0 shape)."""
    tenant = resolve_tenant(services, segment)
    root = f"{_base(services)}/{tenant}"
    return {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "jwks_uri": f"{root}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "response_types_supported": ["code"],
        "scopes_supported": ["openid", "profile", "offline_access", *(f"{r}/.default" for r in ISSUED)],
        "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
        "issuer": issuer(services, tenant),
        "request_uri_parameter_supported": False,
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
        "claims_supported": [
            "aud",
            "iss",
            "iat",
            "nbf",
            "exp",
            "sub",
            "oid",
            "tid",
            "appid",
            "azp",
            "nonce",
            "name",
            "preferred_username",
        ],
        "code_challenge_methods_supported": ["S256"],
        "tenant_region_scope": None,
        "cloud_instance_name": "maas",
    }


def required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise OAuthError(
            "invalid_request", 900144, f"The request body must contain the following parameter: '{name}'."
        )
    return value


def _resource(scope: str) -> str:
    """The audience a client-credentials scope asks for: exactly one `<resource>/.default`."""
    scopes = [s for s in scope.split() if s.lower() not in RESERVED_SCOPES]
    if len(scopes) != 1 or not scopes[0].endswith("/.default"):
        raise OAuthError(
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows must have "
            "a scope value with /.default suffixed to the resource identifier (application ID URI).",
        )
    return resource_of(scopes[0].removesuffix("/.default"))


def resource_of(name: str) -> str:
    """The resource this server issues tokens for that `name` (an application ID URI, any case,
    with or without its trailing slash) names; else Entra's AADSTS500011."""
    wanted = name.rstrip("/").lower()
    for resource in ISSUED:
        if wanted == resource:
            return resource
    raise OAuthError(
        "invalid_resource",
        500011,
        f"The resource principal named {name} was not found in the tenant. This server issues "
        f"tokens for {', '.join(ISSUED)} only.",
    )


def access_token(
    services: Services,
    tenant: str,
    principal_id: str,
    app_id: str | None,
    user: Mapping[str, str] | None = None,
    resource: str = MANAGEMENT,
) -> dict[str, Any]:
    """A signed access token for `resource` (one of `ISSUED`): an application's (`app_id`, no
    `user`), or a user's signed in through the client `app_id` (`user`: name, upn and so on)."""
    now = utcnow().replace(microsecond=0)
    expires = now + TOKEN_LIFETIME
    claims: dict[str, Any] = {
        "aud": resource,
        "iss": issuer(services, tenant),
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "oid": principal_id,
        "sub": principal_id,
        "tid": tenant,
        "uti": uuid.uuid4().hex,
        "ver": "2.0",
    }
    if app_id is not None:
        claims |= {"appid": app_id, "azp": app_id, "appidacr": "1", "idtyp": "app"}
    if user is not None:
        claims |= {"appidacr": "0", "idtyp": "user", "scp": "user_impersonation", **user}
    seconds = int(TOKEN_LIFETIME / timedelta(seconds=1))
    return {
        "token_type": "Bearer",
        "expires_in": seconds,
        "ext_expires_in": seconds,
        "access_token": sign(signing_keys.active_key(services), claims),
    }


def client_credentials(
    services: Services,
    tenant: str,
    form: Mapping[str, str],
    basic: tuple[str, str] | None,
    request: RequestInfo,
) -> dict[str, Any]:
    """`grant_type=client_credentials`: a service principal's application id and client secret
    (in the body, or HTTP Basic) for a token to the management or a data-plane resource."""
    client_id, secret = basic if basic is not None else (required(form, "client_id"), "")
    if len(client_id) > MAX_CLIENT_ID:  # application ids are GUIDs; keep logs and counts bounded
        raise OAuthError("unauthorized_client", 700016, "The client_id is not a valid application id.")
    if basic is None:
        secret = form.get("client_secret", "")
        if not secret:
            raise OAuthError(
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.",
            )
    resource = _resource(required(form, "scope"))
    wait = services.lockout.retry_after(client_id)
    if wait is not None:
        raise SignInThrottled(
            "temporarily_unavailable",
            50053,
            f"Too many failed sign-ins for the application '{client_id}'; try again in {wait} s.",
            retry_after=wait,
        )
    found = directory.verify_client_secret(services, client_id, secret)
    activity.record_sign_in(
        services,
        request,
        f"/servicePrincipals/{client_id}",
        succeeded=found is not None,
        principal_id=found.principal.id if found is not None else "",
        name=client_id,
    )
    if found is None:
        services.lockout.failed(client_id)
        raise InvalidClient(
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the "
            f"client secret value, not the client secret ID, for a secret added to app '{client_id}'.",
        )
    return access_token(services, tenant, found.principal.id, found.app_id, resource=resource)


def verify_access_token(services: Services, token: str, audiences: list[str] = AUDIENCES) -> str:
    """The object id (`oid`) of a valid access token this server issued for one of `audiences`
    (the management resource unless told); `InvalidAccessToken` otherwise. The caller still
    checks that the principal exists and is enabled."""
    return str(verified_claims(services, token, audiences)["oid"])


def verified_claims(services: Services, token: str, audiences: list[str] = AUDIENCES) -> dict[str, Any]:
    """`verify_access_token`'s checks; the token's claims (`oid` a string, `exp` a number)."""
    key = signing_keys.key_for(services, kid_of(token))
    if key is None:
        raise InvalidAccessToken("The token's signing key is unknown or has expired.")
    tenant = directory_tenant(services)
    claims = verify(token, key, issuer=issuer(services, tenant), audiences=audiences)
    if claims["tid"] != tenant or not isinstance(claims["oid"], str):
        raise InvalidAccessToken("The token is for another tenant.")
    return claims


def directory_tenant(services: Services) -> str:
    """The tenant id, read once per process (it never changes after the first start)."""
    cached = services.keyring.tenant
    if cached is None:
        cached = services.keyring.tenant = directory.tenant_id(services)
    return cached
