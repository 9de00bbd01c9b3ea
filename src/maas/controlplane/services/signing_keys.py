"""The keys that sign access tokens: made at first start, rotated on demand, published as JWKS.

Keys live in the database (`signing_keys`, the private half encrypted with the server's vault),
so every process that shares the database signs and verifies with the same keys. Each process
keeps them parsed in `services.keyring`, reloaded every `REFRESH_S` seconds, or at once when a
token names a key it has not seen (at most once a second, so made-up kids cost no database
reads). `rotate_signing_key` retires the active key and makes a new one; the retired key stays
in the JWKS and keeps verifying for `RETAIN_AFTER_RETIRED`, then the next rotation drops it.

RBAC: `Microsoft.MaaS/signingKeys/read` and `Microsoft.MaaS/signingKeys/rotate/action` at `/`.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

from maas.controlplane.domain.tokens import (
    ALGORITHM,
    RETAIN_AFTER_RETIRED,
    KeyRing,
    LoadedKey,
    new_signing_key,
)
from maas.controlplane.services.context import Caller, Services
from maas.controlplane.store.repository import Repository
from maas.controlplane.store.signing_keys import SigningKeyRecord, SigningKeyRepository
from maas.core.clock import utcnow
from maas.core.errors import Unavailable

__all__ = [
    "READ",
    "REFRESH_S",
    "ROTATE",
    "active_key",
    "ensure_signing_key",
    "jwks",
    "key_for",
    "list_signing_keys",
    "rotate_signing_key",
]

READ = "Microsoft.MaaS/signingKeys/read"
ROTATE = "Microsoft.MaaS/signingKeys/rotate/action"
REFRESH_S = 30.0
UNKNOWN_KID_RELOAD_S = 1.0


def _new_record(services: Services, now: datetime) -> SigningKeyRecord:
    made = new_signing_key()
    return SigningKeyRecord(
        kid=made.kid,
        algorithm=ALGORITHM,
        private_key=services.vault.encrypt(made.private_pem),
        public_jwk=json.dumps(made.jwk),
        created_at=now,
        retired_at=None,
    )


def _live(record: SigningKeyRecord, now: datetime) -> bool:
    return record.retired_at is None or record.retired_at + RETAIN_AFTER_RETIRED > now


def _load(services: Services) -> KeyRing:
    ring = services.keyring
    with services.db.read() as connection:
        records = SigningKeyRepository(connection).all()
    now = utcnow()
    live = [r for r in records if _live(r, now)]
    active = max((r for r in live if r.retired_at is None), key=lambda r: r.created_at, default=None)
    loaded = [
        LoadedKey.parse(
            r.kid,
            r.public_jwk,
            r.created_at,
            r.retired_at,
            services.vault.decrypt(r.private_key) if r is active else None,
        )
        for r in live
    ]
    with ring.lock:
        ring.replace(loaded, time.monotonic())
    return ring


def _ring(services: Services, max_age: float = REFRESH_S) -> KeyRing:
    ring = services.keyring
    if time.monotonic() - ring.loaded_at > max_age:
        return _load(services)
    return ring


def ensure_signing_key(services: Services) -> str:
    """Make the first signing key if there is none to sign with; return the active kid."""
    with services.db.write() as connection:
        repo = SigningKeyRepository(connection)
        if not any(r.retired_at is None for r in repo.all()):
            repo.add(_new_record(services, utcnow()))
    active = _load(services).active
    assert active is not None
    return active.kid


def active_key(services: Services) -> LoadedKey:
    active = _ring(services).active
    if active is None:  # no key yet (a store that the server's bootstrap never prepared)
        ensure_signing_key(services)
        active = services.keyring.active
    if active is None:
        raise Unavailable("No token signing key is available.", code="NoSigningKey")
    return active


def key_for(services: Services, kid: str) -> LoadedKey | None:
    """The (active or retired, still retained) key named `kid`, if any."""
    found = _ring(services).keys.get(kid)
    if found is None and time.monotonic() - services.keyring.loaded_at > UNKNOWN_KID_RELOAD_S:
        found = _load(services).keys.get(kid)
    return found


def jwks(services: Services) -> dict[str, list[dict[str, str]]]:
    """The JSON Web Key Set: the active key and the retired ones whose tokens may still be live."""
    return {"keys": [key.jwk for key in reversed(list(_ring(services).keys.values()))]}


def list_signing_keys(services: Services, caller: Caller) -> list[LoadedKey]:
    caller.require(READ, "/")
    return list(_load(services).keys.values())


def rotate_signing_key(services: Services, caller: Caller) -> LoadedKey:
    """Retire the active key (it stays in the JWKS until its tokens expire) and make a new one."""
    caller.require(ROTATE, "/")
    now = utcnow()
    record = _new_record(services, now)  # RSA generation outside the transaction
    with services.db.write() as connection:
        repo = SigningKeyRepository(connection)
        repo.retire_active(now)
        repo.delete_retired_before(now - RETAIN_AFTER_RETIRED)
        repo.add(record)
        Repository(connection).log_activity(caller.actor, ROTATE, f"/signingKeys/{record.kid}", "Succeeded")
    active = _load(services).active
    assert active is not None
    return active
