"""The rule for caller-chosen endpoint keys, and digests scoped to their endpoint."""

from __future__ import annotations

import secrets

import pytest

from maas.controlplane.domain.keys import key_digest, legacy_key_digest, require_strong_key
from maas.core.crypto import Vault, new_key
from maas.core.errors import BadRequest

WORKSPACE = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w"
ENDPOINT = f"{WORKSPACE}/serverlessEndpoints/e"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(new_key(), id="generated"),
        pytest.param(secrets.token_urlsafe(24), id="token_urlsafe"),
        "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6",
        "my-application-key_0123456789-ab",
        pytest.param("a" * 200 + "bcdefgh", id="long"),
        pytest.param("k" * 249 + "abcdefg", id="256-characters"),
    ],
)
def test_strong_values(value: str) -> None:
    require_strong_key(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p",  # 31 characters
        "k" * 250 + "abcdefg",  # 257
        "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6 ",
        "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6\n",
        "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6=",
        "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5/6",
        "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p٦",  # a digit, but not an ASCII one
        "0" * 32,
        "01234560123456012345601234560123",  # 7 different characters
    ],
)
def test_weak_values(value: str) -> None:
    with pytest.raises(BadRequest) as refused:
        require_strong_key(value)
    assert refused.value.code == "InvalidKeyValue" and refused.value.target == "keyValue"
    assert not value or value not in refused.value.message  # a key is a secret: never quoted


def test_digests_are_scoped_to_their_endpoint() -> None:
    vault = Vault("x" * 32)
    key = new_key()
    here = key_digest(vault, ENDPOINT, key)
    assert here == key_digest(vault, ENDPOINT.upper() + "/", key)  # ids compare case-insensitively
    assert here != key_digest(vault, ENDPOINT + "2", key)
    assert here != key_digest(vault, ENDPOINT, key + "x")
    assert here != legacy_key_digest(vault, key) == vault.digest(key)
    assert here != key_digest(Vault("y" * 32), ENDPOINT, key)  # keyed by the server secret
    assert len(here) == 64
