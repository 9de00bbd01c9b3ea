"""Inference benchmark: the shipped models served through their Target URIs.

Starts its own `maas serve` on 127.0.0.1 (a free port, SQLite in a temporary directory, a random
admin token) with the default models in the catalog, builds a world over HTTP (an account paying
by CreditCard, a resource group, a workspace in eastus2), and measures:

1. chat: `azureml://registries/maas/models/maas-tiny-chat`, a paid marketplace offer (the
   workspace subscribes to it first, then an endpoint is created). Streaming requests
   (`stream: true`, a fixed prompt, `max_tokens` 64, `temperature` 0) at --concurrency 1 and 16
   (16 and 64 requests): time to first token (the first chunk with non-empty content) p50/p99,
   end-to-end latency, and output tokens/s = the sum of `completion_tokens` (from the usage of
   the stream's last chunks) / wall time of the level. `--model-path DIR` measures a local
   Hugging Face causal-LM folder instead (registered as a catalog model with a free offer); when
   neither is available the chat rows are skipped with a message.
2. embeddings: `azureml://registries/maas/models/wordllama-embed` (free, first-party): requests
   of 1 and 32 short sentences back to back for --embed-seconds each, in sentences/s.

The first request to each endpoint loads its model; it is timed and reported apart (not in the
rows). Client and server share the machine.

    python bench/inference.py --quick
    python bench/inference.py
    python bench/inference.py --model-path ~/models/SmolLM2-135M-Instruct
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx
import orjson
from controlplane import Api, Server, percentile, platform_facts, progress, table
from processes import BenchError, Harness, interrupt_on_sigterm
from serverless import (
    CHAT_MODEL,
    Account,
    Endpoint,
    Stream,
    create_endpoint,
    read_stream,
    register_model,
    session,
    stream_chunks,
    versions,
)

WORKSPACE = "inference"
EMBED_MODEL = "azureml://registries/maas/models/wordllama-embed"
LOCAL_REGISTRY = "ibench"
PROMPT = "What does the word ocean mean? Answer in one sentence."
SENTENCES = [
    "The cat sat on the mat.",
    "A storm is coming in from the sea.",
    "Python is a programming language.",
    "She bought fresh bread at the market.",
    "The train leaves at seven in the morning.",
    "Mountains are covered with snow in winter.",
    "He forgot his umbrella on the bus.",
    "Coffee tastes better with a little milk.",
]


# -- the world -----------------------------------------------------------------------------------
def setup_world(api: Api) -> Account:
    """An account (CreditCard) with a resource group and the workspace "inference"."""
    account = Account.create(api, "i")
    account.workspace(api, WORKSPACE)
    return account


def in_catalog(api: Api, model_id: str) -> bool:
    registry, name = model_id.removeprefix("azureml://registries/").split("/models/")
    response = api.request("GET", f"/registries/{registry}/models/{name}", expect=(200, 404))
    return response.status_code == 200


def register_local(api: Api, path: Path) -> str:
    """A local Hugging Face folder as catalog model ibench/local-chat with a free FirstParty offer."""
    if not (path / "config.json").is_file():
        raise BenchError(f"--model-path {path}: no config.json there (not a Hugging Face model folder)")
    return register_model(api, LOCAL_REGISTRY, "local-chat", path, description="inference bench")


def workspace_endpoint(
    api: Api, account: Account, kind: str, model_id: str, marketplace: bool = False
) -> Endpoint:
    """An endpoint `{tag}-{kind}0` on model_id in the workspace; with marketplace, the workspace
    subscribes to the model's marketplace offer (accepting its terms) first."""
    if marketplace:
        account.subscribe(api, WORKSPACE, model_id)
    world = account.world
    return create_endpoint(api, world, WORKSPACE, world.endpoint_name(kind, 0), model_id)


# -- chat ----------------------------------------------------------------------------------------
async def one_stream(client: aiohttp.ClientSession, endpoint: Endpoint, max_tokens: int) -> Stream:
    body = {
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": True,
    }
    return await read_stream(stream_chunks(client, endpoint.uri, endpoint.key, body))


async def chat_level(
    endpoint: Endpoint, concurrency: int, count: int, max_tokens: int
) -> tuple[float, list[Stream]]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)
    results: list[Stream] = []
    async with session(concurrency) as client:

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                results.append(await one_stream(client, endpoint, max_tokens))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return wall, results


