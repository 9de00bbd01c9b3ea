"""LiteLLM proxy for `bench/gateway.py --with-litellm`: a pinned version in its own virtual
environment (never 1.82.7, 1.82.8 or 1.107.x), started against the same fake upstream."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
from controlplane import free_port, progress
from processes import HOST, BenchError, stop_process, tail

LITELLM_DEFAULT = "1.108.7"
UPSTREAM_MODEL = "fake-model"  # the model name the fake upstream and the benchmark body use


def litellm_forbidden(version: str) -> bool:
    """1.82.7 and 1.82.8 were trojaned on PyPI; 1.107.x was withdrawn."""
    return version in ("1.82.7", "1.82.8") or version.startswith("1.107.")


def _pip_versions(python: Path) -> list[str]:
    out = subprocess.run(
        [str(python), "-m", "pip", "index", "versions", "litellm"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    match = re.search(r"Available versions:\s*(.+)", out)
    return [v.strip() for v in match.group(1).split(",")] if match else []


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("."))


def litellm_venv(requested: str, cache_dir: Path) -> tuple[Path, str]:
    """A virtual environment with exactly one pinned litellm[proxy]; (its bin dir, the version)."""
    if litellm_forbidden(requested):
        raise BenchError(f"litellm {requested} is on the never-install list (1.82.7, 1.82.8, 1.107.x)")
    venv = cache_dir / f"litellm-{requested}"
    marker = venv / ".maas-bench-installed"
    if marker.is_file():
        return venv / "bin", marker.read_text().strip()
    cache_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(venv, ignore_errors=True)
    progress(f"LiteLLM: creating {venv}")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    available = _pip_versions(python)
    version = requested
    if available and requested not in available:
        same_minor = [
            v
            for v in available
            if v.startswith(requested.rsplit(".", 1)[0] + ".") and not litellm_forbidden(v) and "rc" not in v
        ]
        if not same_minor:
            shutil.rmtree(venv, ignore_errors=True)
            raise BenchError(
                f"litellm {requested} is not on the package index and no other {requested[:-2]}x is"
            )
        version = max(same_minor, key=_version_key)
        progress(f"LiteLLM: {requested} is not on the index; using {version} instead")
    progress(f"LiteLLM: pip install 'litellm[proxy]=={version}' (a minute or two)")
    log = cache_dir / f"litellm-{requested}-pip.log"
    with log.open("wb") as out:
        result = subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                f"litellm[proxy]=={version}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=900,
            check=False,
        )
    if result.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        raise BenchError(f"pip install litellm[proxy]=={version} failed:\n{tail(log)}")
    installed = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if litellm_forbidden(installed):
        shutil.rmtree(venv, ignore_errors=True)
        raise BenchError(f"pip installed litellm {installed}, which is on the never-install list")
    marker.write_text(installed)
    return venv / "bin", installed


class LiteLLM:
    """`litellm --config cfg.yaml` (one worker, no database) routed to the fake upstream."""

    def __init__(self, bin_dir: Path, workdir: Path, upstream_url: str) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.key = "sk-bench-" + secrets.token_hex(16)
        self.config = workdir / "litellm.yaml"
        self.log = workdir / "litellm.log"
        self.upstream_url = upstream_url
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 180.0) -> float:
        self.config.write_text(
            "model_list:\n"
            f"  - model_name: {UPSTREAM_MODEL}\n"
            "    litellm_params:\n"
            f"      model: openai/{UPSTREAM_MODEL}\n"
            f"      api_base: {self.upstream_url}\n"
            "      api_key: sk-upstream-unused\n"
            "general_settings:\n"
            f"  master_key: {self.key}\n"
        )
        env = {
            **os.environ,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch of the price list from the internet
            "LITELLM_LOG": "ERROR",
            "LITELLM_TELEMETRY": "False",
            "DISABLE_SCHEMA_UPDATE": "True",
        }
        for name in ("DATABASE_URL", "LITELLM_MASTER_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
            env.pop(name, None)
        cmd = [str(self.bin_dir / "litellm"), "--config", str(self.config), "--host", HOST]
        cmd += ["--port", str(self.port), "--num_workers", "1"]
        started = time.perf_counter()
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=5.0) as client:
            while True:
                if self.proc.poll() is not None:
                    raise BenchError(f"litellm exited with {self.proc.returncode}:\n{tail(self.log)}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/health/liveliness").status_code == 200:
                        return time.perf_counter() - started
                if time.monotonic() > deadline:
                    raise BenchError(f"litellm did not answer in {timeout:.0f}s:\n{tail(self.log)}")
                time.sleep(0.2)

    def stop(self) -> None:
        stop_process(self.proc)
