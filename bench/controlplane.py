"""Control-plane benchmark: serverless endpoint create latency and listing latency.

Starts its own `maas serve` on 127.0.0.1 (a free port, a temporary data directory, a random
admin token), builds a world over HTTP (account, resource group, workspaces in eastus2, catalog
models `azureml://registries/bench/models/m{i}` each with a free FirstParty offer), then measures:

1. endpoint create -> Succeeded: from sending the PUT to the Azure-AsyncOperation status reading
   Succeeded, polled by the client every --poll-ms (default 5 ms); --concurrency threads;
2. listing with --list-endpoints endpoints present: the workspace's serverlessEndpoints first
   page, a full listing following nextLink, and the generic `/subscriptions/{s}/resources`
   listing filtered on the serverless endpoint type.

Model and offer setup is not timed as part of the measurements (its totals are shown for
information). Any unexpected HTTP status stops the run with the response printed and exit 1.

    python bench/controlplane.py --quick
    python bench/controlplane.py --concurrency 8
    python bench/controlplane.py --database-url postgresql://user:pw@127.0.0.1:5432/maas
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from processes import HOST, BenchError, Harness

ML = "Microsoft.MachineLearningServices"
ENDPOINT_TYPE = f"{ML}/workspaces/serverlessEndpoints"
API_VERSION = "2024-01-01-preview"
REGISTRY = "bench"
LOCATION = "eastus2"
T = TypeVar("T")


# -- the server ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Server:
    """`python -m maas serve` in a subprocess, its output going to a log file."""

    def __init__(self, data_dir: Path, database_url: str | None, token: str) -> None:
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.data_dir = data_dir
        self.log_path = data_dir / "server.log"
        self.database_url = database_url
        self.token = token
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def start(self, timeout: float = 60.0) -> None:
        cmd = [sys.executable, "-m", "maas", "serve", "--host", HOST, "--port", str(self.port)]
        cmd += ["--data-dir", str(self.data_dir)]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        env = {**os.environ, "MAAS_ADMIN_TOKEN": self.token}
        for name in ("MAAS_PUBLIC_URL", "MAAS_DATABASE_URL", "MAAS_TLS", "MAAS_PAGE_SIZE"):
            env.pop(name, None)  # the benchmark owns these choices
        # Benchmarks send far more than a deployment's 1,000 requests a minute: the quota still
        # runs on every request (its cost is part of what they measure) but does not bind.
        env.setdefault("MAAS_QUOTA_REQUESTS_PER_MINUTE", str(10**9))
        env.setdefault("MAAS_QUOTA_TOKENS_PER_MINUTE", str(10**12))
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while True:
                if self.proc.poll() is not None:
                    raise BenchError(f"the server exited with {self.proc.returncode}:\n{self.log_tail()}")
                try:
                    if client.get("/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise BenchError(
                        f"the server did not answer /health in {timeout:.0f}s:\n{self.log_tail()}"
                    )
                time.sleep(0.1)

    def stop(self, grace: float = 10.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=grace)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


# -- the HTTP client -----------------------------------------------------------------------------
class Api:
    """Admin-token requests to the benchmark's own server, one httpx.Client per thread."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"}
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(base_url=self.base_url, headers=self.headers, timeout=120.0)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()

    def _local_url(self, url: str) -> str:
        """An absolute URL the server handed out (operation, nextLink) must point back at it."""
        if url.startswith(("http://", "https://")) and not url.startswith(self.base_url + "/"):
            raise BenchError(f"the server returned a URL outside {self.base_url}: {url}")
        return url

    def request(
        self,
        method: str,
        url: str,
        body: Any = None,
        *,
        expect: Sequence[int] = (200,),
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        url = self._local_url(url)
        query = None if "api-version=" in url else {"api-version": API_VERSION, **(params or {})}
        response = self.client.request(method, url, json=body, params=query)
        if response.status_code not in expect:
            raise BenchError(
                f"{method} {response.request.url} answered {response.status_code} "
                f"(expected {', '.join(map(str, expect))})\n"
                f"headers: {dict(response.headers)}\nbody: {response.text[:4000]}"
            )
        return response

    def put(self, path: str, body: Any, expect: Sequence[int] = (200, 201)) -> httpx.Response:
        return self.request("PUT", path, body, expect=expect)

    def get(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        return self.request("GET", url, expect=(200,), params=params)


# -- the world -----------------------------------------------------------------------------------
@dataclass
class World:
    sub: str
    rg: str = "bench"
    tag: str = ""  # endpoint names are unique per region across every account: prefix them

    @property
    def sub_path(self) -> str:
        return f"/subscriptions/{self.sub}"

    @property
    def rg_path(self) -> str:
        return f"{self.sub_path}/resourceGroups/{self.rg}"

    def ws_path(self, ws: str) -> str:
        return f"{self.rg_path}/providers/{ML}/workspaces/{ws}"

    def endpoints_path(self, ws: str) -> str:
        return f"{self.ws_path(ws)}/serverlessEndpoints"

    def endpoint_name(self, kind: str, index: int) -> str:
        return f"{self.tag}-{kind}{index}"


def model_id(index: int) -> str:
    return f"azureml://registries/{REGISTRY}/models/m{index}"


def put_model(api: Api, index: int) -> None:
    artifact = {"kind": "openai-upstream", "url": "http://127.0.0.1:9/v1"}
    body = {"properties": {"artifact": artifact, "description": f"bench model {index}"}}
    api.put(f"/registries/{REGISTRY}/models/m{index}/versions/1", body)
    offer = {
        "properties": {
            "modelId": model_id(index),
            "publisherId": "bench",
            "kind": "FirstParty",
            "meters": [],
        }
    }
    api.put(f"/providers/Microsoft.MaaS/offers/bench-m{index}", offer)


def endpoint_body(model: str) -> dict[str, Any]:
    return {"properties": {"modelSettings": {"modelId": model}}, "sku": {"name": "Consumption"}}


def put_endpoint(api: Api, world: World, ws: str, name: str, model: str) -> str:
    """PUT one new serverless endpoint on a model id; returns its Azure-AsyncOperation URL."""
    response = api.put(f"{world.endpoints_path(ws)}/{name}", endpoint_body(model), expect=(201,))
    operation: str | None = response.headers.get("Azure-AsyncOperation")
    if not operation:
        raise BenchError(f"PUT {name} answered 201 without Azure-AsyncOperation: {dict(response.headers)}")
    return operation


def wait_succeeded(api: Api, operation: str, interval: float, timeout: float = 120.0) -> int:
    """Poll an operation until Succeeded; returns the number of polls."""
    deadline = time.monotonic() + timeout
    polls = 0
    while True:
        response = api.get(operation)
        polls += 1
        status = response.json().get("status")
        if status == "Succeeded":
            return polls
        if status != "InProgress":
            raise BenchError(f"operation {operation} ended {status}: {response.text[:4000]}")
        if time.monotonic() > deadline:
            raise BenchError(f"operation {operation} still InProgress after {timeout:.0f}s")
        time.sleep(interval)


# -- helpers -------------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def pool_map(fn: Callable[[T], Any], items: Iterable[T], workers: int) -> list[Any]:
    """Run fn over items in a thread pool; the first exception stops the run."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(fn, item) for item in items]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain text: the first column left-aligned, the others right-aligned, the last free text."""
    every = [header, *rows]
    widths = [max(len(row[i]) for row in every) for i in range(len(header) - 1)]
    lines = []
    for row in every:
        left = row[0].ljust(widths[0])
        middle = "  ".join(row[i].rjust(widths[i]) for i in range(1, len(widths)))
        lines.append(f"{left}  {middle}  {row[-1]}".rstrip())
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)


def platform_facts() -> str:
    return (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()} ({platform.machine()}), "
        f"{platform.system()} {platform.release()}"
    )


