"""Metering benchmark: the usage ledger's write rate, and what metering plus quota add per request.

All in this process, in a temporary directory (nothing listens on a port):

1. Ledger throughput: `--records` prebuilt usage records through `Ledger.record()` from one
   producer loop while the writer thread group-commits them, until `flush()` (rows then counted).
   SQLite, and PostgreSQL (a fresh schema) with `--postgres URL`. Goal: >= 20,000 records/s.
2. Gateway path: the gateway's ASGI app driven directly, one non-streamed chat request at a time,
   against an engine that answers at once; without metering (no-op stand-ins) and with the real
   `Metering` (memory store; with `--redis URL` also Redis) and ledger on SQLite, in alternating
   blocks. Goal: metering + quota add <= 0.2 ms at p50 until the answer is sent.
3. `Metering.admit`, `Admission.record_answer`, `Admission.settle` called directly, per store.

    python bench/ledger.py [--quick] [--postgres postgresql://postgres@127.0.0.1:5432/test]
                           [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
from controlplane import percentile, platform_facts, progress, table
from processes import BenchError, Harness, interrupt_on_sigterm
from sqlalchemy import func, select

from maas.billing.ledger import Ledger
from maas.billing.meters import price_list
from maas.billing.records import Status, UsageRecord
from maas.controlplane.store import tables
from maas.controlplane.store.database import Database
from maas.gateway.app import Gateway, Runtime
from maas.gateway.directory import Directory
from maas.gateway.http import Exchange
from maas.gateway.metering import Metering
from maas.gateway.quota.base import Limits, open_quota_store
from maas.gateway.readmodel import BillingView, EndpointView
from maas.protocol.inference.chat import ChatCompletionsRequest
from maas.serving.engines.base import ModelSpec

METERS = (
    ("paygo-inference-input-tokens", "0.0001", "USD"),
    ("paygo-inference-output-tokens", "0.0002", "USD"),
)
PRICES = price_list({"meterId": m, "pricePer1K": p, "currency": c} for m, p, c in METERS)
UNLIMITED = Limits(requests_per_minute=10**9, tokens_per_minute=10**12)
MODEL = "/registries/bench/models/m/versions/1"
ANSWER = orjson.loads(
    b'{"id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "m", "choices":'
    b' [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}],'
    b' "usage": {"prompt_tokens": 64, "completion_tokens": 16, "total_tokens": 80}}'
)
PROMPT = "Summarise the plot of a short story about a lighthouse keeper in three sentences. " * 4
BODY = orjson.dumps({"messages": [{"role": "user", "content": PROMPT[:330]}], "max_tokens": 16})


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


# -- 1. ledger throughput --------------------------------------------------------------------------
def record_for(index: int, endpoint: str) -> UsageRecord:
    now, sub, offer = time.time(), endpoint.split("/")[2], "/providers/Microsoft.MaaS/offers/m"
    where = (sub, "bench-rg", "bench-ws", endpoint, MODEL, offer, "eastus2", "chat/completions")
    tokens = (50 + index % 200, index % 300)
    return UsageRecord(uuid.uuid4().hex, endpoint, *where, *tokens, PRICES, Status.SUCCEEDED, now - 0.1, now)


def endpoint_id(name: str) -> str:
    ws = "providers/Microsoft.MachineLearningServices/workspaces/bench-ws"
    return f"/subscriptions/{uuid.uuid4()}/resourceGroups/bench-rg/{ws}/serverlessEndpoints/{name}"


def ledger_row(label: str, url: str, directory: Path, count: int) -> list[str]:
    db = Database(url)
    db.migrate()
    endpoints = [endpoint_id(f"e{i}") for i in range(10)]
    records = [record_for(i, endpoints[i % len(endpoints)]) for i in range(count)]
    ledger = Ledger(db, directory)
    ledger.start()
    try:
        calls = [0.0] * count
        clock = time.perf_counter
        began = clock()
        for i, record in enumerate(records):
            start = clock()
            ledger.record(record)
            calls[i] = clock() - start
        produced = clock()
        if not ledger.flush(timeout=600):
            raise BenchError(f"{label}: the ledger did not commit {count} records within 600 s")
        done = clock()
    finally:
        ledger.stop()
    with db.read() as connection:
        stored = connection.execute(select(func.count()).select_from(tables.usage_records)).scalar_one()
    db.dispose()
    if stored != count:
        raise BenchError(f"{label}: {stored} rows in usage_records after {count} records")
    stats = ledger.stats
    rate = count / (done - began)
    mean_batch = stats.committed / max(1, stats.batches)
    us = (percentile(calls, 50) * 1e6, (produced - began) / count * 1e6)
    numbers = (count, rate, stats.batches, mean_batch, stats.largest_batch)
    cells = [*(f"{u:.1f}" for u in us), *(f"{n:,.0f}" for n in numbers)]
    return [label, *cells, ">= 20,000/s", verdict(rate >= 20_000)]


def postgres_schema(url: str) -> tuple[str, Callable[[], None]]:
    import psycopg

    admin = psycopg.connect(url, autocommit=True, connect_timeout=5)
    schema = f"maas_bench_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()

    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}", drop


# -- 2. and 3. the gateway path ------------------------------------------------------------------
def bench_view() -> EndpointView:
    endpoint = endpoint_id("bench")
    model = ModelSpec(MODEL, "m", "chat-completion", "bench", {}, None, 4096, {})
    billing = BillingView(endpoint.split("/")[2], "bench-rg", "bench-ws", endpoint, None, METERS, None, None)
    return EndpointView(endpoint, "bench", "eastus2", "Succeeded", "Online", "", "", model, billing)


class OneEndpoint:
    """The directory, reduced to one endpoint whose key is always right."""

    check_state = staticmethod(Directory.check_state)

    def __init__(self, view: EndpointView) -> None:
        self.view = view

    async def find(self, region: str, name: str) -> EndpointView:
        return self.view

    def check_key(self, view: EndpointView, key: str | None, *_: object) -> None:
        return None


class InstantEngine:
    """The pools and the engine: every chat request answered at once with the same answer."""

    def engine_for(self, spec: Any, region: str, tenant: str = "") -> InstantEngine:
        return self

    async def chat(self, request: Any, body: Any) -> dict[str, Any]:
        return dict(ANSWER)

    async def chat_stream(self, request: Any, body: Any) -> AsyncIterator[tuple[dict[str, Any], None]]:
        """The same answer as one chunk carrying its usage (the benchmark sends no streams)."""
        yield {**ANSWER, "object": "chat.completion.chunk"}, None


class NoMetering:
    """The gateway path without metering and quota: admit, peek, record and settle do nothing."""

    async def peek(self, *args: Any) -> None:
        return None

    async def admit(self, *args: Any) -> NoMetering:
        return self

    def record_answer(self, answer: dict[str, Any]) -> None:
        return None

    async def settle(self) -> None:
        return None


def scope_for(view: EndpointView) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"), (b"api-key", b"bench")]
    headers.append((b"content-length", str(len(BODY)).encode()))
    path = f"/endpoints/{view.region}/{view.name}/chat/completions"
    return {"type": "http", "method": "POST", "path": path, "headers": headers, "query_string": b""}


async def one_call(gateway: Gateway, scope: dict[str, Any], sink: list[float]) -> tuple[float, float]:
    """(seconds until the answer's last byte was handed to the server, seconds of the whole call)."""
    delivered = False
    status = 0
    answered = 0.0

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": BODY, "more_body": False}
        await asyncio.Event().wait()  # no disconnect: waits until cancelled
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, answered
        if message["type"] == "http.response.start":
            status = message["status"]
            sink.append(float(dict(message["headers"])[b"x-maas-overhead-ms"]))
        elif not message.get("more_body", False):
            answered = time.perf_counter()

    began = time.perf_counter()
    await gateway(scope, receive, send)
    ended = time.perf_counter()
    if status != 200:
        raise BenchError(f"the gateway answered {status}")
    return answered - began, ended - began


async def gateway_rows(
    variants: dict[str, Any], view: EndpointView, count: int, rounds: int
) -> list[list[str]]:
    scope = scope_for(view)
    gateways = {
        name: Gateway(lambda m=metering: Runtime(OneEndpoint(view), InstantEngine(), m))  # type: ignore[arg-type,misc]
        for name, metering in variants.items()
    }
    calls: dict[str, list[float]] = {name: [] for name in gateways}  # until answered, us
    whole: dict[str, list[float]] = {name: [] for name in gateways}  # the whole call (+ settle), us
    headers: dict[str, list[float]] = {name: [] for name in gateways}
    for gateway in gateways.values():  # warm-up
        for _ in range(min(count, 1000)):
            await one_call(gateway, scope, [])
    block = max(1, count // rounds)
    for _ in range(rounds):  # alternating blocks, so that drift hits every variant alike
        for name, gateway in gateways.items():
            for _ in range(block):
                answered, took = await one_call(gateway, scope, headers[name])
                calls[name].append(answered * 1e6)
                whole[name].append(took * 1e6)
    base = percentile(calls["without metering"], 50)
    rows = []
    for name in gateways:
        p50 = percentile(calls[name], 50)
        added = None if name == "without metering" else p50 - base
        figures = (p50, percentile(calls[name], 90), percentile(calls[name], 99), percentile(whole[name], 50))
        row = [name, f"{len(calls[name]):,}", *(f"{f:.1f}" for f in figures)]
        row.append(f"{percentile(headers[name], 50) * 1000:.1f}")
        goal = ("-", "-", "-") if added is None else (f"{added:+.1f}", "<= 200 us", verdict(added <= 200))
        rows.append([*row, *goal])
    return rows


async def step_row(label: str, metering: Metering, view: EndpointView, count: int) -> list[str]:
    request = ChatCompletionsRequest.model_validate_json(BODY)
    body = orjson.loads(BODY)
    scope = scope_for(view)
    steps: dict[str, list[float]] = {"admit": [], "record": [], "settle": [], "answered": [], "total": []}

    async def nothing() -> dict[str, Any]:
        return {}

    async def ignore(message: Any) -> None:
        return None

    for i in range(count + min(count, 1000)):
        exchange = Exchange(scope, nothing, ignore)
        t0 = time.perf_counter()
        admission = await metering.admit(exchange, view, "chat/completions", request, body)
        t1 = time.perf_counter()
        admission.record_answer(ANSWER)
        t2 = time.perf_counter()
        await admission.settle()
        t3 = time.perf_counter()
        if i >= min(count, 1000):  # after the warm-up
            for name, took in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t2 - t0, t3 - t0), strict=True):
                steps[name].append(took * 1e6)
    p50 = {name: percentile(values, 50) for name, values in steps.items()}
    figures = [p50["admit"], p50["record"], p50["settle"], p50["answered"], percentile(steps["answered"], 90)]
    figures += [p50["total"], percentile(steps["total"], 90)]
    return [label, f"{count:,}", *(f"{f:.1f}" for f in figures), "<= 200 us", verdict(p50["answered"] <= 200)]


