"""Gateway benchmark: what MaaS's data plane adds on top of an OpenAI-compatible upstream.

Starts a fast fake OpenAI upstream (`bench/fake_upstream.py`, its own process) and its own
`maas serve` on 127.0.0.1 (a free port, SQLite in a temporary directory, a random admin token),
builds a world over HTTP (account, resource group, workspace in eastus2, a catalog model whose
artifact is `{"kind": "openai-upstream", "url": <the fake>}` with a FirstParty offer, one
serverless endpoint) and reads the endpoint's Target URI and key. Then, for each concurrency in
--concurrency (1, 8, 64), for --duration seconds (10) after a short warm-up, it loads:

1. the upstream directly (`POST /v1/chat/completions`, no relay);
2. the same route through MaaS (`{Target URI}/chat/completions` with the `api-key` header);
3. with --with-litellm, a LiteLLM proxy routed to the same upstream (its own virtual environment
   under ~/.cache/maas-bench, an exact pinned version, one worker, no database, master key).

It reports requests/s, p50 and p99 latency, the p50 added over the direct run, the CPU time the
server under test spent per request (psutil, user + system of the process and its children,
read before and after each run: for the direct rows that is the fake upstream's own cost), and
the mean `x-maas-overhead-ms` (or LiteLLM's `x-litellm-overhead-duration-ms`) of requests
sampled while the load runs. The load generator is `wrk` (Debian package `wrk`) when installed,
else a built-in asyncio/aiohttp one (slower: it is Python, and it says so). Everything runs on
loopback and everything it started is stopped at the end, on errors and Ctrl-C too.

    python bench/gateway.py --quick
    python bench/gateway.py --with-litellm
    python bench/gateway.py --concurrency 1,64 --duration 20 --loadgen python
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
from controlplane import Api, Server, free_port, percentile, platform_facts, progress
from litellm_proxy import LITELLM_DEFAULT, UPSTREAM_MODEL, LiteLLM, litellm_forbidden, litellm_venv
from processes import (
    HOST,
    BenchError,
    Harness,
    interrupt_on_sigterm,
    settled_cpu_seconds,
    stop_process,
    wait_port,
)
from serverless import Account, create_endpoint, register_model

BENCH_DIR = Path(__file__).resolve().parent
REGISTRY = "gwbench"
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "maas-bench"
BODY = orjson.dumps(
    {
        "model": UPSTREAM_MODEL,
        "messages": [{"role": "user", "content": "Say hello in five words."}],
        "max_tokens": 16,
    }
)


class Upstream:
    """bench/fake_upstream.py in its own process."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}/v1"
        self.log = workdir / "upstream.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [sys.executable, str(BENCH_DIR / "fake_upstream.py"), "--host", HOST, "--port", str(self.port)]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        wait_port(self.port, self.proc, "the fake upstream", 30, self.log)

    def stop(self) -> None:
        stop_process(self.proc)


# -- the MaaS world ------------------------------------------------------------------------------
def setup_maas(api: Api, upstream_url: str) -> tuple[str, str]:
    """Account, resource group, workspace, model + FirstParty offer, endpoint; (Target URI, key)."""
    account = Account.create(api, "g")
    account.workspace(api, "gateway")
    artifact = {"kind": "openai-upstream", "url": upstream_url, "upstreamModel": UPSTREAM_MODEL}
    meters = [
        {"meterId": "paygo-inference-input-tokens", "pricePer1K": 0.0001, "currency": "USD"},
        {"meterId": "paygo-inference-output-tokens", "pricePer1K": 0.0002, "currency": "USD"},
    ]
    model_id = register_model(api, REGISTRY, "relay", artifact, description="gateway bench", meters=meters)
    world = account.world
    endpoint = create_endpoint(api, world, "gateway", world.endpoint_name("relay", 0), model_id, poll=0.02)
    if not endpoint.uri.startswith(api.base_url + "/"):
        raise BenchError(
            f"the Target URI {endpoint.uri} does not point at the benchmark's server {api.base_url}"
        )
    return endpoint.uri, endpoint.key


# -- load generation -----------------------------------------------------------------------------
@dataclass
class Target:
    name: str
    url: str
    headers: dict[str, str]
    pid: int | None  # the process whose CPU is charged to this target
    overhead_header: str | None = None