@dataclass
class Row:
    measurement: str
    n: int
    p50_ms: float | None
    p99_ms: float | None
    other: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add_latencies(self, measurement: str, seconds: Sequence[float], other: str = "") -> None:
        ms = [s * 1000 for s in seconds]
        self.rows.append(Row(measurement, len(ms), percentile(ms, 50), percentile(ms, 99), other))

    def render(self) -> str:
        def num(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f}"

        header = ("measurement", "n", "p50 ms", "p99 ms", "other")
        cells = [(r.measurement, str(r.n), num(r.p50_ms), num(r.p99_ms), r.other) for r in self.rows]
        return table(header, cells)


# -- the phases ----------------------------------------------------------------------------------
def setup_world(api: Api, world: World, workspaces: Sequence[str]) -> None:
    """The subscription (an account paying by CreditCard), its resource group and these workspaces."""
    billing = {"billingProfile": {"paymentMethod": "CreditCard", "offerType": "PayAsYouGo"}}
    api.put(world.sub_path, {"properties": billing})
    api.put(world.rg_path, {"location": LOCATION})
    for ws in workspaces:
        api.put(world.ws_path(ws), {"location": LOCATION})


def setup_models(api: Api, count: int, workers: int, report: Report) -> None:
    progress(f"catalog: {count} model versions + {count} FirstParty offers ({2 * count} PUTs, not timed)")
    elapsed, _ = timed(lambda: pool_map(lambda i: put_model(api, i), range(count), workers))
    report.notes.append(
        f"setup (untimed in the table): {count} model versions + {count} offers = {2 * count} PUTs "
        f"in {elapsed:.1f}s ({2 * count / elapsed:.0f} PUT/s, {workers} threads)"
    )
    progress(f"catalog ready in {elapsed:.1f}s")


