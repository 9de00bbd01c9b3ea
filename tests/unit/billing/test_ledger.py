"""The usage ledger on a real store (SQLite and PostgreSQL): group commits, idempotent writes, the
journal, and recovery of a dead process's journal (the kill -9 case without killing anything)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from maas.billing.batches import write_batch
from maas.billing.ledger import Ledger
from maas.billing.meters import cost, decimal_text, price_list
from maas.billing.records import UsageRecord
from maas.controlplane.store import tables as t
from maas.controlplane.store.database import Database

EP = (
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices"
    "/workspaces/ws/serverlessEndpoints/e"
)
PRICES = price_list(
    [
        {"meterId": "paygo-inference-input-tokens", "pricePer1K": 0.0003},
        {"meterId": "paygo-inference-output-tokens", "pricePer1K": 0.0006, "currency": "USD"},
    ]
)


@pytest.fixture
def db(store_url: str) -> Iterator[Database]:  # SQLite and PostgreSQL (their batch writes differ)
    database = Database(store_url)
    database.migrate()
    yield database
    database.dispose()


def record(
    request_id: str | None = None, *, inp: int = 10, out: int = 5, at: float | None = None
) -> UsageRecord:
    now = time.time() if at is None else at
    return UsageRecord(
        request_id=request_id or uuid.uuid4().hex,
        endpoint_id=EP,
        subscription="s1",
        resource_group="rg",
        workspace="ws",
        billed_resource_id=EP,
        model_id="/registries/r/models/m/versions/1",
        offer_id=None,
        region="eastus",
        route="chat/completions",
        input_tokens=inp,
        output_tokens=out,
        prices=PRICES,
        status="Succeeded",
        started_at=now,
        ended_at=now,
    )


def counts(db: Database) -> tuple[int, dict[str, tuple[int, int]]]:
    with db.read() as connection:
        n = connection.execute(select(func.count()).select_from(t.usage_records)).scalar_one()
        rows = connection.execute(
            select(
                t.usage_totals.c.meter_id,
                func.sum(t.usage_totals.c.quantity),
                func.sum(t.usage_totals.c.records),
            ).group_by(t.usage_totals.c.meter_id)
        ).all()
    return int(n), {m: (int(q), int(r)) for m, q, r in rows}


def test_prices_are_exact_decimals() -> None:
    assert decimal_text(0.0003) == "0.0003"
    assert decimal_text(1e-7) == "0.0000001"
    assert decimal_text(2.50) == "2.5"
    assert PRICES.input.per_1k == "0.0003" and PRICES.output.per_1k == "0.0006"
    assert str(cost(3, "0.0003") + cost(7, "0.0003")) == "0.0000030"
    free = price_list([])
    assert (free.input.per_1k, free.output.per_1k, free.input.currency) == ("0", "0", "USD")


def test_a_batch_writes_records_and_totals_in_one_transaction_and_is_idempotent(db: Database) -> None:
    batch = [record(inp=10, out=5) for _ in range(3)]
    assert write_batch(db, batch) == 3
    assert counts(db) == (
        3,
        {"paygo-inference-input-tokens": (30, 3), "paygo-inference-output-tokens": (15, 3)},
    )
    # the same batch again (a retry after an unknown commit outcome): nothing is counted twice
    assert write_batch(db, [*batch, record(inp=1, out=1)]) == 1
    assert counts(db) == (
        4,
        {"paygo-inference-input-tokens": (31, 4), "paygo-inference-output-tokens": (16, 4)},
    )


def test_totals_are_kept_per_hour_and_price(db: Database) -> None:
    hour = 3600 * 500_000
    cheap = record(at=hour + 10)
    dear = record(at=hour + 20)
    dear.prices = price_list([{"meterId": "paygo-inference-input-tokens", "pricePer1K": 0.5}])
    later = record(at=hour + 3600 + 1)
    write_batch(db, [cheap, dear, later])
    with db.read() as connection:
        rows = connection.execute(
            select(t.usage_totals.c.hour, t.usage_totals.c.price_per_1k, t.usage_totals.c.quantity).where(
                t.usage_totals.c.meter_id == "paygo-inference-input-tokens"
            )
        ).all()
    assert sorted(rows) == [(500_000, "0.0003", 10), (500_000, "0.5", 10), (500_001, "0.0003", 10)]


def test_group_commit_batches_what_arrives_while_a_transaction_runs(db: Database, tmp_path: Path) -> None:
    ledger = Ledger(db, tmp_path / "journal", max_batch=500)
    ledger.start()
    try:
        for _ in range(2000):
            ledger.record(record())
        assert ledger.flush(30)
        assert ledger.stats.committed == 2000
        assert ledger.stats.batches < 2000  # grouped: far fewer transactions than records
        assert ledger.stats.largest_batch <= 500
        assert counts(db)[0] == 2000
        journal = next((tmp_path / "journal").glob("*.journal"))
        assert journal.stat().st_size == 0  # everything committed: the journal was truncated
    finally:
        ledger.stop()
    assert list((tmp_path / "journal").glob("*.journal")) == []


def test_journal_segments_are_deleted_once_committed_so_the_journal_stays_small(
    db: Database, tmp_path: Path
) -> None:
    directory = tmp_path / "journal"
    ledger = Ledger(db, directory, max_batch=50, segment_bytes=4096)
    ledger.start()
    try:
        for _ in range(300):
            ledger.record(record())
        assert ledger.flush(30)
        # ~600 bytes a line: the 300 lines went to dozens of 4 KiB segments, all deleted but the
        # newest, which is empty
        [left] = directory.glob("*.journal")
        assert left.stat().st_size == 0 and ledger.journal_bytes == 0
        assert counts(db)[0] == 300
    finally:
        ledger.stop()


def test_a_dead_processes_journal_is_replayed_once_and_a_live_one_is_left_alone(
    db: Database, tmp_path: Path
) -> None:
    directory = tmp_path / "journal"
    directory.mkdir()
    committed, lost = record("committed"), record("lost-in-flight")
    write_batch(db, [committed])  # reached the store before the crash
    dead = directory / "dead-host-1-abc.journal"
    dead.write_bytes(committed.to_line() + lost.to_line() + b'{"request_id": "torn"')  # torn last line
    # a live process's journal: locked by a child process that stays alive during the replay
    live = directory / "live-host-2-def.journal"
    live.write_bytes(record("owned-by-a-live-process").to_line())
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR); "
            "fcntl.lockf(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)",
            str(live),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"locked"
        ledger = Ledger(db, directory)
        assert ledger.start() == 1  # only the record that never reached the store
        ledger.stop()
    finally:
        holder.kill()
        holder.wait()
    with db.read() as connection:
        ids = set(connection.execute(select(t.usage_records.c.request_id)).scalars())
    assert ids == {"committed", "lost-in-flight"}
    assert not dead.exists() and live.exists()
    # once its owner is gone, the next start replays it
    ledger = Ledger(db, directory)
    assert ledger.start() == 1
    ledger.stop()
    assert counts(db)[0] == 3


def test_a_journal_line_round_trips() -> None:
    original = record("rt", inp=3, out=4)
    line = original.to_line()
    assert line.endswith(b"\n") and line.count(b"\n") == 1  # one record, one line
    assert UsageRecord.from_line(line) == original
