from __future__ import annotations

import pytest

from maas.core.crypto import Vault, new_key
from maas.core.errors import MaasError

SECRET = "x" * 40


def test_keys_are_256_bit_hex_and_distinct() -> None:
    keys = {new_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(len(k) == 64 and int(k, 16) >= 0 for k in keys)


def test_encryption_round_trips_and_hides_the_plaintext() -> None:
    vault = Vault(SECRET)
    key = new_key()
    ciphertext = vault.encrypt(key)
    assert key not in ciphertext
    assert vault.decrypt(ciphertext) == key


def test_another_secret_cannot_decrypt() -> None:
    ciphertext = Vault(SECRET).encrypt("secret value")
    with pytest.raises(MaasError, match="cannot be decrypted"):
        Vault("y" * 40).decrypt(ciphertext)


def test_digests_are_keyed_stable_and_not_the_encryption_key() -> None:
    a, b = Vault(SECRET), Vault("y" * 40)
    assert a.digest("k") == a.digest("k")
    assert a.digest("k") != b.digest("k")
    assert a.digest("k") != a.digest("K")
    assert Vault.same(a.digest("k"), a.digest("k"))