def bench_create(
    api: Api, world: World, ws: str, count: int, concurrency: int, poll_s: float, report: Report
) -> None:
    progress(f"create -> Succeeded: {count} endpoints, concurrency {concurrency}, poll {poll_s * 1000:g} ms")
    put_times: list[float] = []
    lock = threading.Lock()

    def one(index: int) -> tuple[float, int]:
        start = time.perf_counter()
        operation = put_endpoint(api, world, ws, world.endpoint_name("c", index), model_id(index))
        put_done = time.perf_counter()
        polls = wait_succeeded(api, operation, poll_s)
        with lock:
            put_times.append(put_done - start)
        return time.perf_counter() - start, polls

    wall, results = timed(lambda: pool_map(one, range(count), concurrency))
    latencies = [r[0] for r in results]
    polls = [r[1] for r in results]
    ms = sorted(x * 1000 for x in latencies)
    other = (
        f"p90 {percentile(ms, 90):.1f} ms, max {ms[-1]:.1f} ms, {count / wall:.1f} creates/s, "
        f"concurrency {concurrency}, client poll every {poll_s * 1000:g} ms "
        f"(mean {sum(polls) / len(polls):.1f} polls/create)"
    )
    report.add_latencies("endpoint create -> Succeeded", latencies, other)
    report.add_latencies(
        "  of which the PUT itself (201)", put_times, f"{count} PUTs, same run, concurrency {concurrency}"
    )
    progress(f"create phase done: {wall:.1f}s, p50 {percentile(ms, 50):.1f} ms")


def bench_first_page(
    api: Api, path: str, repeats: int, params: dict[str, str] | None = None, expect_type: str | None = None
) -> tuple[list[float], dict[str, Any]]:
    times = []
    body: dict[str, Any] = {}
    api.get(path, params)  # warm-up, not counted
    for _ in range(repeats):
        start = time.perf_counter()
        response = api.get(path, params)
        times.append(time.perf_counter() - start)
        body = response.json()
    if expect_type is not None:
        wrong = [item.get("type") for item in body.get("value", []) if item.get("type") != expect_type]
        if wrong:
            raise BenchError(f"the filtered listing returned other types: {sorted(set(wrong))[:5]}")
    return times, body


