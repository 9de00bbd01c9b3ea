"""The gateway's side of one replica process: start it, send it requests, notice when it dies.

A reader task dispatches the replica's frames to the request that asked (one asyncio queue per
request in flight). When the socket reaches end of file the replica is gone (crash, out of
memory, kill -9): every request still in flight gets a clean 503 at once, never a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import multiprocessing
import os
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from enum import StrEnum
from multiprocessing import context as mp_context
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.context import set_spawning_popen
from typing import Any

from maas.core.errors import Unavailable
from maas.serving.engines.base import ModelSpec
from maas.serving.engines.usage import StreamChunk
from maas.serving.pool.backends.local import worker
from maas.serving.pool.frames import Frame, encode, raise_error, read_chunk, read_frame
from maas.serving.pool.model_pool import LoadFailed
from maas.serving.pool.operations import Operation

_GONE = object()  # put in every waiting request's queue when the replica is gone


class ReplicaState(StrEnum):
    STARTING = "Starting"
    READY = "Ready"
    STOPPING = "Stopping"
    EXITED = "Exited"


class ReplicaProcess:
    def __init__(self, ctx: Any, spec: ModelSpec, number: int, threads: int | None = None) -> None:
        self.id = f"r{number}"
        self.spec = spec
        self.state = ReplicaState.STARTING
        self.started_at = time.time()
        self.load_seconds: float | None = None
        self.rss = 0
        self.in_flight = 0
        self.tenants: Counter[str] = Counter()  # requests in flight per tenant (the pool keeps it)
        self.idle_since = time.monotonic()
        self.served = 0
        self._ctx = ctx
        self._threads = threads
        self._pending: dict[str, asyncio.Queue[Any]] = {}
        self._request_ids = itertools.count(1)
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self.process: Any = None
        self.exit_reason: str | None = None
        self.on_exit: Callable[[], None] | None = None  # the pool recounts its slots

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def start(self) -> None:
        """Fork the process and wait until its model is loaded (raises LoadFailed otherwise)."""
        parent, child = socket.socketpair()
        self.process = self._ctx.Process(
            target=worker.main,
            args=(child, _spec_dict(self.spec), self._threads),
            name=f"maas-replica-{self.spec.name}",
            daemon=True,
        )
        try:
            await asyncio.to_thread(self.process.start)
        finally:
            child.close()
        reader, self._writer = await asyncio.open_unix_connection(sock=parent)
        first = await read_frame(reader)
        if first is None or first.get("op") != "ready":
            self.state = ReplicaState.EXITED
            message = (
                str(first.get("message"))
                if first is not None
                else f"the replica process exited while loading ({await self._exit_text()})"
            )
            await self.stop()
            raise LoadFailed(message, code="model_load_failed")
        self.rss = int(first.get("rss") or 0)
        self.load_seconds = float(first.get("load_seconds") or 0.0)
        self.state = ReplicaState.READY
        self._reader_task = asyncio.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while (frame := await read_frame(reader)) is not None:
            queue = self._pending.get(str(frame.get("id")))
            if queue is not None:
                queue.put_nowait(frame)
        if self.state is not ReplicaState.STOPPING:
            self.exit_reason = await self._exit_text()
        self.state = ReplicaState.EXITED
        for queue in self._pending.values():
            queue.put_nowait(_GONE)
        if self.on_exit is not None:
            self.on_exit()

    async def _exit_text(self) -> str:
        if self.process is None:
            return "not started"
        await asyncio.to_thread(self.process.join, 2.0)
        code = self.process.exitcode
        if code is None:
            return "closed its channel"
        if code < 0:
            return f"killed by signal {-code}"
        return f"exit code {code}"

    @property
    def alive(self) -> bool:
        return self.state is ReplicaState.READY

    def _gone(self) -> Unavailable:
        return Unavailable(
            f"The replica serving this request stopped ({self.exit_reason or 'stopped'}); "
            "the request was not completed. Retry it.",
            code="replica_failed",
        )

    def _open(self, op: Operation, payload: Frame) -> tuple[str, asyncio.Queue[Any]]:
        if not self.alive or self._writer is None:
            raise self._gone()
        rid = str(next(self._request_ids))
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._pending[rid] = queue
        self.in_flight += 1
        self._writer.write(encode({"id": rid, "op": op, **payload}))
        return rid, queue

    def _close(self, rid: str, finished: bool) -> None:
        self._pending.pop(rid, None)
        self.in_flight -= 1
        self.served += 1
        if self.in_flight == 0:
            self.idle_since = time.monotonic()
        if not finished and self.alive and self._writer is not None:
            self._writer.write(encode({"id": rid, "op": "cancel"}))

    async def call(self, op: Operation, payload: Frame) -> dict[str, Any]:
        rid, queue = self._open(op, payload)
        finished = False
        try:
            frame = await queue.get()
            finished = True
            if frame is _GONE:
                raise self._gone()
            if "error" in frame:
                raise raise_error(frame["error"])
            result: dict[str, Any] = frame["result"]
            return result
        finally:
            self._close(rid, finished)

    async def stream(self, op: Operation, payload: Frame) -> AsyncIterator[StreamChunk]:
        rid, queue = self._open(op, payload)
        finished = False
        try:
            while True:
                frame = await queue.get()
                if frame is _GONE:
                    finished = True
                    raise self._gone()
                if "error" in frame:
                    finished = True
                    raise raise_error(frame["error"])
                if frame.get("end"):
                    finished = True
                    return
                yield read_chunk(frame)
        finally:
            self._close(rid, finished)

    async def stop(self) -> None:
        """Close the channel (the replica exits at end of file); kill it if it lingers."""
        if self.state is not ReplicaState.EXITED:
            self.state = ReplicaState.STOPPING
        if self._writer is not None:
            self._writer.close()
        if self.process is not None:
            await asyncio.to_thread(self.process.join, 3.0)
            if self.process.is_alive():
                self.process.kill()
                await asyncio.to_thread(self.process.join, 3.0)
        if self._reader_task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._reader_task, 3.0)
        self.state = ReplicaState.EXITED


def _spec_dict(spec: ModelSpec) -> dict[str, Any]:
    return asdict(spec)


class _Popen(popen_forkserver.Popen):
    """The fork server's Popen, minus re-running the parent's `__main__` in every replica.

    multiprocessing normally makes a child import the parent's main script (so functions defined
    there can be targets). A replica's target is `maas.serving.pool.backends.local.worker.main`,
    so that is pure cost — and wrong when the main script is not guarded by `if __name__ == "__main__"` (a
    benchmark, an embedding application). This is `popen_forkserver.Popen._launch` (Python 3.11)
    with the main-module entries left out of the preparation data.
    """

    def _launch(self, process_obj: Any) -> None:
        prep_data = {
            k: v
            for k, v in spawn.get_preparation_data(process_obj._name).items()
            if not k.startswith("init_main")
        }
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
        parent_w = os.dup(w)
        self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))  # type: ignore[attr-defined]
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _ReplicaProcess(mp_context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        return _Popen(process_obj)


class _Context:
    """A fork-server context whose processes do not re-import the parent's main script."""

    Process = _ReplicaProcess


def context(preload: bool = True) -> Any:
    """The context replicas are forked from: a fork server with torch and transformers imported."""
    if preload:
        multiprocessing.get_context("forkserver").set_forkserver_preload(
            ["maas.serving.pool.backends.local.warm"]
        )
    return _Context()
