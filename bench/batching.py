"""Batching benchmark: output tokens/s of the transformers engine at 1, 4 and 16 concurrent streams.

Default mode, in-process: loads the shipped `maas-tiny-chat` (or `--model-path DIR`) into a
`TransformersEngine` and drives `chat_stream` from asyncio: for each concurrency level C, C
workers send streamed chat requests back to back (`--requests` per level, default max(16, 4 × C)),
each with `max_tokens` 64 and temperature 0 on prompts whose greedy answers run past 64 tokens, so
every request decodes its full budget. tokens/s = the sum of `completion_tokens` from each
stream's usage / wall time of the level; TTFT = from calling the engine to the first chunk with
content. The last lines give the ratio tokens/s at the highest level / at 1, against the goal of
at least 4× one request at a time.

HTTP modes send the same load over the network, to the endpoint's `…/chat/completions` with an
`api-key` header (aiohttp streaming):

- `--url TARGET_URI --key KEY`: a serverless endpoint of a server that is already running;
- `--serve`: start a `maas serve` of our own on 127.0.0.1 (SQLite in a temporary directory), build
  an account, subscribe a workspace to maas-tiny-chat and create an endpoint, with the helpers of
  `bench/inference.py`; everything is stopped at the end.

    python bench/batching.py
    python bench/batching.py --levels 1,4,16,32 --max-batch 32
    python bench/batching.py --serve
    python bench/batching.py --url http://127.0.0.1:8000/.../my-endpoint --key KEY
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from controlplane import Api, Server, percentile, progress
from processes import BenchError, Harness
from serverless import CHAT_MODEL, Stream, read_stream, session, stream_chunks, versions

PROMPTS = ("Tell me about Python lists.", "Tell me about Python loops.")  # greedy: > 64 tokens
GOAL = 4.0


Sender = Callable[[int], Awaitable[Stream]]  # request number → its measured stream


def body(index: int, args: argparse.Namespace) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": PROMPTS[index % len(PROMPTS)]}],
        "max_tokens": args.max_tokens,
        "temperature": args.temperature,
        "stream": True,
    }


# -- in-process ------------------------------------------------------------------------------------
async def in_process_sender(args: argparse.Namespace) -> tuple[Sender, Callable[[], Awaitable[None]], str]:
    from maas.protocol.inference.chat import ChatCompletionsRequest
    from maas.serving.engines.base import ModelSpec
    from maas.serving.engines.transformers_engine import TransformersEngine

    path = str(args.model_path.resolve()) if args.model_path else "shipped:maas-tiny-chat"
    options = {"maxBatch": args.max_batch} if args.max_batch else {}
    artifact = {"kind": "huggingface", "path": path}
    engine = TransformersEngine(
        ModelSpec("bench", "bench-chat", "chat-completion", "bench", artifact, options=options)
    )
    started = time.perf_counter()
    await engine.start()
    progress(f"loaded {path} in {time.perf_counter() - started:.2f}s")

    async def send(index: int) -> Stream:
        request = ChatCompletionsRequest.model_validate(body(index, args))
        return await read_stream(chunk async for chunk, _ in engine.chat_stream(request, {}))

    label = (
        f"in-process engine, {path}, maxBatch {args.max_batch or 'default'}, torch threads {torch_threads()}"
    )
    return send, engine.close, label


# -- over HTTP -------------------------------------------------------------------------------------
def http_sender(client: aiohttp.ClientSession, uri: str, key: str, args: argparse.Namespace) -> Sender:
    async def send(index: int) -> Stream:
        return await read_stream(stream_chunks(client, uri, key, body(index, args)))

    return send


def deploy_own(server: Server) -> tuple[str, str]:
    """A world on our own server with an endpoint on maas-tiny-chat: (Target URI, key)."""
    from inference import in_catalog, setup_world, workspace_endpoint

    api = Api(server.base_url, server.token)
    try:
        account = setup_world(api)
        if not in_catalog(api, CHAT_MODEL):
            raise BenchError(f"{CHAT_MODEL} is not in the server's catalog")
        endpoint = workspace_endpoint(api, account, "chat", CHAT_MODEL, marketplace=True)
        return endpoint.uri, endpoint.key
    finally:
        api.close()


# -- the levels ------------------------------------------------------------------------------------
@dataclass
class Level:
    concurrency: int
    wall: float
    streams: list[Stream]

    @property
    def tokens(self) -> int:
        return sum(s.completion_tokens for s in self.streams)

    @property
    def rate(self) -> float:
        return self.tokens / self.wall


async def level(send: Sender, concurrency: int, count: int) -> Level:
    numbers = iter(range(count))
    streams: list[Stream] = []

    async def worker() -> None:
        for index in numbers:
            streams.append(await send(index))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Level(concurrency, time.perf_counter() - started, streams)


async def run_levels(send: Sender, args: argparse.Namespace) -> list[Level]:
    progress("warm-up: 2 requests")
    await level(send, 2, 2)
    done = []
    for concurrency in args.levels:
        count = args.requests or max(16, 4 * concurrency)
        progress(f"concurrency {concurrency}: {count} streamed requests of max_tokens {args.max_tokens}")
        result = await level(send, concurrency, count)
        progress(f"  {result.rate:,.0f} tok/s")
        done.append(result)
    return done


def ms(values: list[float], q: float) -> str:
    return f"{percentile([v * 1000 for v in values], q):.1f}" if values else "-"


def render(levels: list[Level]) -> str:
    header = (
        "concurrency",
        "requests",
        "tokens",
        "wall s",
        "tok/s",
        "TTFT p50 ms",
        "TTFT p99 ms",
        "e2e p50 ms",
    )
    rows = [header]
    for result in levels:
        ttfts = [s.ttft for s in result.streams if s.ttft is not None]
        rows.append(
            (
                str(result.concurrency),
                str(len(result.streams)),
                str(result.tokens),
                f"{result.wall:.2f}",
                f"{result.rate:,.0f}",
                ms(ttfts, 50),
                ms(ttfts, 99),
                ms([s.total for s in result.streams], 50),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


# -- main ------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--levels", default="1,4,16", help="concurrency levels, comma-separated (1,4,16)")
    parser.add_argument("--requests", type=int, default=0, help="requests per level (max(16, 4 x level))")
    parser.add_argument("--max-tokens", type=int, default=64, help="max_tokens of each request (64)")
    parser.add_argument("--temperature", type=float, default=0.0, help="temperature of each request (0)")
    parser.add_argument(
        "--model-path", type=Path, default=None, help="a local HF causal-LM folder (in-process)"
    )
    parser.add_argument("--max-batch", type=int, default=0, help="the engine's maxBatch option (in-process)")
    parser.add_argument("--url", default=None, help="an endpoint's Target URI: send the load over HTTP")
    parser.add_argument("--key", default=None, help="the endpoint's key (with --url)")
    parser.add_argument("--serve", action="store_true", help="start our own maas serve and endpoint")
    args = parser.parse_args(argv)
    try:
        args.levels = [int(part) for part in args.levels.split(",") if part.strip()]
    except ValueError:
        parser.error("--levels takes comma-separated integers")
    if not args.levels or min(args.levels) < 1 or args.max_tokens < 1 or args.requests < 0:
        parser.error("levels, --requests and --max-tokens must be positive")
    if args.url and not args.key:
        parser.error("--url needs --key")
    if args.url and args.serve:
        parser.error("--url and --serve are exclusive")
    return args


async def bench(args: argparse.Namespace, server: Server | None) -> tuple[list[Level], str]:
    if args.url or server is not None:
        uri, key = deploy_own(server) if server is not None else (args.url.rstrip("/"), args.key)
        async with session(max(args.levels)) as client:
            return await run_levels(http_sender(client, uri, key, args), args), f"over HTTP, {uri}"
    send, close, label = await in_process_sender(args)
    try:
        return await run_levels(send, args), label
    finally:
        await close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server: Server | None = None
    with Harness() as harness:
        if args.serve:
            server = harness.serve(Server(harness.tempdir("maas-bbench-"), None, secrets.token_urlsafe(32)))
            progress(f"starting maas serve on {server.base_url}")
            server.start()
        levels, label = asyncio.run(bench(args, server))
    if harness.status:
        return harness.status
    print()
    print(render(levels))
    print()
    first, last = levels[0], levels[-1]
    if first.concurrency == 1 and last.concurrency > 1:
        ratio = last.rate / first.rate
        verdict = "met" if ratio >= GOAL else "NOT met"
        print(f"- ratio tok/s c={last.concurrency} / c=1: {ratio:.1f}x (goal >= {GOAL:g}x: {verdict})")
    finishes = sorted({s.finish or "?" for result in levels for s in result.streams})
    print(
        f"- {label}; streamed chat, max_tokens {args.max_tokens}, temperature {args.temperature:g}, "
        f"finish reasons {','.join(finishes)}; tok/s = sum of usage completion_tokens / wall time"
    )
    print(
        f"- machine: {os.cpu_count()} CPUs, Python {platform.python_version()} ({platform.machine()}); "
        f"{versions(('torch', 'transformers'))}; client and engine share the machine"
    )
    return 0


def torch_threads() -> str:
    try:
        import torch

        return str(torch.get_num_threads())
    except ImportError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
