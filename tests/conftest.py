"""Shared fixtures: a home of its own for every test, a store on SQLite and on PostgreSQL, an
in-process app, an API helper.

No test reads the developer's home or shell settings: for the whole session, and afresh for each
test, `HOME`, the XDG config/data/state directories, `MAAS_CONFIG_DIR` (the CLI's `cli.json`) and
`MAAS_DATA_DIR` (the server's default data directory) point into pytest's temporary directory,
and every other `MAAS_*` variable is removed (`MAAS_TEST_*`, which configure the tests, stay).
The changes are made to `os.environ`, so `maas serve` and any other subprocess a test starts
inherits them; the session-wide ones are in place before module-scoped servers start.

`store_url` is parametrised over both back-ends. PostgreSQL tests run in a fresh schema of the
`test` database on 127.0.0.1:5432 and drop it afterwards. Without a reachable server they are
skipped on a developer's machine, and fail under CI=true (CI must never skip them).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from maas.core.settings import Settings
from maas.server.app import create_server_app
from maas.server.bootstrap import prepare
from support.api import Api

PG_ADMIN_URL = os.environ.get("MAAS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
ADMIN_TOKEN = "test-admin-token-0123456789"
SECRET = "test-secret-0123456789-0123456789-0123456789"


def isolate_home(patch: pytest.MonkeyPatch, home: Path) -> None:
    """Point everything that would read the user's home or shell settings at `home`."""
    for name in list(os.environ):
        if name.startswith("MAAS_") and not name.startswith("MAAS_TEST_"):
            patch.delenv(name)
    home.mkdir(parents=True, exist_ok=True)
    patch.setenv("HOME", str(home))
    patch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    patch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    patch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    patch.setenv("MAAS_CONFIG_DIR", str(home / ".maas"))
    patch.setenv("MAAS_DATA_DIR", str(home / ".maas"))


@pytest.fixture(scope="session", autouse=True)
def _session_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("session-home")
        isolate_home(patch, home)
        yield home


@pytest.fixture(autouse=True)
def _test_home(_session_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("home")
        isolate_home(patch, home)
        yield home


def _pg_schema() -> Iterator[str]:
    try:
        import psycopg

        connection = psycopg.connect(
            PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True, connect_timeout=5
        )
    except Exception as exc:  # pragma: no cover - depends on the machine
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    schema = f"maas_test_{uuid.uuid4().hex[:12]}"
    connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
        connection.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'maas.db'}"
    else:
        yield from _pg_schema()


@pytest.fixture
def settings(store_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=store_url,
        secret=SecretStr(SECRET),
        admin_token=SecretStr(ADMIN_TOKEN),
        public_url="http://testserver",
        default_models=False,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    prepare(settings)
    with TestClient(create_server_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client, ADMIN_TOKEN)
