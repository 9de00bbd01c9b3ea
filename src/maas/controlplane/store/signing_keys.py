"""The rows of `signing_keys`: add one, read them all, retire the active ones, drop expired ones.

Ciphertext in, ciphertext out: encrypting the private key is the service's (it holds the vault).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, insert, select, update

from maas.controlplane.store import tables as t

__all__ = ["SigningKeyRecord", "SigningKeyRepository"]


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class SigningKeyRecord:
    kid: str
    algorithm: str
    private_key: str  # encrypted
    public_jwk: str
    created_at: datetime
    retired_at: datetime | None


class SigningKeyRepository:
    def __init__(self, connection: Connection) -> None:
        self.c = connection

    def add(self, record: SigningKeyRecord) -> None:
        self.c.execute(
            insert(t.signing_keys).values(
                kid=record.kid,
                algorithm=record.algorithm,
                private_key=record.private_key,
                public_jwk=record.public_jwk,
                created_at=record.created_at,
                retired_at=record.retired_at,
            )
        )

    def all(self) -> list[SigningKeyRecord]:
        rows = self.c.execute(select(t.signing_keys).order_by(t.signing_keys.c.created_at)).mappings()
        return [
            SigningKeyRecord(
                kid=row["kid"],
                algorithm=row["algorithm"],
                private_key=row["private_key"],
                public_jwk=row["public_jwk"],
                created_at=_aware(row["created_at"]) or row["created_at"],
                retired_at=_aware(row["retired_at"]),
            )
            for row in rows
        ]

    def retire_active(self, at: datetime) -> int:
        table = t.signing_keys
        result = self.c.execute(update(table).where(table.c.retired_at.is_(None)).values(retired_at=at))
        return int(result.rowcount or 0)

    def delete_retired_before(self, cutoff: datetime) -> int:
        table = t.signing_keys
        result = self.c.execute(
            delete(table).where(table.c.retired_at.is_not(None), table.c.retired_at < cutoff)
        )
        return int(result.rowcount or 0)
