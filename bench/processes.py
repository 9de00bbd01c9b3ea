"""Child processes of the benchmarks: waiting for a port, log tails, stopping, CPU time."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil
from controlplane import BenchError

HOST = "127.0.0.1"


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
