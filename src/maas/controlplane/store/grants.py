"""The rows of `authorization_grants`: a user's authorization codes and refresh tokens.

Rows are found by the keyed digest of the code or token (the service computes it with the vault);
`take` deletes the row it returns, and only the caller whose delete removed it gets it, so two
concurrent redemptions of one code cannot both succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, insert, select

from maas.controlplane.store import tables as t

__all__ = ["GrantRecord", "GrantRepository"]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class GrantRecord:
    digest: str
    kind: str  # "code" | "refresh"
    principal_id: str
    client_id: str
    scope: str
    created_at: datetime
    expires_at: datetime
    redirect_uri: str | None = None
    code_challenge: str | None = None
    nonce: str | None = None


class GrantRepository:
    def __init__(self, connection: Connection) -> None:
        self.c = connection

    def add(self, record: GrantRecord) -> None:
        self.c.execute(
            insert(t.authorization_grants).values(
                digest=record.digest,
                kind=record.kind,
                principal_id=record.principal_id,
                client_id=record.client_id,
                redirect_uri=record.redirect_uri,
                code_challenge=record.code_challenge,
                scope=record.scope,
                nonce=record.nonce,
                created_at=record.created_at,
                expires_at=record.expires_at,
            )
        )

    def take(self, kind: str, digest: str) -> GrantRecord | None:
        """The grant with this digest, deleted as it is read; None if there is none (or another
        caller took it first). Expired grants are returned too: the caller decides."""
        table = t.authorization_grants
        row = self.c.execute(select(table).where(table.c.digest == digest)).mappings().first()
        if row is None or row["kind"] != kind:
            return None
        if self.c.execute(delete(table).where(table.c.digest == digest)).rowcount != 1:
            return None
        return GrantRecord(
            digest=row["digest"],
            kind=row["kind"],
            principal_id=row["principal_id"],
            client_id=row["client_id"],
            scope=row["scope"],
            created_at=_aware(row["created_at"]),
            expires_at=_aware(row["expires_at"]),
            redirect_uri=row["redirect_uri"],
            code_challenge=row["code_challenge"],
            nonce=row["nonce"],
        )

    def prune(self, now: datetime) -> int:
        table = t.authorization_grants
        return self.c.execute(delete(table).where(table.c.expires_at < now)).rowcount or 0