@dataclass
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    abandoned: int = 0  # requests still in flight when the generator stopped (wrk: one per connection)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [[{body}]]
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("MAAS-BENCH %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout + e.status, latency:percentile(50), latency:percentile(99)))
end
"""


def run_wrk(target: Target, concurrency: int, seconds: float, threads: int, workdir: Path) -> Load:
    headers = {"Content-Type": "application/json", **target.headers}
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    script = workdir / "post.lua"
    script.write_text(WRK_SCRIPT.format(body=BODY.decode(), headers=lines))
    cmd = [
        "wrk",
        f"-t{max(1, min(threads, concurrency))}",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
    ]
    cmd += ["--timeout", "10s", "--latency", "-s", str(script), target.url]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    match = re.search(r"MAAS-BENCH (\d+) (\d+) (\d+) (\d+) (\d+)", result.stdout)
    if result.returncode != 0 or match is None:
        raise BenchError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    requests, duration_us, errors, p50_us, p99_us = (int(g) for g in match.groups())
    return Load(requests, duration_us / 1e6, p50_us / 1000, p99_us / 1000, errors, concurrency)


async def _python_load(target: Target, concurrency: int, seconds: float) -> Load:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    headers = {"Content-Type": "application/json", **target.headers}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while (started := time.perf_counter()) < deadline:
                try:
                    async with session.post(target.url, data=BODY, headers=headers) as response:
                        await response.read()
                        ok = response.status < 300
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

        begin = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - begin
    ms = [x * 1000 for x in latencies]
    return Load(len(ms) + errors, elapsed, percentile(ms, 50), percentile(ms, 99), errors)


def run_python(target: Target, concurrency: int, seconds: float) -> Load:
    return asyncio.run(_python_load(target, concurrency, seconds))


class OverheadSampler:
    """While a run goes on, sends `count` extra requests spread over it and reads a header."""

    def __init__(self, target: Target, count: int, seconds: float) -> None:
        self.target = target
        self.count = count if target.overhead_header else 0
        self.interval = seconds / (count + 1) if count else 0.0
        self.values: list[float] = []
        self.sent = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> OverheadSampler:
        if self.count:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        headers = {"Content-Type": "application/json", **self.target.headers}
        with httpx.Client(timeout=30.0) as client:
            for _ in range(self.count):
                if self._stop.wait(self.interval):
                    return
                self.sent += 1
                try:
                    response = client.post(self.target.url, content=BODY, headers=headers)
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                    continue
                value = response.headers.get(self.target.overhead_header or "")
                if response.status_code != 200:
                    self.failures.append(f"{response.status_code} {response.text[:200]}")
                elif value is not None:
                    with contextlib.suppress(ValueError):
                        self.values.append(float(value))


@dataclass
class Result:
    target: str
    concurrency: int
    load: Load
    cpu_ms: float | None
    overhead_ms: float | None
    samples: int


def measure(
    target: Target, concurrency: int, args: argparse.Namespace, workdir: Path, loadgen: str
) -> Result:
    if args.warmup > 0:
        load_once(target, concurrency, args.warmup, args, workdir, loadgen)
    cpu_before = settled_cpu_seconds(target.pid) if target.pid else None
    with OverheadSampler(target, args.overhead_samples, args.duration) as sampler:
        load = load_once(target, concurrency, args.duration, args, workdir, loadgen)
    cpu_after = settled_cpu_seconds(target.pid) if target.pid else None
    if sampler.failures:
        raise BenchError(f"{target.name}: sampled requests failed: {sampler.failures[:3]}")
    # The CPU window also covers the requests wrk left in flight when it stopped: count them.
    handled = load.requests + load.abandoned + sampler.sent
    cpu_ms = None
    if cpu_before is not None and cpu_after is not None and handled:
        cpu_ms = (cpu_after - cpu_before) * 1000 / handled
    overhead = sum(sampler.values) / len(sampler.values) if sampler.values else None
    return Result(target.name, concurrency, load, cpu_ms, overhead, len(sampler.values))


def load_once(
    target: Target, concurrency: int, seconds: float, args: argparse.Namespace, workdir: Path, loadgen: str
) -> Load:
    if loadgen == "wrk":
        return run_wrk(target, concurrency, seconds, args.wrk_threads, workdir)
    return run_python(target, concurrency, seconds)


def check_target(target: Target) -> dict[str, str]:
    """One request must answer 200 with a chat.completion; returns its headers."""
    headers = {"Content-Type": "application/json", **target.headers}
    response = httpx.post(target.url, content=BODY, headers=headers, timeout=60.0)
    if response.status_code != 200 or response.json().get("object") != "chat.completion":
        raise BenchError(f"{target.name}: POST {target.url} answered {response.status_code}: {response.text}")
    return dict(response.headers)


# -- the report ----------------------------------------------------------------------------------
def render(results: list[Result]) -> str:
    direct = {r.concurrency: r.load.p50_ms for r in results if r.target == "direct"}

    def num(value: float | None, digits: int = 3) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    header = (
        "target",
        "conc",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "added p50 ms",
        "CPU ms/req",
        "overhead hdr ms",
        "errors",
    )
    rows = [header]
    for r in results:
        base = direct.get(r.concurrency)
        added = None if r.target == "direct" or base is None else r.load.p50_ms - base
        rows.append(
            (
                r.target,
                str(r.concurrency),
                str(r.load.requests),
                f"{r.load.rps:,.0f}",
                num(r.load.p50_ms),
                num(r.load.p99_ms),
                ("+" if added is not None and added >= 0 else "") + num(added),
                num(r.cpu_ms),
                f"{num(r.overhead_ms)} (n={r.samples})" if r.overhead_ms is not None else "-",
                str(r.load.errors),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def summary(results: list[Result]) -> list[str]:
    by = {(r.target, r.concurrency): r for r in results}
    notes = []
    concurrencies = sorted({r.concurrency for r in results})
    if any(r.target == "litellm" for r in results):
        for c in concurrencies:
            maas, lite = by.get(("maas", c)), by.get(("litellm", c))
            if maas and lite and lite.load.rps:
                cpu = (
                    f", CPU/req LiteLLM/MaaS = {lite.cpu_ms / maas.cpu_ms:.1f}x"
                    if maas.cpu_ms and lite.cpu_ms
                    else ""
                )
                notes.append(
                    f"concurrency {c}: req/s MaaS/LiteLLM = {maas.load.rps / lite.load.rps:.1f}x{cpu}"
                )
    maas_cpu = [r.cpu_ms for r in results if r.target == "maas" and r.cpu_ms is not None]
    if maas_cpu:
        worst = max(maas_cpu)
        notes.append(
            f"goal gateway CPU <= 0.5 ms/req: worst MaaS row {worst:.3f} ms -> {verdict(worst <= 0.5)}"
        )
    maas1, direct1 = by.get(("maas", 1)), by.get(("direct", 1))
    if maas1 and direct1:
        added = maas1.load.p50_ms - direct1.load.p50_ms
        notes.append(f"goal added p50 <= 0.6 ms at concurrency 1: +{added:.3f} ms -> {verdict(added <= 0.6)}")
    maas64, lite64 = by.get(("maas", 64)), by.get(("litellm", 64))
    if maas64 and lite64 and lite64.load.rps:
        ratio = maas64.load.rps / lite64.load.rps
        notes.append(f"goal >= 25x LiteLLM req/s at concurrency 64: {ratio:.1f}x -> {verdict(ratio >= 25)}")
    return notes


# -- main ----------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the MaaS gateway against a fake OpenAI upstream: direct, through MaaS, "
        "and (--with-litellm) through a LiteLLM proxy. Starts everything itself on 127.0.0.1.",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per row (10)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each row (1)")
    parser.add_argument("--concurrency", default="1,8,64", help="comma-separated connection counts (1,8,64)")
    parser.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator: wrk when installed (auto), or the built-in asyncio/aiohttp one",
    )
    parser.add_argument(
        "--wrk-threads", type=int, default=min(2, os.cpu_count() or 1), help="wrk threads (min(2, CPUs))"
    )
    parser.add_argument(
        "--overhead-samples",
        type=int,
        default=20,
        help="requests per row sampled for the overhead header (20)",
    )
    parser.add_argument("--with-litellm", action="store_true", help="also measure a LiteLLM proxy")
    parser.add_argument(
        "--litellm-version",
        default=LITELLM_DEFAULT,
        help=f"exact litellm version for --with-litellm ({LITELLM_DEFAULT}; never 1.82.7, 1.82.8, 1.107.x)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=CACHE_DIR,
        help=f"where LiteLLM's virtual environment lives ({CACHE_DIR})",
    )
    parser.add_argument("--skip-direct", action="store_true", help="skip the direct-to-upstream rows")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, database)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 2 s per row, 0.5 s warm-up, 5 samples"
    )
    args = parser.parse_args(argv)
    try:
        args.concurrencies = [int(c) for c in args.concurrency.split(",") if c.strip()]
    except ValueError:
        parser.error("--concurrency takes comma-separated integers, e.g. 1,8,64")
    if not args.concurrencies or min(args.concurrencies) < 1:
        parser.error("--concurrency needs positive integers")
    if args.quick:
        args.duration = min(args.duration, 2.0)
        args.warmup = min(args.warmup, 0.5)
        args.overhead_samples = min(args.overhead_samples, 5)
    if args.duration <= 0 or args.warmup < 0 or args.overhead_samples < 0 or args.wrk_threads < 1:
        parser.error(
            "--duration must be positive; --warmup, --overhead-samples and --wrk-threads not negative"
        )
    if litellm_forbidden(args.litellm_version):
        parser.error(f"litellm {args.litellm_version} must never be installed (1.82.7, 1.82.8, 1.107.x)")
    return args


def choose_loadgen(requested: str) -> str:
    if requested == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if requested == "wrk" and not shutil.which("wrk"):
        raise BenchError("--loadgen wrk: wrk is not installed (Debian: apt-get install -y wrk)")
    return requested


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    interrupt_on_sigterm()
    results: list[Result] = []
    notes: list[str] = []
    with Harness(args.keep, kept="temporary directory", log="maas server log") as harness:
        workdir = harness.tempdir("maas-gwbench-")
        token = secrets.token_urlsafe(32)
        upstream = Upstream(workdir)
        harness.stop_at_end(upstream.stop)
        server = harness.serve(Server(workdir, None, token))
        loadgen = choose_loadgen(args.loadgen)
        if loadgen == "wrk":
            version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
            first = (version.stdout or version.stderr).splitlines()[:1]
            notes.append(f"load generator: {first[0] if first else 'wrk'}, {args.wrk_threads} thread(s)")
        else:
            notes.append("load generator: built-in asyncio/aiohttp (wrk not used; it is slower than wrk)")
        progress(notes[-1])

        bin_dir = None
        if args.with_litellm:
            bin_dir, litellm_version = litellm_venv(args.litellm_version, args.cache_dir)
            progress(f"LiteLLM {litellm_version} in {bin_dir.parent}")

        upstream.start()
        progress(f"fake upstream on {upstream.url} (pid {upstream.proc.pid if upstream.proc else '?'})")
        progress(f"starting maas serve on {server.base_url} (data dir {workdir})")
        server.start()
        api = Api(server.base_url, token)
        try:
            uri, key = setup_maas(api, upstream.url)
        finally:
            api.close()
        progress(f"endpoint ready: {uri}")

        targets = []
        if not args.skip_direct:
            targets.append(
                Target(
                    "direct",
                    f"{upstream.url}/chat/completions",
                    {},
                    upstream.proc.pid if upstream.proc else None,
                )
            )
        assert server.proc is not None
        targets.append(
            Target("maas", f"{uri}/chat/completions", {"api-key": key}, server.proc.pid, "x-maas-overhead-ms")
        )
        if bin_dir is not None:
            litellm = LiteLLM(bin_dir, workdir, upstream.url)
            harness.stop_at_end(litellm.stop)
            progress("starting LiteLLM proxy (about 10 s)")
            took = litellm.start()
            assert litellm.proc is not None
            targets.append(
                Target(
                    "litellm",
                    f"{litellm.base_url}/v1/chat/completions",
                    {"Authorization": f"Bearer {litellm.key}"},
                    litellm.proc.pid,
                    "x-litellm-overhead-duration-ms",
                )
            )
            notes.append(
                f"LiteLLM proxy {litellm_version}: 1 worker, no database, master key; ready after {took:.1f}s"
            )

        for target in targets:
            headers = check_target(target)
            if target.name == "maas" and "x-maas-overhead-ms" not in headers:
                raise BenchError("the MaaS response carries no x-maas-overhead-ms header")

        for concurrency in args.concurrencies:
            for target in targets:
                progress(f"{target.name}: concurrency {concurrency}, {args.duration:g}s")
                result = measure(target, concurrency, args, workdir, loadgen)
                results.append(result)
                progress(
                    f"  {result.load.rps:,.0f} req/s, p50 {result.load.p50_ms:.3f} ms, "
                    f"p99 {result.load.p99_ms:.3f} ms, errors {result.load.errors}"
                )
    if harness.status:
        return harness.status

    print()
    print(render(results))
    print()
    for note in summary(results) + notes:
        print(f"- {note}")
    print(
        "- columns: added p50 = p50 minus the direct p50 at the same concurrency; CPU ms/req = CPU "
        "time of the server under test (direct: the fake upstream itself; maas: the `maas serve` "
        "process; litellm: the proxy and its workers), read when it is idle again after the run, divided "
        "by the requests answered plus those left in flight at the end; overhead hdr = mean "
        "x-maas-overhead-ms (litellm: x-litellm-overhead-duration-ms) of requests sampled during the run"
    )
    print(
        f"- every row: POST /chat/completions, {len(BODY)}-byte body, {args.duration:g}s after "
        f"{args.warmup:g}s warm-up, keep-alive connections, loopback; load generator, upstream and "
        "server share the machine"
    )
    print(f"- machine: {platform_facts()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
