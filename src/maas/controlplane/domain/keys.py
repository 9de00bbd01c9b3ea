"""Endpoint keys: which values a caller may choose, and the digest the gateway compares.

A generated key is 256 random bits written as 64 hex characters (`maas.core.crypto.new_key`).
`regenerateKeys` also takes a caller-chosen `keyValue` (to keep a key an application already
has). Such a value is a secret the platform did not make, so it must at least look like one:

* at least ``MIN_LENGTH`` (32) characters, at most ``MAX_LENGTH`` (256);
* only from the URL-safe base64 alphabet ``A–Z a–z 0–9 - _``. It holds every generated key, the
  32-character alphanumeric keys Azure hands out, and the output of ``secrets.token_urlsafe``; it
  has no character that a header, a shell or a URL would mangle;
* at least ``MIN_DISTINCT`` (8) different characters, which refuses ``aaaa…`` and ``abab…``.

No rule can tell a random value from a memorable one; the rules only refuse what is obviously
weak. Leaving out ``keyValue`` always gives a random key.

Digests are scoped to their endpoint (`key_digest`): the keyed digest of (endpoint id, key),
under a key of its own derived from the server's digest key. Two endpoints holding the same key
value therefore store different digests, so a value chosen for one endpoint can never collide
with another endpoint's key, and the control plane never has to answer "that value is in use"
(that answer told a tenant that some other endpoint, anywhere, holds the key it tried).
Databases written before digests were scoped hold the plain keyed digest (`legacy_key_digest`);
the gateway still accepts it until that endpoint's keys are next written.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from maas.core.crypto import Vault
from maas.core.errors import BadRequest
from maas.core.ids import key_of

__all__ = [
    "ALPHABET",
    "MAX_LENGTH",
    "MIN_DISTINCT",
    "MIN_LENGTH",
    "key_digest",
    "legacy_key_digest",
    "require_strong_key",
]

MIN_LENGTH = 32
MAX_LENGTH = 256
MIN_DISTINCT = 8
ALPHABET = "A-Z, a-z, 0-9, '-' and '_'"
_ALLOWED = re.compile(r"[A-Za-z0-9_-]+")
_SCOPE_LABEL = "maas endpoint key digest, scoped to its endpoint, v1"
WEAK_KEY = "InvalidKeyValue"


def require_strong_key(value: str) -> None:
    """Refuse a caller-chosen key that is too short, uses other characters, or repeats a few.

    The message states the rule and never quotes the value (it is a secret)."""
    if (
        not MIN_LENGTH <= len(value) <= MAX_LENGTH
        or _ALLOWED.fullmatch(value) is None
        or len(set(value)) < MIN_DISTINCT
    ):
        raise BadRequest(
            f"A chosen key must be {MIN_LENGTH} to {MAX_LENGTH} characters from {ALPHABET}, with at "
            f"least {MIN_DISTINCT} different characters. Leave out keyValue to get a random 256-bit key.",
            code=WEAK_KEY,
            target="keyValue",
        )


def key_digest(vault: Vault, endpoint_id: str, key: str) -> str:
    """The digest stored for (and compared against) `key` on the endpoint `endpoint_id`."""
    scoped_key = vault.digest(_SCOPE_LABEL).encode()  # never equal to the plain digest key
    message = f"{key_of(endpoint_id)}\n{key}".encode()
    return hmac.new(scoped_key, message, hashlib.sha256).hexdigest()


def legacy_key_digest(vault: Vault, key: str) -> str:
    """The unscoped digest that databases written before scoping hold (read, never written)."""
    return vault.digest(key)
