"""Passwords and client secrets of the directory: how they are made, hashed and checked.

Users' passwords are kept only as argon2id hashes (argon2-cffi's `PasswordHasher`, RFC 9106's
parameters; memory-hard, salted, and verified in constant time by the library): a person picks
them, so guessing must stay expensive. Service principals' client secrets are 256 random bits
this server made, which no amount of guessing reaches, so a keyed digest (HMAC-SHA-256 with the
server secret, as for static tokens and endpoint keys) keeps them as safely and checks them in
microseconds instead of ~0.2 s of argon2 per token request. Secrets stored by earlier versions
as argon2id hashes are still checked as such. Nothing here is hand-written cryptography. A
client secret is shown once, when made, and is valid until its `end`; `check` refuses an
expired one before any hash. No I/O: the store keeps the hashes, the services call these.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "DEFAULT_SECRET_LIFETIME",
    "DIGEST_PREFIX",
    "ClientSecret",
    "hash_password",
    "needs_rehash",
    "new_client_secret",
    "spend_decoy_check",
    "verify_password",
]

DEFAULT_SECRET_LIFETIME = timedelta(days=365)  # az ad sp create-for-rbac: one year
_HASHER = PasswordHasher()  # stateless: safe to share between threads
DIGEST_PREFIX = "hmac-sha256$"  # a client secret's keyed digest, told from a PHC "$argon2id$..."


def hash_password(password: str) -> str:
    """An argon2id hash (PHC string, salt and parameters included) of `password`."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether `password` matches `stored_hash`; False (never an exception) otherwise."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# The hash of a random value nobody kept: checking a password against it costs what a real check
# costs, so an unknown user or application id answers no faster than a wrong password.
_DECOY = "$argon2id$v=19$m=65536,t=3,p=4$a3c2ES4z8ktyKwjzKuSEIw$AP2NUIqoR5WRNRCpKwDIG64SShXvDNkr1svTQ2gDhZU"


def spend_decoy_check(password: str) -> None:
    """Spend the time of one password check, for a sign-in with no hash to check against."""
    verify_password(_DECOY, password)


def needs_rehash(stored_hash: str) -> bool:
    """Whether a hash was made with older parameters than today's (rehash on next sign-in)."""
    return _HASHER.check_needs_rehash(stored_hash)


@dataclass(frozen=True)
class ClientSecret:
    """One password credential of a service principal, as stored (the hash, never the text)."""

    key_id: str
    principal_id: str
    display_name: str | None
    hint: str  # the first three characters, as Azure shows them
    secret_hash: str
    start: datetime
    end: datetime

    def expired(self, now: datetime) -> bool:
        return now >= self.end

    def check(self, secret: str, now: datetime, digest: Callable[[str], str]) -> bool:
        """Whether `secret` is this credential and it has not expired; `digest` is the server's
        keyed digest (`Vault.digest`)."""
        if self.expired(now):
            return False
        if self.secret_hash.startswith(DIGEST_PREFIX):
            return hmac.compare_digest((DIGEST_PREFIX + digest(secret)).encode(), self.secret_hash.encode())
        return verify_password(self.secret_hash, secret)  # kept by an earlier version


def new_client_secret() -> str:
    """A random client secret (256 bits), safe in a form body or a shell."""
    return secrets.token_urlsafe(32)
