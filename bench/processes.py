"""Child processes of the benchmarks: the run harness around each benchmark's main(), waiting for a
port, log tails, stopping, CPU time."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

import psutil

HOST = "127.0.0.1"


class BenchError(Exception):
    """An unexpected answer from the server; the message carries the request and the response."""


# -- the run harness --------------------------------------------------------------------------------
class Service(Protocol):
    def stop(self) -> None: ...

    def log_tail(self) -> str: ...


S = TypeVar("S", bound=Service)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def interrupt_on_sigterm() -> None:
    """A kill (SIGTERM) cleans up like Ctrl-C."""
    signal.signal(signal.SIGTERM, _interrupt)


class Harness:
    """What a benchmark's main() does around its work, as `with Harness(args.keep) as harness:`.

    A BenchError prints FAILED, its message and the tail of the server's log (`serve`), and makes
    the exit status 1; Ctrl-C (or SIGTERM after `interrupt_on_sigterm`) prints "interrupted" (130).
    Either way, and after a success, what `serve` and `stop_at_end` registered is stopped, the last
    registered first, and the temporary directory (`tempdir`) is removed, or kept with `keep` and
    its path printed. The exit status is `harness.status` after the block (0: success)."""

    def __init__(self, keep: bool = False, kept: str = "data directory", log: str = "server log") -> None:
        self.keep = keep
        self.kept = kept  # how the kept directory is named
        self.log = log  # how the server's log is named
        self.workdir: Path | None = None
        self.server: Service | None = None
        self.status = 0
        self._stops: list[Callable[[], None]] = []

    def tempdir(self, prefix: str) -> Path:
        self.workdir = Path(tempfile.mkdtemp(prefix=prefix))
        return self.workdir

    def stop_at_end(self, stop: Callable[[], None]) -> None:
        self._stops.append(stop)

    def serve(self, server: S) -> S:
        """The server whose log tail a failure prints; stopped at the end."""
        self.server = server
        self.stop_at_end(server.stop)
        return server

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, traceback: object) -> bool:
        if isinstance(exc, BenchError):
            print(f"\nFAILED: {exc}", file=sys.stderr)
            if self.server is not None:
                print(f"\n--- {self.log} (tail) ---\n{self.server.log_tail()}", file=sys.stderr)
            self.status = 1
        elif isinstance(exc, KeyboardInterrupt):
            print("\ninterrupted", file=sys.stderr)
            self.status = 130
        for stop in reversed(self._stops):
            stop()
        if self.workdir is not None:
            if self.keep:
                print(f"{self.kept} kept: {self.workdir}")
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)
        return self.status != 0


# -- child processes ----------------------------------------------------------------------------------
def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise BenchError(f"{what} exited with {proc.returncode}:\n{tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        if time.monotonic() > deadline:
            raise BenchError(f"{what} did not listen on port {port} within {timeout:.0f}s:\n{tail(log)}")
        time.sleep(0.05)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_process(proc: subprocess.Popen[bytes] | None, grace: float = 10.0) -> None:
    """SIGTERM the process and its descendants, SIGKILL what is left after `grace` seconds."""
    if proc is None or proc.poll() is not None:
        return
    try:
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    for member in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(family, timeout=grace)
    for member in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)


def settled_cpu_seconds(pid: int, quiet: float = 0.002, limit: float = 5.0) -> float:
    """CPU seconds once the process has gone quiet (under `quiet` s of CPU per 0.2 s), or after
    `limit` seconds: work on requests still in flight is then counted whole."""
    deadline = time.monotonic() + limit
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = cpu_seconds(pid)
        if now - last < quiet:
            return now
        last = now
    return last


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, its waited-for children and its live descendants."""
    root = psutil.Process(pid)
    times = root.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in root.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            child_times = child.cpu_times()
            total += child_times.user + child_times.system
    return total
