"""Access tokens: RS256 JWTs as Entra ID issues them, and the signing keys that sign them.

Pure (crypto, no I/O): `new_signing_key` makes an RSA-2048 key pair (RS256 is what MSAL,
azure-identity and every JOSE library accept), `sign` writes a token with the key's `kid` in its
header, `verify` checks one against the public keys of a `KeyRing`. The ring is the per-process
cache the token endpoint signs with and `authenticate` verifies with: it holds parsed key objects
so a management call spends one RSA verification (~tens of µs), never a database read or a PEM
parse, on the signature. The store and its refresh live in `services.signing_keys`.

A rotated key stops signing at once but its public half stays in the JWKS, and keeps verifying,
for `RETAIN_AFTER_RETIRED` (the token lifetime plus clock skew), so no token it signed is cut off.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

__all__ = [
    "ALGORITHM",
    "DATA_PLANE_RESOURCES",
    "LEEWAY",
    "RETAIN_AFTER_RETIRED",
    "TOKEN_LIFETIME",
    "InvalidAccessToken",
    "KeyRing",
    "LoadedKey",
    "NewKey",
    "kid_of",
    "looks_like_jwt",
    "new_signing_key",
    "public_jwk",
    "sign",
    "verify",
]

ALGORITHM = "RS256"
TOKEN_LIFETIME = timedelta(hours=1)  # Entra's default for access tokens
LEEWAY = timedelta(minutes=1)  # clock skew allowed on nbf/exp
RETAIN_AFTER_RETIRED = TOKEN_LIFETIME + timedelta(minutes=5)


# The resources an endpoint's Target URI takes access tokens for (keyless calls): Azure ML's data
# plane (azure-ai-inference's default scope, and the audience of Azure ML endpoints' Entra tokens)
# and Azure AI services' (the scope Azure's docs give azure-ai-inference and openai's Azure client
# for keyless calls). Management tokens are not among them.
DATA_PLANE_RESOURCES = ("https://ml.azure.com", "https://cognitiveservices.azure.com")


class InvalidAccessToken(Exception):
    """A token that is not ours, is malformed, expired, or signed by an unknown key."""


@dataclass(frozen=True)
class NewKey:
    kid: str
    private_pem: str
    jwk: dict[str, str]


def public_jwk(public_key: rsa.RSAPublicKey, kid: str) -> dict[str, str]:
    jwk: dict[str, str] = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    return {"kty": "RSA", "use": "sig", "alg": ALGORITHM, "kid": kid, "n": jwk["n"], "e": jwk["e"]}


def new_signing_key() -> NewKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # The kid is the key's SHA-256 thumbprint (base64url, as Entra's kids look): stable and unique.
    kid = base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:20]).decode().rstrip("=")
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return NewKey(kid, pem, public_jwk(private.public_key(), kid))


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    public: rsa.RSAPublicKey
    jwk: dict[str, str]
    created_at: datetime
    retired_at: datetime | None
    private: rsa.RSAPrivateKey | None = None  # only the active key's is kept in memory

    @staticmethod
    def parse(
        kid: str, jwk_json: str, created_at: datetime, retired_at: datetime | None, private_pem: str | None
    ) -> LoadedKey:
        jwk = json.loads(jwk_json)
        public = RSAAlgorithm.from_jwk(jwk)
        assert isinstance(public, rsa.RSAPublicKey)
        private = None
        if private_pem is not None:
            loaded = serialization.load_pem_private_key(private_pem.encode(), password=None)
            assert isinstance(loaded, rsa.RSAPrivateKey)
            private = loaded
        return LoadedKey(kid, public, jwk, created_at, retired_at, private)


@dataclass
class KeyRing:
    """The process's parsed signing keys: the active one (with its private key) and the retired
    ones still in their retention window. Replaced whole on each load; readers take a snapshot."""

    keys: Mapping[str, LoadedKey] = field(default_factory=dict)
    active: LoadedKey | None = None
    loaded_at: float = float("-inf")  # time.monotonic() of the last load
    tenant: str | None = None  # the installation's tenant id, fixed once made
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def replace(self, keys: Iterable[LoadedKey], loaded_at: float) -> None:
        ordered = sorted(keys, key=lambda k: k.created_at)
        self.keys = {k.kid: k for k in ordered}
        live = [k for k in ordered if k.retired_at is None and k.private is not None]
        self.active = live[-1] if live else None
        self.loaded_at = loaded_at


def looks_like_jwt(token: str) -> bool:
    """A compact JWS (three base64url parts, a JSON header); static tokens never have dots."""
    return token.count(".") == 2 and token.startswith("eyJ")


def sign(key: LoadedKey, claims: Mapping[str, Any]) -> str:
    assert key.private is not None
    return jwt.encode(dict(claims), key.private, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": "JWT"})


def kid_of(token: str) -> str:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken("The token is not a JWT.") from exc
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str):
        raise InvalidAccessToken("The token's header names no RS256 key.")
    return kid


def verify(token: str, key: LoadedKey, *, issuer: str, audiences: list[str]) -> dict[str, Any]:
    """The token's claims if `key` signed it for one of `audiences` from `issuer` and it is
    within its lifetime (give or take `LEEWAY`); else `InvalidAccessToken`."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.public,
            algorithms=[ALGORITHM],
            audience=audiences,
            issuer=issuer,
            leeway=LEEWAY,
            options={"require": ["exp", "iat", "nbf", "iss", "aud", "oid", "tid"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken(str(exc)) from exc
    return claims
