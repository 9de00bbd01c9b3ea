"""Passwords and client secrets: argon2id hashes (never the text), checks that say no rather
than raise, and secrets that stop at their end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from maas.controlplane.domain.credentials import (
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


def _secret(text: str, end: datetime) -> ClientSecret:
    return ClientSecret("kid", "oid", None, text[:3], hash_password(text), NOW - timedelta(days=1), end)


def test_a_client_secret_works_until_its_end() -> None:
    text = new_client_secret()
    assert len(text) >= 40 and text != new_client_secret()
    secret = _secret(text, NOW + timedelta(hours=1))
    assert secret.check(text, NOW)
    assert not secret.check(text + "x", NOW)
    assert not secret.check(text, NOW + timedelta(hours=1))  # the end is exclusive
    assert secret.expired(NOW + timedelta(hours=2))
