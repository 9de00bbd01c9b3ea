"""The migrations create exactly the tables the code declares, on SQLite and PostgreSQL, and
running them twice is harmless."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from maas.controlplane.api.render import arm_body
from maas.controlplane.domain.resources import Quota
from maas.controlplane.store.database import MIGRATIONS, Database
from maas.controlplane.store.repository import Repository
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


def _alembic(database: Database, action: str, revision: str) -> None:
    with database.engine.connect() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)
        connection.commit()


def test_endpoint_bookkeeping_moves_from_properties_into_columns_and_back(store_url: str) -> None:
    """0003: the `_`-prefixed keys an endpoint kept in `properties` become typed columns (and
    leave `properties`, which the API shows); a downgrade puts them back."""
    database = Database(store_url)
    now = datetime.now(UTC)
    envelope = {
        "type": "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints",
        "type_key": "microsoft.machinelearningservices/workspaces/serverlessendpoints",
        "name": "ep",
        "parent_key": "/ws",
        "tags": {},
        "provisioning_state": "Succeeded",
        "generation": 1,
        "observed_generation": 1,
        "created_at": now,
        "created_by": "t",
        "created_by_type": "User",
        "last_modified_at": now,
        "last_modified_by": "t",
        "last_modified_by_type": "User",
    }
    old = sa.table(
        "resources",
        *(sa.column(c) for c in [*envelope, "key", "id"] if c != "tags"),
        sa.column("tags", sa.JSON),
        sa.column("properties", sa.JSON),
    )
    try:
        _alembic(database, "upgrade", "0002")
        with database.engine.begin() as connection:
            connection.execute(
                old.insert(),
                [
                    {
                        **envelope,
                        "key": "/ep1",
                        "id": "/ep1",
                        "properties": {
                            "endpointState": "Suspended",
                            "_modelVersionId": "/registries/r/models/m/versions/1",
                            "_offerId": "/providers/Microsoft.MaaS/offers/o",
                            "_quota": {"tokensPerMinute": 700, "requestsPerMinute": 3},
                            "_billingSuspended": True,
                        },
                    },
                    {**envelope, "key": "/ep2", "id": "/ep2", "properties": {"endpointState": "Online"}},
                ],
            )
        database.migrate()
        with database.read() as connection:
            repo = Repository(connection)
            first, second = repo.get("/ep1"), repo.get("/ep2")
        assert first is not None and second is not None
        assert first.properties == {"endpointState": "Suspended"}
        assert first.model_version_id == "/registries/r/models/m/versions/1"
        assert first.offer_id == "/providers/Microsoft.MaaS/offers/o"
        assert first.quota == Quota(700, 3)
        assert first.billing_suspended is True
        assert (second.model_version_id, second.offer_id, second.quota, second.billing_suspended) == (
            None,
            None,
            None,
            False,
        )
        assert "_modelVersionId" not in json.dumps(arm_body(first))

        _alembic(database, "downgrade", "0002")
        with database.engine.connect() as connection:
            rows = dict(connection.execute(sa.select(old.c.key, old.c.properties)).all())
        assert rows["/ep1"]["_quota"] == {"tokensPerMinute": 700, "requestsPerMinute": 3}
        assert rows["/ep1"]["_billingSuspended"] is True
        assert rows["/ep2"] == {"endpointState": "Online"}
    finally:
        database.dispose()


def test_activity_log_rows_gain_event_fields_and_lose_them_on_downgrade(store_url: str) -> None:
    """0007: events logged before it get an event id, a correlation id, the caller's name and
    the lower-cased subscription and resource group of their scope."""
    database = Database(store_url)
    try:
        _alembic(database, "upgrade", "0006")
        with database.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO principals (id, name, principal_type, disabled, created_at) "
                    "VALUES ('p1', 'alice', 'User', false, :at)"
                ),
                {"at": datetime.now(UTC)},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO activity_log (at, principal_id, action, resource_id, status) VALUES "
                    "(:at, 'p1', 'a/write', '/subscriptions/SUB/resourceGroups/RG/x', 'Succeeded'), "
                    "(:at, 'gone', 'b/write', '/providers/Microsoft.MaaS/offers/o', 'Succeeded')"
                ),
                {"at": datetime.now(UTC)},
            )
        _alembic(database, "upgrade", "head")
        with database.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT caller, subscription, resource_group, event_id, correlation_id "
                    "FROM activity_log ORDER BY seq"
                )
            ).all()
        assert [tuple(r[:3]) for r in rows] == [("alice", "sub", "rg"), ("gone", None, None)]
        assert all(len(r[3]) == 36 and len(r[4]) == 36 for r in rows)
        _alembic(database, "downgrade", "0006")
        with database.engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("activity_log")}
        assert "correlation_id" not in columns and "caller" not in columns
    finally:
        database.dispose()