async def gateway_part(args: argparse.Namespace, workdir: Path) -> tuple[list[list[str]], list[list[str]]]:
    db = Database(f"sqlite:///{workdir / 'gateway.db'}")
    db.migrate()
    ledger = Ledger(db, workdir / "gateway-ledger")
    ledger.start()
    stores = {"memory": open_quota_store("memory://")}
    if args.redis:
        stores["redis"] = open_quota_store(args.redis)
    view = bench_view()
    try:
        variants: dict[str, Any] = {"without metering": NoMetering()}
        variants.update(
            {f"metering + {name} quota": Metering(s, ledger, UNLIMITED) for name, s in stores.items()}
        )
        progress(f"gateway path: {args.calls:,} calls per variant in {args.rounds} alternating blocks")
        gateway = await gateway_rows(variants, view, args.calls, args.rounds)
        progress(f"admit + record + settle: {args.calls:,} calls per store")
        steps = [
            await step_row(name, Metering(s, ledger, UNLIMITED), view, args.calls)
            for name, s in stores.items()
        ]
    finally:
        for store in stores.values():
            await store.close()
        ledger.stop()
        db.dispose()
    return gateway, steps


# -- main ------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000, help="usage records per store (100,000)")
    parser.add_argument("--calls", type=int, default=20_000, help="gateway calls per variant (20,000)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating blocks per variant (5)")
    parser.add_argument("--postgres", metavar="URL", help="also the ledger on PostgreSQL (a fresh schema)")
    parser.add_argument("--redis", metavar="URL", help="also the Redis quota store (redis://host:port/db)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20,000 records, 4,000 calls")
    args = parser.parse_args(argv)
    if args.quick:
        args.records, args.calls = min(args.records, 20_000), min(args.calls, 4_000)
    if args.records < 1 or args.calls < 1 or args.rounds < 1:
        parser.error("--records, --calls and --rounds must be positive")
    return args


