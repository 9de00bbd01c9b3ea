"""The rows of `user_preferences`: what a user chose in Studio, one row per principal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from maas.controlplane.store import tables as t

__all__ = ["PreferencesRepository"]


class PreferencesRepository:
    def __init__(self, connection: Connection) -> None:
        self.c = connection

    def workspace(self, principal_id: str) -> str | None:
        table = t.user_preferences
        query = select(table.c.workspace_id).where(table.c.principal_id == principal_id)
        return self.c.execute(query).scalar_one_or_none()

    def set_workspace(self, principal_id: str, workspace_id: str | None, now: datetime) -> None:
        table = t.user_preferences
        changed = self.c.execute(
            update(table)
            .where(table.c.principal_id == principal_id)
            .values(workspace_id=workspace_id, updated_at=now)
        ).rowcount
        if not changed:
            self.c.execute(
                table.insert().values(principal_id=principal_id, workspace_id=workspace_id, updated_at=now)
            )