# -- embeddings ----------------------------------------------------------------------------------
def embed_level(
    client: httpx.Client, endpoint: Endpoint, batch: int, seconds: float
) -> tuple[int, float, list[float]]:
    inputs = [SENTENCES[i % len(SENTENCES)] for i in range(batch)]
    body = orjson.dumps({"input": inputs})
    headers = {"api-key": endpoint.key, "Content-Type": "application/json"}
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds
    while True:  # at least one request
        t0 = time.perf_counter()
        response = client.post(f"{endpoint.uri}/embeddings", content=body, headers=headers)
        latencies.append(time.perf_counter() - t0)
        if response.status_code != 200:
            raise BenchError(f"embeddings answered {response.status_code}: {response.text[:2000]}")
        data = response.json()["data"]
        if len(data) != batch:
            raise BenchError(f"embeddings returned {len(data)} vectors for {batch} inputs")
        if time.perf_counter() >= deadline:
            break
    return len(latencies), time.perf_counter() - started, latencies


# -- the report ----------------------------------------------------------------------------------
@dataclass
class Report:
    rows: list[tuple[str, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    HEADER = ("measurement", "conc", "n", "rate", "p50 ms", "p99 ms", "other")

    def render(self) -> str:
        return table(self.HEADER, self.rows)


def ms(values: list[float], q: float) -> str:
    return f"{percentile([v * 1000 for v in values], q):.1f}" if values else "-"


def bench_chat(endpoint: Endpoint, args: argparse.Namespace, report: Report, label: str) -> None:
    progress(f"chat: first request to {endpoint.name} (loads the model)")
    started = time.perf_counter()
    first = asyncio.run(chat_level(endpoint, 1, 1, args.max_tokens))[1][0]
    took = time.perf_counter() - started
    report.notes.append(f"chat first request (model load + {first.completion_tokens} tokens): {took:.2f}s")
    for concurrency, count in zip(args.concurrencies, args.counts, strict=True):
        progress(f"chat: concurrency {concurrency}, {count} streamed requests, max_tokens {args.max_tokens}")
        wall, streams = asyncio.run(chat_level(endpoint, concurrency, count, args.max_tokens))
        tokens = sum(s.completion_tokens for s in streams)
        ttfts = [s.ttft for s in streams if s.ttft is not None]
        finishes = sorted({s.finish or "?" for s in streams})
        report.rows.append(
            (
                f"{label} chat TTFT",
                str(concurrency),
                str(len(ttfts)),
                f"{tokens / wall:.1f} tok/s",
                ms(ttfts, 50),
                ms(ttfts, 99),
                f"{tokens} output tokens in {wall:.2f}s ({tokens / len(streams):.1f}/request, "
                f"finish {','.join(finishes)})",
            )
        )
        totals = [s.total for s in streams]
        report.rows.append(
            (
                f"{label} chat end-to-end",
                str(concurrency),
                str(len(totals)),
                f"{len(streams) / wall:.2f} req/s",
                ms(totals, 50),
                ms(totals, 99),
                "per-request stream latency, send to [DONE]",
            )
        )
        progress(f"  {tokens / wall:.1f} tok/s, TTFT p50 {ms(ttfts, 50)} ms")


def bench_embeddings(endpoint: Endpoint, args: argparse.Namespace, report: Report) -> None:
    with httpx.Client(timeout=120.0) as client:
        progress(f"embeddings: first request to {endpoint.name} (loads the model)")
        started = time.perf_counter()
        embed_level(client, endpoint, 1, 0.0)
        report.notes.append(f"embeddings first request (model load): {time.perf_counter() - started:.2f}s")
        for batch in args.batches:
            progress(f"embeddings: batches of {batch}, {args.embed_seconds:g}s")
            count, wall, latencies = embed_level(client, endpoint, batch, args.embed_seconds)
            report.rows.append(
                (
                    f"wordllama-embed batch {batch}",
                    "1",
                    str(count),
                    f"{count * batch / wall:,.0f} sent/s",
                    ms(latencies, 50),
                    ms(latencies, 99),
                    f"{count / wall:,.0f} req/s, {count * batch} sentences in {wall:.2f}s",
                )
            )
            progress(f"  {count * batch / wall:,.0f} sentences/s")


# -- main ----------------------------------------------------------------------------------------
def int_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark inference through MaaS Target URIs: the shipped chat model (tokens/s, time "
        "to first token) and wordllama embeddings (sentences/s). Starts its own server on 127.0.0.1.",
    )
    parser.add_argument(
        "--model-path",
        type=Path,
        default=None,
        help="a local Hugging Face causal-LM folder to measure instead of maas-tiny-chat",
    )
    parser.add_argument("--concurrency", default="1,16", help="chat concurrency levels (1,16)")
    parser.add_argument(
        "--requests",
        default=None,
        help="chat requests per level, comma-separated (default max(16, 4 x conc))",
    )
    parser.add_argument("--max-tokens", type=int, default=64, help="max_tokens of each chat request (64)")
    parser.add_argument("--batches", default="1,32", help="sentences per embeddings request (1,32)")
    parser.add_argument(
        "--embed-seconds", type=float, default=5.0, help="seconds per embeddings batch size (5)"
    )
    parser.add_argument("--skip-chat", action="store_true", help="skip the chat rows")
    parser.add_argument("--skip-embeddings", action="store_true", help="skip the embeddings rows")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary data directory (and server log)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: max(2, conc) requests per level, 16 tokens, 1 s embeddings",
    )
    args = parser.parse_args(argv)
    try:
        args.concurrencies = int_list(args.concurrency)
        args.batches = int_list(args.batches)
        args.counts = (
            int_list(args.requests) if args.requests else [max(16, 4 * c) for c in args.concurrencies]
        )
    except ValueError:
        parser.error("--concurrency, --requests and --batches take comma-separated integers")
    if args.quick:
        args.counts = [min(n, max(2, c)) for n, c in zip(args.counts, args.concurrencies, strict=False)]
        args.max_tokens = min(args.max_tokens, 16)
        args.embed_seconds = min(args.embed_seconds, 1.0)
    if len(args.counts) != len(args.concurrencies):
        parser.error("--requests needs one count per --concurrency level")
    if min(args.concurrencies + args.counts + args.batches, default=0) < 1 or args.max_tokens < 1:
        parser.error("concurrency, requests, batches and --max-tokens must be positive")
    if args.embed_seconds <= 0:
        parser.error("--embed-seconds must be positive")
    return args


def run(args: argparse.Namespace, server: Server, report: Report) -> None:
    api = Api(server.base_url, server.token)
    try:
        account = setup_world(api)
        chat: Endpoint | None = None
        label = ""
        if not args.skip_chat:
            if args.model_path is not None:
                model_id = register_local(api, args.model_path)
                chat = workspace_endpoint(api, account, "chat", model_id)
                label = f"local:{args.model_path.name}"
                report.notes.append(f"chat model: {args.model_path.resolve()} (--model-path)")
            elif in_catalog(api, CHAT_MODEL):
                chat = workspace_endpoint(api, account, "chat", CHAT_MODEL, marketplace=True)
                label = "maas-tiny-chat"
                report.notes.append(f"chat model: {CHAT_MODEL} (marketplace offer, workspace subscribed)")
            else:
                message = (
                    f"SKIPPED chat rows: {CHAT_MODEL} is not in the catalog (its trained weights are not "
                    "in src/maas/shipped/models yet); pass --model-path DIR to measure a local Hugging "
                    "Face causal-LM folder"
                )
                progress(message)
                report.notes.append(message)
        embed = None if args.skip_embeddings else workspace_endpoint(api, account, "embed", EMBED_MODEL)
    finally:
        api.close()
    if chat is not None:
        bench_chat(chat, args, report, label)
    if embed is not None:
        bench_embeddings(embed, args, report)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    interrupt_on_sigterm()
    report = Report()
    with Harness(args.keep) as harness:
        data_dir = harness.tempdir("maas-ibench-")
        server = harness.serve(Server(data_dir, None, secrets.token_urlsafe(32)))
        progress(f"starting maas serve on {server.base_url} (data dir {data_dir})")
        server.start()
        run(args, server, report)
    if harness.status:
        return harness.status

    print()
    if report.rows:
        print(report.render())
        print()
    for note in report.notes:
        print(f"- {note}")
    if any("chat" in row[0] for row in report.rows):
        print(
            f"- chat: streamed, prompt {PROMPT!r}, max_tokens {args.max_tokens}, temperature 0; "
            "tok/s = sum of completion_tokens / wall time of the level; "
            "TTFT = send to the first chunk with content"
        )
    print(f"- machine: {platform_facts()}; {versions()}; client and server share the machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
