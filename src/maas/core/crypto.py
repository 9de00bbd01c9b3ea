"""Secrets at rest and keyed digests, both derived from the one server secret.

Endpoint keys must be listable (`listKeys`), so they are encrypted (Fernet: AES-128-CBC with
HMAC-SHA256), not hashed. The gateway finds an endpoint from a presented key by its keyed digest
(HMAC-SHA256), an indexed column, and compares digests in constant time. Bearer tokens are stored
only as digests. The encryption key and the digest key are derived separately with HKDF, so one
never doubles as the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from maas.core.errors import MaasError


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"maas-v1", info=purpose).derive(secret)


def new_key() -> str:
    """A random 256-bit key, as 64 hex characters (safe in any header)."""
    return secrets.token_hex(32)


def new_token() -> str:
    """A random bearer token for a principal."""
    return "maas_" + secrets.token_urlsafe(32)


class Vault:
    def __init__(self, secret: str) -> None:
        raw = secret.encode()
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(raw, b"encrypt")))
        self._digest_key = _derive(raw, b"digest")

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:  # a different server secret than the one that wrote it
            raise MaasError(
                "A stored secret cannot be decrypted with this server's secret.",
                code="SecretMismatch",
            ) from exc

    def digest(self, value: str) -> str:
        return hmac.new(self._digest_key, value.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def same(a: str, b: str) -> bool:
        return hmac.compare_digest(a.encode(), b.encode())
