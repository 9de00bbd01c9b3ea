"""The usage ledger: one record per metered request, durable before the client has its answer,
written to the store in group commits.

Guarantee: every response a client received in full has exactly one usage record, even if the
server is killed (SIGKILL) right after sending it; no record is ever counted twice.

How (a write-ahead journal in front of group commit):

1. `record()` runs on the event loop *before* the response's last bytes are sent. It appends the
   record as one JSON line to this process's journal file with a single `write(2)` on an
   `O_APPEND` descriptor. Once that call returns, the line is in the kernel's page cache: it
   survives the process being killed at any later instant (not a power cut — see below).
2. A writer thread takes every record queued since its last transaction and writes them in one
   transaction (group commit): `INSERT … ON CONFLICT (request_id) DO NOTHING RETURNING` for the
   records, then an upsert of the hourly running totals for exactly the rows that were inserted —
   so totals can never drift from the records they sum, even when a batch is retried.
3. The journal is a series of segments (8 MiB by default): a segment whose records are all
   committed is deleted, and the newest one is truncated whenever it holds nothing uncommitted,
   so the journal stays small even when the writer never catches up completely.
4. At start-up, journals left by processes that died (their `lockf` lock is free) are replayed
   through the same idempotent write, then removed. Request ids are the primary key, so a record
   that reached the database before the crash is not inserted twice.

Cost on the request path: one `write(2)` of ~600 bytes and a queue append (a few µs), instead of
waiting for a database commit. Throughput: one transaction per batch, however many requests
finished meanwhile. Power loss: the journal is not fsynced and SQLite runs with
`synchronous=NORMAL`, so the last moments before a power cut can be lost; set
`MAAS_LEDGER_FSYNC=true` to fsync the journal on every record (slower).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from maas.billing.batches import write_batch
from maas.billing.records import UsageRecord
from maas.controlplane.store.database import Database

log = logging.getLogger("maas.ledger")
SUFFIX = ".journal"


@dataclass
class LedgerStats:
    recorded: int = 0
    committed: int = 0
    batches: int = 0
    recovered: int = 0
    failures: int = 0
    largest_batch: int = 0


@dataclass(eq=False)
class _Segment:
    """One journal file of this process. Records go to the newest; an older one is deleted as
    soon as every record in it is committed (so a journal never grows without bound, even when
    the writer never catches up completely)."""

    path: Path
    fd: int
    size: int = 0
    pending: int = 0  # records written here and not yet committed

    @classmethod
    def create(cls, directory: Path, stem: str, number: int) -> _Segment:
        path = directory / f"{stem}-{number:06d}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        # lockf (POSIX record lock): held while this process lives, not inherited by forked
        # replicas, released by the kernel when the process dies however it dies.
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return cls(path, fd)

    def close(self, *, remove: bool) -> None:
        os.close(self.fd)
        if remove:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


class Ledger:
    """One per process: `record()` from the event loop, group commits from a writer thread."""

    def __init__(
        self,
        db: Database,
        directory: Path,
        *,
        max_batch: int = 2000,
        fsync: bool = False,
        segment_bytes: int = 8 * 1024 * 1024,
        linger: float = 0.05,
    ) -> None:
        self.db = db
        self.directory = directory
        self.max_batch = max_batch
        self.fsync = fsync
        self.segment_bytes = segment_bytes
        self.linger = linger  # seconds the writer waits for a batch to fill (not on the request path)
        self._flushing = 0
        self.stats = LedgerStats()
        self._queue: deque[tuple[UsageRecord, _Segment]] = deque()
        self._cond = threading.Condition()
        self._appended = 0
        self._committed = 0
        self._segments: list[_Segment] = []  # oldest first; the last one takes new records
        self._stem = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._numbers = 0
        self._thread: threading.Thread | None = None
        self._stopping = False

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> int:
        """Replay journals that dead processes left, open this process's journal, start the
        writer. Returns how many records the replay added."""
        self.directory.mkdir(parents=True, exist_ok=True)
        recovered = self.recover()
        self._segments.append(self._new_segment())
        self._thread = threading.Thread(target=self._run, name="maas-ledger", daemon=True)
        self._thread.start()
        return recovered

    def stop(self, timeout: float = 30.0) -> None:
        """Commit what is queued, then close the journal (removed when all of it is committed)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._cond:
            for segment in self._segments:
                segment.close(remove=segment.pending == 0)
            self._segments = []

    def _new_segment(self) -> _Segment:
        self._numbers += 1
        return _Segment.create(self.directory, self._stem, self._numbers)

    # -- the request path ----------------------------------------------------------------------
    def record(self, record: UsageRecord) -> None:
        """Make the record durable against a crash of this process, and queue it for the store."""
        line = record.to_line()
        with self._cond:
            if not self._segments:
                raise RuntimeError("the ledger is not started")
            segment = self._segments[-1]
            os.write(segment.fd, line)
            if self.fsync:
                os.fsync(segment.fd)
            segment.size += len(line)
            segment.pending += 1
            self._appended += 1
            self._queue.append((record, segment))
            self.stats.recorded += 1
            if segment.size >= self.segment_bytes:
                self._segments.append(self._new_segment())
            if len(self._queue) in (1, self.max_batch):  # the writer waits for the first or a full batch
                self._cond.notify()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything recorded so far is committed (tests, shutdown, benchmarks)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._appended
            self._flushing += 1
            self._cond.notify_all()
            try:
                while self._committed < target:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._cond.wait(left)
            finally:
                self._flushing -= 1
        return True

    @property
    def pending(self) -> int:
        return len(self._queue)

    @property
    def journal_bytes(self) -> int:
        return sum(segment.size for segment in self._segments)

    # -- the writer ----------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = 0.05
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue:
                    return
                # The journal already made these records durable, so the store can wait a moment
                # for more: fewer, larger transactions (less CPU taken from the event loop).
                deadline = time.monotonic() + self.linger
                while len(self._queue) < self.max_batch and not (self._stopping or self._flushing):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
            try:
                write_batch(self.db, [record for record, _ in batch])
            except Exception:
                self.stats.failures += 1
                log.exception("writing %d usage records failed; retrying", len(batch))
                with self._cond:
                    self._queue.extendleft(reversed(batch))
                    if self._stopping and backoff > 2:
                        return  # the journal keeps them; the next start replays it
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.05
            with self._cond:
                for _, segment in batch:
                    segment.pending -= 1
                self._committed += len(batch)
                self.stats.committed += len(batch)
                self.stats.batches += 1
                self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
                self._release_segments()
                self._cond.notify_all()

    def _release_segments(self) -> None:
        """Delete full segments whose records are all committed; empty the newest one when it
        holds nothing uncommitted (O_APPEND: the next line goes to the new end)."""
        *older, newest = self._segments
        for segment in older:
            if segment.pending == 0:
                segment.close(remove=True)
                self._segments.remove(segment)
        if newest.pending == 0 and newest.size:
            os.ftruncate(newest.fd, 0)
            newest.size = 0

    # -- recovery ------------------------------------------------------------------------------
    def recover(self) -> int:
        """Replay every journal in the directory whose owner is gone. Safe to run while other
        processes are live: their journals are locked and skipped."""
        added = 0
        own = {segment.path for segment in self._segments}
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            if path in own:
                continue
            try:
                fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a live process owns it
                records = list(_read_journal(path))
                for start in range(0, len(records), self.max_batch):
                    added += write_batch(self.db, records[start : start + self.max_batch])
                path.unlink()
                if records:
                    log.info("replayed %d usage records from %s", len(records), path.name)
            finally:
                os.close(fd)
        self.stats.recovered += added
        return added


def _read_journal(path: Path) -> Iterable[UsageRecord]:
    by_id: dict[str, UsageRecord] = {}
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.endswith(b"\n"):
                continue  # a torn last line: its write never completed, so no client saw its answer
            try:
                record = UsageRecord.from_line(line)
            except (ValueError, TypeError, KeyError):
                log.warning("skipping unreadable line %d of %s", number, path.name)
                continue
            by_id[record.request_id] = record
    return by_id.values()