def bulk_create(
    api: Api, world: World, workspaces: Sequence[str], per_ws: int, total: int, workers: int, report: Report
) -> None:
    plan = [(ws, j) for ws in workspaces for j in range(per_ws)][:total]
    progress(f"bulk create: {len(plan)} endpoints over {len(workspaces)} workspace(s), {workers} threads")
    put_times: list[float] = [0.0] * len(plan)
    operations: list[str] = [""] * len(plan)
    done = [0]
    lock = threading.Lock()
    step = max(1, len(plan) // 10)

    def one(k: int) -> None:
        ws, j = plan[k]
        start = time.perf_counter()
        name = world.endpoint_name(f"w{workspaces.index(ws)}-", j)
        operations[k] = put_endpoint(api, world, ws, name, model_id(j))
        put_times[k] = time.perf_counter() - start
        with lock:
            done[0] += 1
            if done[0] % step == 0:
                progress(f"  {done[0]}/{len(plan)} endpoint PUTs")

    elapsed, _ = timed(lambda: pool_map(one, range(len(plan)), workers))
    tenth = max(1, len(plan) // 10)
    first, last = put_times[:tenth], put_times[-tenth:]
    report.add_latencies(
        "bulk endpoint PUT (201, not awaited)",
        put_times,
        f"{elapsed:.1f}s total, {len(plan) / elapsed:.1f} PUT/s, {workers} threads; p50 first 10% "
        f"{percentile(first, 50) * 1000:.1f} ms vs last 10% {percentile(last, 50) * 1000:.1f} ms",
    )
    progress(f"bulk PUTs done in {elapsed:.1f}s; waiting for every operation to succeed")

    drain, _ = timed(lambda: pool_map(lambda op: wait_succeeded(api, op, 0.05, 600.0), operations, workers))
    report.notes.append(
        f"after the last bulk PUT, all {len(plan)} operations read Succeeded within {drain:.1f}s "
        "(reconciler catching up; polled every 50 ms)"
    )
    progress(f"all bulk operations Succeeded {drain:.1f}s after the last PUT")


def bench_full_listing(api: Api, path: str, expected: int, page_size: int | None, report: Report) -> None:
    params = {"$top": str(page_size)} if page_size else None
    page_times: list[float] = []
    names: set[str] = set()
    items = 0
    url: str | None = path
    start = time.perf_counter()
    while url is not None:
        t0 = time.perf_counter()
        body = api.get(url, params if url == path else None).json()
        page_times.append(time.perf_counter() - t0)
        for item in body.get("value", []):
            names.add(item["name"].lower())
            if item.get("properties", {}).get("provisioningState") != "Succeeded":
                raise BenchError(f"listed endpoint {item['name']} is not Succeeded: {item}")
        items += len(body.get("value", []))
        url = body.get("nextLink")
    total = time.perf_counter() - start
    if items != expected or len(names) != expected:
        raise BenchError(f"full listing returned {items} items ({len(names)} distinct), expected {expected}")
    report.add_latencies(
        "ws endpoints full listing (per page)",
        page_times,
        f"total {total:.2f}s, {len(page_times)} pages, {items} items, following nextLink",
    )


# -- main ----------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the MaaS control plane: endpoint create latency and listing latency. "
        "Starts its own server on 127.0.0.1.",
    )
    parser.add_argument(
        "--endpoints", type=int, default=200, help="endpoints timed create -> Succeeded (200)"
    )
    parser.add_argument("--concurrency", type=int, default=1, help="threads for the timed creates (1)")
    parser.add_argument(
        "--poll-ms", type=float, default=5.0, help="client poll interval of the operation (5)"
    )
    parser.add_argument(
        "--list-endpoints",
        type=int,
        default=10000,
        help="endpoints present for the listing benchmark (10000)",
    )
    parser.add_argument(
        "--list-workspaces",
        type=int,
        default=1,
        help="workspaces the listed endpoints are spread over (1: all in one workspace, the hardest "
        "listing case, needing as many models as endpoints)",
    )
    parser.add_argument(
        "--list-repeats", type=int, default=50, help="requests per first-page measurement (50)"
    )
    parser.add_argument(
        "--page-size", type=int, default=None, help="$top for the listings (server default 100)"
    )
    parser.add_argument("--setup-concurrency", type=int, default=8, help="threads for the bulk setup (8)")
    parser.add_argument(
        "--database-url", default=None, help="passed to `maas serve` (default SQLite in the temp dir)"
    )
    parser.add_argument("--skip-create", action="store_true", help="skip the create -> Succeeded benchmark")
    parser.add_argument("--skip-list", action="store_true", help="skip the listing benchmark")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary data directory (and server log)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 20 endpoints, 500 listed, 10 repeats"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.endpoints = min(args.endpoints, 20)
        args.list_endpoints = min(args.list_endpoints, 500)
        args.list_repeats = min(args.list_repeats, 10)
    for name in ("endpoints", "concurrency", "list_endpoints", "list_workspaces", "list_repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.poll_ms <= 0:
        parser.error("--poll-ms must be positive")
    if args.page_size is not None and not 1 <= args.page_size <= 1000:
        parser.error("--page-size must be 1..1000")
    return args


def run(args: argparse.Namespace, server: Server, report: Report) -> None:
    api = Api(server.base_url, server.token)
    world = World(sub=str(uuid.uuid4()), tag=f"b{secrets.token_hex(3)}")
    per_ws = math.ceil(args.list_endpoints / args.list_workspaces)
    list_ws = [f"list{i}" for i in range(args.list_workspaces)] if not args.skip_list else []
    create_ws = "create"
    try:
        setup_world(api, world, [create_ws, *list_ws])
        models = max(0 if args.skip_create else args.endpoints, 0 if args.skip_list else per_ws)
        setup_models(api, models, args.setup_concurrency, report)

        if not args.skip_create:
            bench_create(api, world, create_ws, args.endpoints, args.concurrency, args.poll_ms / 1000, report)
            times, _ = bench_first_page(api, world.endpoints_path(create_ws), args.list_repeats)
            report.add_latencies(
                f"ws endpoints first page ({args.endpoints} present)",
                times,
                "for comparison with the big listing",
            )

        if not args.skip_list:
            bulk_create(api, world, list_ws, per_ws, args.list_endpoints, args.setup_concurrency, report)
            in_first = min(per_ws, args.list_endpoints)
            page_params = {"$top": str(args.page_size)} if args.page_size else None
            progress("listing benchmarks")
            times, body = bench_first_page(
                api, world.endpoints_path(list_ws[0]), args.list_repeats, page_params
            )
            report.add_latencies(
                f"ws endpoints first page ({in_first} in ws)",
                times,
                f"{len(body['value'])} items/page, nextLink {'yes' if body.get('nextLink') else 'no'}",
            )
            bench_full_listing(api, world.endpoints_path(list_ws[0]), in_first, args.page_size, report)
            generic = {"$filter": f"resourceType eq '{ENDPOINT_TYPE}'", **(page_params or {})}
            present = args.list_endpoints + (0 if args.skip_create else args.endpoints)
            times, body = bench_first_page(
                api, f"{world.sub_path}/resources", args.list_repeats, generic, ENDPOINT_TYPE
            )
            report.add_latencies(
                f"sub /resources?$filter first page ({present} in sub)",
                times,
                f"{len(body['value'])} items/page, resourceType eq serverlessEndpoints",
            )
            layout = (
                f"{args.list_endpoints} endpoints in 1 workspace ({per_ws} models)"
                if args.list_workspaces == 1
                else f"{args.list_endpoints} endpoints over {args.list_workspaces} workspaces x "
                f"{per_ws} models; workspace listings are of 'list0' ({in_first} endpoints)"
            )
            report.notes.append(f"listing layout: {layout}, one resource group, region {LOCATION}")
        if not args.skip_create:
            report.notes.append(
                f"create layout: {args.endpoints} endpoints in workspace '{create_ws}', one model each"
            )
    finally:
        api.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = Report()
    scheme = (args.database_url or "sqlite://").split(":", 1)[0]
    with Harness(args.keep) as harness:
        data_dir = harness.tempdir("maas-bench-")
        server = harness.serve(Server(data_dir, args.database_url, secrets.token_urlsafe(32)))
        progress(f"starting maas serve on {server.base_url} (data dir {data_dir}, database {scheme})")
        server.start()
        started = time.perf_counter()
        run(args, server, report)
        report.notes.append(f"benchmark wall time (after server start): {time.perf_counter() - started:.1f}s")
    if harness.status:
        return harness.status

    print()
    print(report.render())
    print()
    for note in report.notes:
        print(f"- {note}")
    print(
        f"- machine: {platform_facts()}; database URL scheme: {scheme}; client and server share the machine"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
