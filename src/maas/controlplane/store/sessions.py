"""The rows of `signin_sessions`: users' browser sessions of the sign-in page.

Rows are found by the keyed digest of the cookie value (the service computes it with the vault);
the cookie value itself is never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, insert, select

from maas.controlplane.store import tables as t

__all__ = ["SessionRecord", "SessionRepository"]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class SessionRecord:
    digest: str
    principal_id: str
    created_at: datetime
    expires_at: datetime


class SessionRepository:
    def __init__(self, connection: Connection) -> None:
        self.c = connection

    def add(self, record: SessionRecord) -> None:
        self.c.execute(
            insert(t.signin_sessions).values(
                digest=record.digest,
                principal_id=record.principal_id,
                created_at=record.created_at,
                expires_at=record.expires_at,
            )
        )

    def find(self, digest: str) -> SessionRecord | None:
        """The session with this digest, expired or not (the caller decides)."""
        table = t.signin_sessions
        row = self.c.execute(select(table).where(table.c.digest == digest)).mappings().first()
        if row is None:
            return None
        return SessionRecord(
            digest=row["digest"],
            principal_id=row["principal_id"],
            created_at=_aware(row["created_at"]),
            expires_at=_aware(row["expires_at"]),
        )

    def remove(self, digest: str) -> bool:
        table = t.signin_sessions
        return bool(self.c.execute(delete(table).where(table.c.digest == digest)).rowcount)

    def remove_principal(self, principal_id: str) -> int:
        """Every session of one user (disabled, deleted or given a new password)."""
        table = t.signin_sessions
        return self.c.execute(delete(table).where(table.c.principal_id == principal_id)).rowcount or 0

    def prune(self, now: datetime) -> int:
        table = t.signin_sessions
        return self.c.execute(delete(table).where(table.c.expires_at < now)).rowcount or 0
