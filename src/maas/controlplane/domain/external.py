"""Trusting an external OpenID Connect issuer (Entra ID, Keycloak, any OIDC provider): its
configuration, the keys it publishes, the checks its access tokens pass, and the principal a
valid token names. Pure: `services.external_issuer` fetches the documents and keeps the keys.

An operator names the issuer (`MAAS_TRUSTED_ISSUER`, equal to the tokens' `iss`) and the
audiences (`MAAS_TRUSTED_AUDIENCE`). A token from it is verified with a key from its JWKS (the
header's `kid`; RS256 or ES256 only, the algorithm fixed by the key, never by the token), then
`iss`, `aud`, `exp`/`nbf` (one minute of clock skew) and, when configured, `tid`. The principal
is the `oid` claim when present (Entra ID) else `sub` (or the claim the operator names).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from maas.controlplane.domain.resources import PrincipalType
from maas.controlplane.domain.tokens import LEEWAY, InvalidAccessToken
from maas.core.netpolicy import refused_url
from maas.core.settings import Settings

__all__ = [
    "ALGORITHMS",
    "OBJECT_ID",
    "ExternalIdentity",
    "IssuerError",
    "IssuerKeys",
    "TrustedIssuer",
    "identity_of",
    "jwks_uri_of",
    "keys_of",
    "signing_header",
    "verify_external",
]

ALGORITHMS = ("RS256", "ES256")
MIN_RSA_BITS = 2048
MAX_KEYS = 64
# What an external object id may be: it is a principal's id and a role assignment's principalId
# (64 characters), and the name of a user in `/providers/Microsoft.MaaS/users/{id}`.
OBJECT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
USER_NAME_CLAIMS = ("upn", "preferred_username", "unique_name", "email")


class IssuerError(InvalidAccessToken):
    """The issuer's discovery document or keys could not be fetched, or are unusable."""


@dataclass(frozen=True)
class TrustedIssuer:
    """The operator's configuration of the one external issuer (None when it is off)."""

    issuer: str
    audiences: tuple[str, ...]
    principal_claim: str | None
    tenant: str | None
    metadata_url: str
    timeout: float

    @staticmethod
    def from_settings(settings: Settings) -> TrustedIssuer | None:
        if settings.trusted_issuer is None:
            return None
        audiences: list[str] = []
        for given in settings.trusted_audience.split(","):
            bare = given.strip().rstrip("/")
            for form in (bare, bare + "/"):
                if bare and form not in audiences:
                    audiences.append(form)
        issuer = settings.trusted_issuer
        metadata = settings.trusted_issuer_metadata_url or (
            issuer.rstrip("/") + "/.well-known/openid-configuration"
        )
        return TrustedIssuer(
            issuer=issuer,
            audiences=tuple(audiences),
            principal_claim=settings.trusted_principal_claim,
            tenant=settings.trusted_tenant,
            metadata_url=metadata,
            timeout=settings.trusted_issuer_timeout,
        )

    @property
    def secure(self) -> bool:
        """Whether its documents come over HTTPS (the keys then must too)."""
        return self.metadata_url.lower().startswith("https://")


@dataclass
class IssuerKeys:
    """The process's copy of the issuer's keys (kid → key), when they were last fetched, when a
    fetch was last tried, and why the last try failed. Replaced under `lock`; readers take the
    mapping as it is."""

    keys: Mapping[str, jwt.PyJWK] = field(default_factory=dict)
    fetched_at: float = float("-inf")  # time.monotonic() of the last good fetch
    attempted_at: float = float("-inf")  # of the last try, good or not
    error: str | None = None  # why the last try failed; None after a good one
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def jwks_uri_of(document: Any, config: TrustedIssuer) -> str:
    """The `jwks_uri` of the issuer's discovery document, after checking that the document is
    the configured issuer's and that the URI may be fetched."""
    if not isinstance(document, dict):
        raise IssuerError("its discovery document is not a JSON object")
    named = document.get("issuer")
    if named != config.issuer:
        raise IssuerError(f"its discovery document names the issuer {named!r}, not {config.issuer!r}")
    uri = document.get("jwks_uri")
    if not isinstance(uri, str) or not uri:
        raise IssuerError("its discovery document has no jwks_uri")
    reason = refused_url(uri)
    if reason is not None:
        raise IssuerError(f"its jwks_uri {uri!r} may not be fetched: {reason}")
    if config.secure and not uri.lower().startswith("https://"):
        raise IssuerError(f"its jwks_uri {uri!r} is not HTTPS, as its discovery document is")
    return uri


def _usable(jwk: Mapping[str, Any]) -> bool:
    if jwk.get("use") not in (None, "sig") or not isinstance(jwk.get("kid"), str):
        return False
    alg = jwk.get("alg")
    if jwk.get("kty") == "RSA":
        return alg in (None, "RS256")
    return jwk.get("kty") == "EC" and jwk.get("crv") == "P-256" and alg in (None, "ES256")