NOTES = """
- part 2: p50/p90/p99 until the answer's last byte is handed to the server (what a client waits for);
  whole p50: the whole ASGI call, with the settle that runs after the answer is sent; hdr p50: the
  x-maas-overhead-ms header (taken as the response starts); added p50: p50 minus the p50 without
  metering (the goal's measure)
- part 3: a+r = admit + record (before the answer: the goal's measure); a+r+s = with the settle
"""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    interrupt_on_sigterm()
    with Harness(args.keep, kept="temporary directory") as harness:
        workdir = harness.tempdir("maas-ledgerbench-")
        progress(f"ledger throughput on SQLite: {args.records:,} records")
        sqlite = f"sqlite:///{workdir / 'ledger.db'}"
        ledger = [ledger_row("sqlite", sqlite, workdir / "sqlite-ledger", args.records)]
        if args.postgres:
            progress(f"ledger throughput on PostgreSQL: {args.records:,} records")
            url, drop = postgres_schema(args.postgres)
            harness.stop_at_end(drop)
            ledger.append(ledger_row("postgresql", url, workdir / "pg-ledger", args.records))
        gateway, steps = asyncio.run(gateway_part(args, workdir))
    if harness.status:
        return harness.status
    print("\n1. Ledger throughput (record() from one producer, group commit until flushed)\n")
    header = ["store", "record() p50 us", "mean us", "records", "records/s", "batches", "mean batch"]
    header += ["largest", "goal", "result"]
    print(table(header, ledger))
    print("\n2. Gateway path, one non-streamed chat request at a time, instant engine (us per call)\n")
    header = ["variant", "calls", "p50", "p90", "p99", "whole p50", "hdr p50", "added p50", "goal", "result"]
    print(table(header, gateway))
    print("\n3. Metering steps called directly (us per call, p50 unless marked)\n")
    header = ["quota store", "calls", "admit", "record", "settle", "a+r", "a+r p90", "a+r+s", "a+r+s p90"]
    header += ["goal", "result"]
    print(table(header, steps))
    print(NOTES + f"- machine: {platform_facts()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
