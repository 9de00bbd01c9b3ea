"""Run a real `maas serve` in a subprocess for end-to-end and contract tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class RunningServer:
    url: str
    token: str
    data_dir: Path
    ca_bundle: Path | None
    log: Path | None = None  # the server's stdout and stderr

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            verify=str(self.ca_bundle) if self.ca_bundle else True,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )


@contextmanager
def running_server(
    data_dir: Path,
    *,
    tls: bool = False,
    token: str | None = "e2e-admin-token-0123456789",
    extra_env: dict[str, str] | None = None,
    extra_args: Sequence[str] = (),
    start_timeout: float = 60.0,
) -> Iterator[RunningServer]:
    port = free_port()
    args = [sys.executable, "-m", "maas", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    args.extend(extra_args)
    if tls:
        args.append("--tls")
    env = {**os.environ, **(extra_env or {})}
    if token is not None:
        env["MAAS_ADMIN_TOKEN"] = token  # None: the server generates one in <data-dir>/admin-token
    log = data_dir.parent / f"server-{port}.log"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    scheme = "https" if tls else "http"
    server = RunningServer(
        f"{scheme}://127.0.0.1:{port}",
        token or "generated",  # read from <data-dir>/admin-token once the server answers
        data_dir,
        data_dir / "tls" / "ca.pem" if tls else None,
        log,
    )
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"maas serve exited with {process.returncode}:\n{log.read_text()}")
            try:
                with server.client() as client:
                    if client.get("/health").status_code == 200:
                        break
            except (httpx.HTTPError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"maas serve did not answer in {start_timeout:g} s:\n{log.read_text()}")
            time.sleep(0.1)
        if token is None:
            server = replace(server, token=(data_dir / "admin-token").read_text().strip())
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
