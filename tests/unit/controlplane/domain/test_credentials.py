"""Passwords and client secrets: argon2id hashes for passwords and keyed digests for client
secrets (never the text), checks that say no rather than raise, and secrets that stop at their
end; a secret an earlier version kept as an argon2id hash still works."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from maas.controlplane.domain.credentials import (
    DIGEST_PREFIX,
    ClientSecret,
    hash_password,
    needs_rehash,
    new_client_secret,
    spend_decoy_check,
    verify_password,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_password_is_kept_as_a_salted_argon2id_hash() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("$argon2id$") and "correct horse" not in first
    assert first != second  # salted
    assert verify_password(first, "correct horse") and verify_password(second, "correct horse")
    assert not needs_rehash(first)


def test_a_wrong_password_or_a_broken_hash_is_a_no() -> None:
    stored = hash_password("correct horse")
    assert not verify_password(stored, "Correct horse")
    assert not verify_password(stored, "")
    assert not verify_password("not a hash", "correct horse")
    spend_decoy_check("anything")  # never raises


def _digest(value: str) -> str:
    return hmac.new(b"server secret", value.encode(), hashlib.sha256).hexdigest()


def _other_digest(value: str) -> str:
    return hmac.new(b"another server", value.encode(), hashlib.sha256).hexdigest()


def _secret(text: str, end: datetime, stored: str) -> ClientSecret:
    return ClientSecret("kid", "oid", None, text[:3], stored, NOW - timedelta(days=1), end)


@pytest.mark.parametrize("kept_as", ["digest", "argon2id of an earlier version"])
def test_a_client_secret_works_until_its_end(kept_as: str) -> None:
    text = new_client_secret()
    assert len(text) >= 40 and text != new_client_secret()
    stored = DIGEST_PREFIX + _digest(text) if kept_as == "digest" else hash_password(text)
    assert text not in stored
    secret = _secret(text, NOW + timedelta(hours=1), stored)
    assert secret.check(text, NOW, _digest)
    assert not secret.check(text + "x", NOW, _digest)
    assert not secret.check("", NOW, _digest)
    assert not secret.check(text, NOW + timedelta(hours=1), _digest)  # the end is exclusive
    assert secret.expired(NOW + timedelta(hours=2))


def test_a_client_secret_digest_is_keyed_by_the_server_secret() -> None:
    text = new_client_secret()
    secret = _secret(text, NOW + timedelta(hours=1), DIGEST_PREFIX + _digest(text))
    assert not secret.check(text, NOW, _other_digest)  # a copied database alone checks nothing
