"""How a batch of usage records lands in the store: in one transaction, the records that are not
there yet, and exactly those added to the hourly running totals. A retried batch (after a commit
whose outcome was unknown, or a journal replayed after a crash) inserts nothing twice, so totals
never drift from the records they sum.

SQLite: `INSERT … ON CONFLICT (request_id) DO NOTHING RETURNING request_id` (multi-row VALUES), then
an upsert of the totals computed in Python for the returned ids.

PostgreSQL: one statement with one parameter, the batch as a JSON array (`json_to_recordset`):
the records insert and the totals upsert are data-modifying CTEs, joined on the ids the insert
returned. A VALUES list of thousands of rows is parsed anew for every batch (6–8k records/s), and
one array parameter per column spends its time escaping text in psycopg (18k/s).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, text
from sqlalchemy.dialects import postgresql, sqlite

from maas.billing.records import UsageRecord
from maas.controlplane.store import tables as t
from maas.controlplane.store.database import Database
from maas.core.ids import key_of


def write_batch(db: Database, records: Sequence[UsageRecord]) -> int:
    """Insert the records that are not there yet and add exactly those to the running totals, in
    one transaction. Returns how many were new. Idempotent: a retried batch inserts nothing twice."""
    if not records:
        return 0
    by_id = {r.request_id: r for r in records}
    with db.engine.connect() as connection:
        if db.is_sqlite:
            connection = connection.execution_options(sqlite_begin="IMMEDIATE")
        with connection.begin():
            if not db.is_sqlite:
                return _write_postgres(connection, list(by_id.values()))
            inserted = _insert_records(connection, db.is_sqlite, [r.row() for r in by_id.values()])
            _add_totals(connection, db.is_sqlite, [by_id[i] for i in inserted])
    return len(inserted)


def _insert_records(connection: Connection, is_sqlite: bool, rows: list[dict[str, Any]]) -> list[str]:
    dialect_insert = sqlite.insert if is_sqlite else postgresql.insert
    statement = (
        dialect_insert(t.usage_records)
        .on_conflict_do_nothing(index_elements=["request_id"])
        .returning(t.usage_records.c.request_id)
    )
    return list(connection.execute(statement, rows).scalars())


def _add_totals(connection: Connection, is_sqlite: bool, records: Iterable[UsageRecord]) -> None:
    sums: dict[tuple[int, str, str, str], list[Any]] = {}
    for record in records:
        hour = int(record.ended_at // 3600)
        endpoint_key = key_of(record.endpoint_id)
        for price, quantity in record.prices.quantities(record.input_tokens, record.output_tokens):
            key = (hour, endpoint_key, price.meter_id, price.per_1k)
            entry = sums.get(key)
            if entry is None:
                sums[key] = [record, price, quantity, 1]
            else:
                entry[2] += quantity
                entry[3] += 1
    if not sums:
        return
    rows = [
        {
            "hour": hour,
            "endpoint_key": endpoint_key,
            "meter_id": meter_id,
            "price_per_1k": per_1k,
            "currency": price.currency,
            "endpoint_id": record.endpoint_id,
            "subscription": record.subscription,
            "resource_group": record.resource_group,
            "workspace": record.workspace,
            "billed_resource_id": record.billed_resource_id,
            "model_id": record.model_id,
            "quantity": quantity,
            "records": count,
        }
        for (hour, endpoint_key, meter_id, per_1k), (record, price, quantity, count) in sums.items()
    ]
    dialect_insert = sqlite.insert if is_sqlite else postgresql.insert
    statement = dialect_insert(t.usage_totals)
    statement = statement.on_conflict_do_update(
        index_elements=["hour", "endpoint_key", "meter_id", "price_per_1k"],
        set_={
            "quantity": t.usage_totals.c.quantity + statement.excluded.quantity,
            "records": t.usage_totals.c.records + statement.excluded.records,
        },
    )
    connection.execute(statement, rows)


_COLUMNS = (
    ("request_id", "text"),
    ("endpoint_key", "text"),
    ("endpoint_id", "text"),
    ("subscription", "text"),
    ("resource_group", "text"),
    ("workspace", "text"),
    ("billed_resource_id", "text"),
    ("model_id", "text"),
    ("offer_id", "text"),
    ("region", "text"),
    ("route", "text"),
    ("input_tokens", "int"),
    ("output_tokens", "int"),
    ("meters", "json"),
    ("status", "text"),
    ("started_at", "float8"),
    ("ended_at", "float8"),
)
_PRICES = (
    ("in_meter", "text"),
    ("in_price", "text"),
    ("in_currency", "text"),
    ("out_meter", "text"),
    ("out_price", "text"),
    ("out_currency", "text"),
)
_TOTAL_DIMENSIONS = "endpoint_id, subscription, resource_group, workspace, billed_resource_id, model_id"


def _metered(side: str, tokens: str) -> str:
    meter, price, currency = f"{side}_meter", f"{side}_price", f"{side}_currency"
    return (
        f"SELECT floor(b.ended_at / 3600)::int AS hour, b.endpoint_key, b.{meter} AS meter_id, "
        f"b.{price} AS price, b.{currency} AS currency, "
        + ", ".join(f"b.{c}" for c in _TOTAL_DIMENSIONS.split(", "))
        + f", b.{tokens} AS quantity FROM batch b JOIN inserted USING (request_id)"
    )


def _postgres_statement() -> str:
    columns = ", ".join(name for name, _ in _COLUMNS)
    fields = ", ".join(f"{name} {kind}" for name, kind in (*_COLUMNS, *_PRICES))
    firsts = ", ".join(f"min({c})" for c in _TOTAL_DIMENSIONS.split(", "))
    return f"""
WITH batch AS (SELECT * FROM json_to_recordset(CAST(:batch AS json)) AS b({fields})),
inserted AS (
  INSERT INTO usage_records ({columns}) SELECT {columns} FROM batch
  ON CONFLICT (request_id) DO NOTHING RETURNING request_id
),
metered AS (
  {_metered("in", "input_tokens")}
  UNION ALL
  {_metered("out", "output_tokens")}
),
totals AS (
  INSERT INTO usage_totals (hour, endpoint_key, meter_id, price_per_1k, currency, {_TOTAL_DIMENSIONS},
                            quantity, records)
  SELECT hour, endpoint_key, meter_id, price, min(currency), {firsts}, sum(quantity), count(*)
  FROM metered GROUP BY hour, endpoint_key, meter_id, price
  ON CONFLICT (hour, endpoint_key, meter_id, price_per_1k) DO UPDATE
  SET quantity = usage_totals.quantity + excluded.quantity, records = usage_totals.records + excluded.records
  RETURNING 1
)
SELECT (SELECT count(*) FROM inserted) AS inserted, (SELECT count(*) FROM totals) AS totals
"""


def _write_postgres(connection: Connection, records: list[UsageRecord]) -> int:
    rows = []
    for record in records:
        row = record.row()
        for side, price in (("in", record.prices.input), ("out", record.prices.output)):
            row[f"{side}_meter"], row[f"{side}_price"], row[f"{side}_currency"] = (
                price.meter_id,
                price.per_1k,
                price.currency,
            )
        rows.append(row)
    return int(connection.execute(_STATEMENT, {"batch": orjson.dumps(rows).decode()}).scalar_one())


_STATEMENT = text(_postgres_statement())
