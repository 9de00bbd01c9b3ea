"""The migrations create exactly the tables the code declares, on SQLite and PostgreSQL, and
running them twice is harmless."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from maas.controlplane.store.database import Database
from maas.controlplane.store.tables import metadata


def test_migrations_match_the_declared_tables(store_url: str) -> None:
    database = Database(store_url)
    try:
        database.migrate()
        database.migrate()
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        database.dispose()
