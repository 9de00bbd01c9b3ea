"""Fairness benchmark: a quiet tenant's latency while another tenant floods the same model pool.

Starts its own `maas serve` on 127.0.0.1 (server defaults for the pool unless --max-replicas or
--max-concurrency are given) and builds two accounts, i.e. two Azure subscriptions, A and B. Each
has a workspace subscribed to the marketplace offer of `maas-tiny-chat` and an endpoint on it;
A has a second workspace and endpoint ("A2") for the contrast below. All three endpoints use the
same model version in the same region, so they share one pool; the pool's fair queue keys its
tenants by subscription.

1. solo: B sends --requests sequential non-streamed chat requests (max_tokens --max-tokens,
   temperature 0) to its endpoint, nothing else running: latency p50/p90;
2. flood, fair queueing: A runs --flood concurrent streamed requests (max_tokens --flood-tokens,
   sampled at --flood-temperature 1.0, so that answers are long and of varied length) in a loop
   (more than the pool's slots, maxReplicas x maxConcurrency, so a queue forms); after --ramp
   seconds (and no replica still starting) B sends the same sequential requests; B's
   p50/p90 over solo is the ratio (goal <= 2x); A's throughput is counted over B's window;
3. flood, one queue (fairness defeated): the same, with B's requests sent to A2, an endpoint of A's
   own subscription, so they queue behind A's flood as one tenant: what fair queueing buys.

Each flood phase stops after --requests of B or --phase-seconds, whichever comes first. The
pools API is sampled during each phase (replicas, queue depth). Client and server share the
machine, so the load generator's own CPU counts against the server.

    python bench/fairness.py --quick
    python bench/fairness.py
    python bench/fairness.py --max-replicas 1 --b-stream
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from controlplane import Api, Server, percentile, progress, table
from processes import BenchError, Harness, interrupt_on_sigterm
from serverless import (
    CHAT_MODEL,
    POOLS,
    Account,
    Endpoint,
    chat,
    chat_body,
    cpu_mark,
    machine,
    others_cpu,
    pool_of,
    session,
    start_server,
)

B_PROMPT = "What does the word ocean mean? Answer in one sentence."
A_PROMPT = "Explain Python classes, modules, functions, loops and exceptions in detail."
TINY = "maas-tiny-chat"
GOAL = 2.0


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)  # B's, seconds
    ttfts: list[float] = field(default_factory=list)  # B's, with --b-stream
    b_tokens: list[int] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # B's 503/429 error codes (in latencies too)
    wall: float = 0.0
    a_chunks: int = 0  # A's content chunks received during B's window
    a_done: int = 0  # A's streams completed during B's window
    a_tokens: int = 0  # completion_tokens of those streams
    a_errors: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)  # pools API during B's window
    others: float = 0.0  # CPUs used by processes not ours during B's window


class Flood:
    """Tenant A: `streams` workers, each sending streamed requests back to back until stopped.

    Its requests are sampled (temperature --flood-temperature, 1.0), which makes the shipped model
    write long answers of varied length (greedy, it stops after ~45 tokens on this prompt), and
    worker i starts i x stagger / streams seconds after the first, so that A's requests do not all
    end at the same step."""

    def __init__(
        self, endpoint: Endpoint, streams: int, tokens: int, temperature: float, stagger: float
    ) -> None:
        self.endpoint = endpoint
        self.streams = streams
        self.stagger = stagger
        self.body = orjson.dumps(
            {
                "messages": [{"role": "user", "content": A_PROMPT}],
                "max_tokens": tokens,
                "temperature": temperature,
                "stream": True,
            }
        )
        self.phase: Phase | None = None  # counting into this phase while set
        self.tasks: list[asyncio.Task[None]] = []
        self.errors: list[str] = []
        self.completion_tokens: list[int] = []
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = session(self.streams)
        self.tasks = [asyncio.create_task(self._worker(i)) for i in range(self.streams)]

    async def _worker(self, index: int) -> None:
        assert self._session is not None
        await asyncio.sleep(index * self.stagger / self.streams)
        headers = {"api-key": self.endpoint.key, "Content-Type": "application/json"}
        url = f"{self.endpoint.uri}/chat/completions"
        while True:
            try:
                async with self._session.post(url, data=self.body, headers=headers) as r:
                    if r.status != 200:
                        raise BenchError(f"flood request answered {r.status}: {(await r.read())[:300]!r}")
                    async for raw in r.content:
                        line = raw.strip()
                        if not line.startswith(b"data:") or line == b"data: [DONE]":
                            continue
                        chunk = orjson.loads(line[5:])
                        phase = self.phase
                        choices = chunk.get("choices") or []
                        if phase is not None and any((c.get("delta") or {}).get("content") for c in choices):
                            phase.a_chunks += 1
                        if chunk.get("usage"):
                            tokens = int(chunk["usage"].get("completion_tokens", 0))
                            self.completion_tokens.append(tokens)
                            if phase is not None:
                                phase.a_done += 1
                                phase.a_tokens += tokens
            except (BenchError, aiohttp.ClientError, ValueError) as exc:
                self.errors.append(str(exc)[:300])
                if self.phase is not None:
                    self.phase.a_errors += 1
                await asyncio.sleep(0.2)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()


# -- the pools API from the event loop --------------------------------------------------------------
class PoolWatch:
    def __init__(self, server: Server) -> None:
        self.url = f"{server.base_url}{POOLS}?api-version=2024-01-01-preview"
        self.headers = {"Authorization": f"Bearer {server.token}"}

    async def get(self, client: aiohttp.ClientSession) -> dict[str, Any] | None:
        async with client.get(self.url, headers=self.headers) as r:
            if r.status != 200:
                raise BenchError(f"GET {POOLS} answered {r.status}: {(await r.read())[:500]!r}")
            for pool in orjson.loads(await r.read())["value"]:
                if pool["properties"]["model"] == TINY and pool["properties"]["backend"] == "local":
                    return dict(pool["properties"])
        return None

    async def sample(self, client: aiohttp.ClientSession, into: list[dict[str, Any]], every: float) -> None:
        while True:
            pool = await self.get(client)
            if pool is not None:
                into.append(pool)
            await asyncio.sleep(every)

    async def settled(self, client: aiohttp.ClientSession, timeout: float = 60.0) -> dict[str, Any]:
        """Wait until the pool has a ready replica, none starting (a scale-up finished)."""
        deadline = time.monotonic() + timeout
        while True:
            pool = await self.get(client)
            if (
                pool is not None
                and pool["replicaCount"] > 0
                and pool["state"] == "Ready"
                and all(r["state"] == "Ready" for r in pool["replicas"])
            ):
                return pool
            if time.monotonic() > deadline:
                raise BenchError(f"the pool did not settle within {timeout:.0f}s: {pool}")
            await asyncio.sleep(0.1)

    async def idle(self, client: aiohttp.ClientSession, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            pool = await self.get(client)
            if pool is not None and pool["inFlight"] == 0 and pool["queueDepth"] == 0:
                return
            if time.monotonic() > deadline:
                raise BenchError(f"the pool still had work {timeout:.0f}s after the flood stopped: {pool}")
            await asyncio.sleep(0.1)


# -- B's requests -------------------------------------------------------------------------------------
async def quiet(endpoint: Endpoint, args: argparse.Namespace, phase: Phase, limit: float | None) -> None:
    body = chat_body(B_PROMPT, args.max_tokens, stream=args.b_stream)
    mark = cpu_mark()
    started = time.perf_counter()
    async with session(1) as client:
        for _ in range(args.requests):
            answer = await chat(client, endpoint, body, stream=args.b_stream, refusals_ok=True)
            phase.latencies.append(answer.total)
            if answer.status != 200:
                phase.refused.append(f"{answer.status} {answer.error}")
            phase.b_tokens.append(answer.completion_tokens)
            if answer.ttft is not None:
                phase.ttfts.append(answer.ttft)
            if limit is not None and time.perf_counter() - started >= limit:
                break
    phase.wall = time.perf_counter() - started
    phase.others = others_cpu(mark)


async def flood_phase(
    name: str,
    flood: Flood,
    endpoint: Endpoint,
    watch: PoolWatch,
    admin: aiohttp.ClientSession,
    args: argparse.Namespace,
) -> Phase:
    phase = Phase(name)
    progress(f"{name}: B sends up to {args.requests} requests (at most {args.phase_seconds:g}s)")
    sampler = asyncio.create_task(watch.sample(admin, phase.samples, 0.5))
    flood.phase = phase
    try:
        await quiet(endpoint, args, phase, args.phase_seconds)
    finally:
        flood.phase = None
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
    return phase


async def bench(server: Server, endpoints: dict[str, Endpoint], args: argparse.Namespace) -> list[Phase]:
    watch = PoolWatch(server)
    phases: list[Phase] = []
    async with session(4) as admin:
        progress("warming up: one request per endpoint (the first one starts the pool)")
        async with session(1) as client:
            for endpoint in endpoints.values():
                await chat(client, endpoint, chat_body(B_PROMPT, args.max_tokens, False), stream=False)
        await watch.settled(admin)
        solo = Phase("B solo")
        progress(f"B solo: {args.requests} sequential requests")
        solo.samples.append(await watch.get(admin) or {})
        await quiet(endpoints["B"], args, solo, None)
        phases.append(solo)

        flood = Flood(endpoints["A"], args.flood, args.flood_tokens, args.flood_temperature, args.ramp / 2)
        progress(
            f"A floods: {args.flood} concurrent streams of max_tokens {args.flood_tokens}, "
            f"ramp {args.ramp:g}s"
        )
        await flood.start()
        try:
            await asyncio.sleep(args.ramp)
            await watch.settled(admin)
            phases.append(
                await flood_phase(
                    "B under flood, fair (own subscription)", flood, endpoints["B"], watch, admin, args
                )
            )
            await watch.settled(admin)
            phases.append(
                await flood_phase(
                    "B under flood, one queue (A's subscription)", flood, endpoints["A2"], watch, admin, args
                )
            )
        finally:
            await flood.stop()
        await watch.idle(admin)
    args.flood_errors = flood.errors
    args.flood_tokens_seen = flood.completion_tokens
    return phases


# -- report ------------------------------------------------------------------------------------------
def ms(values: list[float], q: float) -> str:
    return f"{percentile([v * 1000 for v in values], q):.0f}" if values else "-"


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def render(phases: list[Phase], args: argparse.Namespace) -> str:
    solo = phases[0]
    base50, base90 = percentile(solo.latencies, 50), percentile(solo.latencies, 90)
    header = (
        "phase",
        "B n",
        "503",
        "p50 ms",
        "p90 ms",
        "max ms",
        "x p50",
        "x p90",
        "A tok/s",
        "A req/s",
        "replicas",
        "queue",
        "others",
    )
    rows = []
    for phase in phases:
        flooded = phase is not solo
        replicas = [s["replicaCount"] for s in phase.samples if s]
        queue = [s["queueDepth"] for s in phase.samples if s]
        rows.append(
            (
                phase.name,
                str(len(phase.latencies)),
                str(len(phase.refused)),
                ms(phase.latencies, 50),
                ms(phase.latencies, 90),
                ms(phase.latencies, 100),
                f"{percentile(phase.latencies, 50) / base50:.1f}" if flooded else "1.0",
                f"{percentile(phase.latencies, 90) / base90:.1f}" if flooded else "1.0",
                f"{phase.a_chunks / phase.wall:.0f}" if flooded and phase.wall else "-",
                f"{phase.a_done / phase.wall:.2f}" if flooded and phase.wall else "-",
                f"{min(replicas)}-{max(replicas)}" if replicas else "-",
                f"{mean(queue):.1f}" if flooded and queue else "-",
                f"{phase.others:.2f}",
                "",
            )
        )
    text = table((*header, ""), rows)
    if args.b_stream:
        lines = [f"  {p.name}: B TTFT p50 {ms(p.ttfts, 50)} ms, p90 {ms(p.ttfts, 90)} ms" for p in phases]
        text += "\n\nB's time to first token (--b-stream: queue wait + prefill):\n" + "\n".join(lines)
    return text


# -- main -------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Fair queueing between tenants of one serverless pool: tenant B's chat latency alone and "
        "while tenant A floods the same model. Starts its own server on 127.0.0.1.",
    )
    parser.add_argument("--requests", type=int, default=20, help="B's sequential requests per phase (20)")
    parser.add_argument("--max-tokens", type=int, default=32, help="max_tokens of B's requests (32)")
    parser.add_argument(
        "--b-stream",
        action="store_true",
        help="B streams its requests (also reports B's time to first token); default non-streamed",
    )
    parser.add_argument("--flood", type=int, default=48, help="A's concurrent streams (48)")
    parser.add_argument("--flood-tokens", type=int, default=256, help="max_tokens of A's requests (256)")
    parser.add_argument(
        "--flood-temperature", type=float, default=1.0, help="temperature of A's requests (1.0)"
    )
    parser.add_argument(
        "--ramp",
        type=float,
        default=4.0,
        help="seconds of flood before B starts (4); A's streams start spread over the first half",
    )
    parser.add_argument(
        "--phase-seconds", type=float, default=40.0, help="most seconds of B's requests per flood phase (40)"
    )
    parser.add_argument(
        "--max-replicas", type=int, default=None, help="MAAS_POOL_MAX_REPLICAS (server default)"
    )
    parser.add_argument(
        "--max-concurrency", type=int, default=None, help="MAAS_POOL_MAX_CONCURRENCY (server default)"
    )
    parser.add_argument(
        "--replica-threads", type=int, default=None, help="MAAS_REPLICA_THREADS (server default: torch's)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary data directory (and server log)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 6 requests, 15 s phases, 2 s ramp")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests = min(args.requests, 6)
        args.phase_seconds = min(args.phase_seconds, 15.0)
        args.ramp = min(args.ramp, 2.0)
    if min(args.requests, args.max_tokens, args.flood, args.flood_tokens) < 1 or args.phase_seconds <= 0:
        parser.error("counts, tokens and --phase-seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    interrupt_on_sigterm()
    facts = machine()
    settings = {}
    if args.max_replicas is not None:
        settings["MAAS_POOL_MAX_REPLICAS"] = str(args.max_replicas)
    if args.max_concurrency is not None:
        settings["MAAS_POOL_MAX_CONCURRENCY"] = str(args.max_concurrency)
    if args.replica_threads is not None:
        settings["MAAS_REPLICA_THREADS"] = str(args.replica_threads)
    phases: list[Phase] = []
    pool: dict[str, Any] = {}
    with Harness(args.keep) as harness:
        data_dir = harness.tempdir("maas-fbench-")
        progress(
            f"starting maas serve ({', '.join(f'{k}={v}' for k, v in settings.items()) or 'pool defaults'})"
        )
        server = harness.serve(start_server(data_dir, settings))
        api = Api(server.base_url, server.token)
        try:
            a, b = Account.create(api, "fa"), Account.create(api, "fb")
            endpoints = {
                "A": a.endpoint(api, "flood", "flood", CHAT_MODEL),
                "A2": a.endpoint(api, "shared", "shared", CHAT_MODEL),
                "B": b.endpoint(api, "quiet", "quiet", CHAT_MODEL),
            }
            args.subscriptions = (a.subscription, b.subscription)
            phases = asyncio.run(bench(server, endpoints, args))
            pool = pool_of(api, TINY) or {}
        finally:
            api.close()
    if harness.status:
        return harness.status

    print()
    print(render(phases, args))
    print()
    solo, fair, shared = phases
    r50 = percentile(fair.latencies, 50) / percentile(solo.latencies, 50)
    r90 = percentile(fair.latencies, 90) / percentile(solo.latencies, 90)
    verdict = "met" if r50 <= GOAL else "NOT met"
    print(
        f"- goal: B's p50 under flood <= {GOAL:g}x solo with fair queueing: {r50:.1f}x ({verdict}; "
        f"p90 {r90:.1f}x); with one queue: "
        f"{percentile(shared.latencies, 50) / percentile(solo.latencies, 50):.1f}x"
    )
    b_tokens = sorted({t for p in phases for t in p.b_tokens})
    print(
        f"- B: {'streamed' if args.b_stream else 'non-streamed'} chat, prompt {B_PROMPT!r}, max_tokens "
        f"{args.max_tokens}, temperature 0, one at a time (completion_tokens {','.join(map(str, b_tokens))})"
    )
    seen = args.flood_tokens_seen
    print(
        f"- A: {args.flood} concurrent streams, prompt {A_PROMPT!r}, max_tokens {args.flood_tokens}, "
        f"temperature {args.flood_temperature:g}, {len(seen)} streams completed, "
        f"{mean(seen):.0f} completion tokens each on average; "
        "A tok/s = A's content chunks received during B's window / its wall time"
    )
    refused = [r for p in phases for r in p.refused]
    if refused:
        print(
            f"- B: {len(refused)} requests refused ({', '.join(sorted(set(refused)))}); their time to the "
            "refusal is counted in B's latencies"
        )
    if args.flood_errors:
        print(f"- A: {len(args.flood_errors)} flood requests failed, e.g. {args.flood_errors[0]}")
    print(
        f"- pool {pool.get('name')}: maxReplicas {pool.get('maxReplicas')}, "
        f"maxConcurrency {pool.get('maxConcurrency')} (slots = replicas x maxConcurrency), "
        f"keepAlive {pool.get('keepAlive')}; 'queue' = mean queueDepth sampled every 0.5 s; "
        "'others' = CPUs used by processes other than this benchmark and its server during B's window; "
        "tenants A and B are two subscriptions (accounts); A2 is a second workspace in A's"
    )
    shown = ", ".join(f"{k}={v}" for k, v in settings.items()) or "pool defaults"
    print(f"- server settings: {shown}")
    print(f"- machine: {facts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
