"""The replica process: loads one engine and serves the frames of `frames.py` until its socket
closes.

Replicas are forked from a fork server that imported torch and transformers once at start-up
(`preload`), so a replica starts with them in memory and a cold start pays only the model load
(FACTS.md: the imports alone take ~3.5 s). Each request runs as its own task, so concurrent
requests reach the engine together and batch there. The replica exits when the gateway closes the
socket or dies (end of file), so no replica outlives its gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from contextlib import aclosing
from typing import Any

from maas.serving.engines.base import TENANT, Engine, ModelSpec, load_engine
from maas.serving.pool import operations
from maas.serving.pool.frames import Frame, chunk_frame, encode, error_frame, failure_text, read_frame

log = logging.getLogger("maas.replica")


def preload() -> None:
    """Run in the fork server before any replica is forked: import what every replica needs."""
    import importlib

    for name in (
        "torch",
        "transformers",
        "transformers.generation",
        "transformers.models.llama.modeling_llama",
        "maas.serving.engines.transformers_engine",
        "maas.serving.engines.wordllama_engine",
        "wordllama",
    ):
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    with contextlib.suppress(Exception):
        # transformers compiles ~950 weight-renaming regular expressions per load of a Llama
        # checkpoint; doing it here once halves a replica's load time (0.105 → 0.055 s measured)
        from transformers.conversion_mapping import get_checkpoint_conversion_mapping

        get_checkpoint_conversion_mapping("llama")  # type: ignore[no-untyped-call]


def noop() -> None:
    """A process that does nothing: starting one waits until the fork server has preloaded."""


def rss_bytes(pid: int | None = None) -> int:
    try:
        with open(f"/proc/{pid or os.getpid()}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def main(sock: socket.socket, spec: dict[str, Any], threads: int | None = None) -> None:
    """Entry point of a replica process (the target of `multiprocessing.Process`)."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s replica %(process)d %(message)s")
    if threads:
        with contextlib.suppress(Exception):
            import torch

            torch.set_num_threads(threads)
    asyncio.run(Replica(sock, ModelSpec(**spec)).run())


class Replica:
    def __init__(self, sock: socket.socket, spec: ModelSpec) -> None:
        self.sock = sock
        self.spec = spec
        self.engine: Engine | None = None
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.writer: asyncio.StreamWriter | None = None

    def send(self, frame: Frame) -> None:
        assert self.writer is not None
        if not self.writer.is_closing():
            self.writer.write(encode(frame))

    async def run(self) -> None:
        reader, self.writer = await asyncio.open_unix_connection(sock=self.sock)
        started = time.perf_counter()
        try:
            engine = load_engine(self.spec)
            await engine.start()
        except Exception as exc:
            self.send({"op": "failed", "message": failure_text(exc)})
            await self.writer.drain()
            return
        self.engine = engine
        self.send({"op": "ready", "rss": rss_bytes(), "load_seconds": time.perf_counter() - started})
        try:
            while (frame := await read_frame(reader)) is not None:
                rid = str(frame.get("id"))
                if frame.get("op") == "cancel":
                    task = self.tasks.get(rid)
                    if task is not None:
                        task.cancel()
                    continue
                self.tasks[rid] = asyncio.create_task(self.serve(rid, frame))
        finally:
            for task in list(self.tasks.values()):
                task.cancel()
            with contextlib.suppress(Exception):
                await engine.close()

    async def serve(self, rid: str, frame: Frame) -> None:
        assert self.engine is not None
        try:
            op = operations.operation(frame.get("op"))
            request, body, tenant = operations.unpack(op, frame)
            TENANT.set(tenant)  # this task's own context
            if op.streams:
                chunks = operations.stream(self.engine, op, request, body)
                async with aclosing(chunks) as stream:  # type: ignore[type-var]
                    async for item in stream:
                        self.send({"id": rid, **chunk_frame(item)})
                        await self._drain()
                self.send({"id": rid, "end": True})
            else:
                result = await operations.answer(self.engine, op, request, body)
                self.send({"id": rid, "result": result})
        except asyncio.CancelledError:
            pass  # the gateway cancelled it: nothing more to say
        except Exception as exc:
            if not hasattr(exc, "message"):
                log.exception("request %s failed", rid)
            self.send({"id": rid, "error": error_frame(exc)})
        finally:
            self.tasks.pop(rid, None)
            await self._drain()

    async def _drain(self) -> None:
        assert self.writer is not None
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()