def keys_of(document: Any) -> dict[str, jwt.PyJWK]:
    """The signing keys of a JWKS: RSA (2048 bits or more, for RS256) and EC P-256 (ES256)
    keys with a `kid`; others (encryption keys, other algorithms, short keys) are left out."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise IssuerError("its JWKS has no 'keys' list")
    found: dict[str, jwt.PyJWK] = {}
    for jwk in document["keys"][:MAX_KEYS]:
        if not isinstance(jwk, dict) or not _usable(jwk):
            continue
        try:
            key = jwt.PyJWK(jwk)
        except (jwt.PyJWTError, ValueError, TypeError):
            continue
        strong_rsa = isinstance(key.key, rsa.RSAPublicKey) and key.key.key_size >= MIN_RSA_BITS
        p256 = isinstance(key.key, ec.EllipticCurvePublicKey) and isinstance(key.key.curve, ec.SECP256R1)
        if strong_rsa or p256:
            found[jwk["kid"]] = key
    if not found:
        raise IssuerError("its JWKS has no RS256 or ES256 signing key with a kid")
    return found


def signing_header(token: str) -> tuple[str, str]:
    """(alg, kid) of a token's header, refusing any algorithm but RS256 and ES256 (so `none`
    and HMAC are refused before any key is looked for)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken("the token is not a well-formed JWT") from exc
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in ALGORITHMS:
        raise InvalidAccessToken(f"the token is signed with {alg!r}; only RS256 and ES256 are accepted")
    if not isinstance(kid, str) or not kid:
        raise InvalidAccessToken("the token's header names no key (kid)")
    return str(alg), kid


def verify_external(token: str, alg: str, key: jwt.PyJWK, config: TrustedIssuer) -> dict[str, Any]:
    """The claims of a token `key` signed with `alg` for one of the configured audiences, from
    the configured issuer (and tenant), within its lifetime; else `InvalidAccessToken` saying
    what is wrong. The signature is checked before any claim is looked at."""
    if key.algorithm_name != alg:
        raise InvalidAccessToken(f"the token says {alg} but its key (kid) is for {key.algorithm_name}")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            audience=list(config.audiences),
            issuer=config.issuer,
            leeway=LEEWAY,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.InvalidSignatureError:
        raise InvalidAccessToken("the token's signature is not valid") from None
    except jwt.ExpiredSignatureError:
        raise InvalidAccessToken("the access token has expired") from None
    except jwt.ImmatureSignatureError:
        raise InvalidAccessToken("the access token is not valid yet (nbf or iat is in the future)") from None
    except jwt.InvalidAudienceError:
        accepted = ", ".join(f"'{a}'" for a in config.audiences)
        raise InvalidAccessToken(f"the token's audience (aud) is not one of {accepted}") from None
    except jwt.InvalidIssuerError:
        raise InvalidAccessToken(f"the token's issuer (iss) is not '{config.issuer}'") from None
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidAccessToken(f"the token has no '{exc.claim}' claim") from None
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken(f"the token is not valid: {exc}") from None
    if config.tenant is not None and claims.get("tid") != config.tenant:
        raise InvalidAccessToken(f"the token is not for the tenant '{config.tenant}' (tid)")
    return claims


@dataclass(frozen=True)
class ExternalIdentity:
    """Who a valid external token names, and what the directory shows of them."""

    object_id: str
    principal_type: PrincipalType
    display_name: str
    user_principal_name: str | None
    app_id: str | None
    tenant_id: str | None


def _text(claims: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = claims.get(name)
    return value[:limit] if isinstance(value, str) and value else None


def identity_of(claims: Mapping[str, Any], config: TrustedIssuer) -> ExternalIdentity:
    """The principal a verified token names: its object id is the configured claim, or `oid`
    when present (Entra ID) else `sub`. An application's token (Entra's `idtyp` `app`, or no
    user name claim at all, or a Keycloak service account) names a service principal."""
    claim = config.principal_claim or ("oid" if "oid" in claims else "sub")
    object_id = claims.get(claim)
    if not isinstance(object_id, str) or not OBJECT_ID.fullmatch(object_id):
        raise InvalidAccessToken(
            f"the token's '{claim}' claim is not an object id this server can name a principal by "
            "(1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit)"
        )
    user_name = next((n for n in (_text(claims, c, 256) for c in USER_NAME_CLAIMS) if n), None)
    app_id = _text(claims, "appid", 128) or _text(claims, "azp", 128)
    kind = claims.get("idtyp")
    is_app = (
        kind == "app"
        or (kind != "user" and user_name is None)
        or (user_name is not None and user_name.startswith("service-account-"))  # Keycloak
    )
    display = _text(claims, "name", 256) or user_name or app_id or object_id
    return ExternalIdentity(
        object_id=object_id,
        principal_type=PrincipalType.SERVICE_PRINCIPAL if is_app else PrincipalType.USER,
        display_name=display,
        user_principal_name=user_name,
        app_id=app_id,
        tenant_id=_text(claims, "tid", 64),
    )
