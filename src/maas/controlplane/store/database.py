"""Opening the store: engine by URL scheme, transactions, migrations.

SQLite (the default) runs in WAL mode with a busy timeout, and write transactions start with
`BEGIN IMMEDIATE`: a deferred transaction that later upgrades to a writer can fail with
SQLITE_BUSY without waiting, and one operation must be one transaction that either lands whole
or not at all. PostgreSQL is chosen by a `postgresql://` URL and driven by psycopg 3.
Migrations are Alembic's, run in-process at start-up; on PostgreSQL under an advisory lock so that
several API processes starting together migrate once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from maas.core.errors import BadRequest, Conflict, Unavailable

MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 7_305_114_221


def normalise_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3; everything else is taken as given."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _unstorable() -> BadRequest:
    # The input checks should have caught it (PostgreSQL refuses NUL characters in text and
    # over-long strings); the request is at fault, so it is a 400, never a 500.
    return BadRequest(
        "The request holds a value the store cannot keep (a NUL character or an over-long string).",
        code="InvalidRequestContent",
    )


class Database:
    """One engine and the two kinds of transaction the services use."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        # hide_parameters: a statement's values never reach an error message or the SQL log.
        kwargs: dict[str, Any] = {"echo": echo, "future": True, "hide_parameters": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            database = make_url(self.url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
        self.engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as connection, connection.begin():
                yield connection
        except DataError as exc:
            raise _unstorable() from exc

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction for one operation. A unique-key race becomes a 409, not a 500."""
        try:
            with self.engine.connect() as connection:
                if self.is_sqlite:
                    connection = connection.execution_options(sqlite_begin="IMMEDIATE")
                with connection.begin():
                    yield connection
        except DataError as exc:
            raise _unstorable() from exc
        except IntegrityError as exc:
            raise Conflict(
                "Another request changed the same resource at the same time; retry the request.",
                code="ConcurrentModification",
            ) from exc
        except OperationalError as exc:
            raise Unavailable("The store is busy; retry the request.", code="StoreUnavailable") from exc

    def migrate(self) -> None:
        """Bring the schema to the newest revision (idempotent)."""
        with self.engine.connect() as connection:
            if not self.is_sqlite:
                connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
                connection.commit()
            try:
                config = Config()
                config.set_main_option("script_location", str(MIGRATIONS))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                connection.commit()
            finally:
                if not self.is_sqlite:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
                    connection.commit()

    def dispose(self) -> None:
        self.engine.dispose()
