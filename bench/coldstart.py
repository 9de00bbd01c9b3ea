"""Cold-start benchmark: first token from zero replicas, and large-model load time against disk speed.

Starts its own `maas serve` on 127.0.0.1 with `MAAS_POOL_KEEP_ALIVE=0`, so every pool goes back to
zero replicas right after its last request, builds an account (CreditCard), a workspace subscribed
to the marketplace offer of `maas-tiny-chat` and an endpoint on it, then:

1. the first request after the server started (reported apart: the fork server that pre-imports
   torch may still be importing it);
2. --runs times: wait until the pools API shows the pool with no replica (and the replica process
   gone), then time a streamed chat request through the Target URI to its first chunk with
   content (TTFT from zero), and read the pool's own `lastColdStart` (`seconds`: request admitted
   -> replica ready; `loadSeconds`: the engine load inside the replica); the remainder
   TTFT - seconds is the first request's own time in a fresh replica plus HTTP;
3. warm: the model's `serving.keepAlive` set to "pinned" (a PUT of its catalog version), then
   --warm-runs streamed requests to a warm replica;
4. a larger model: a random-init Llama (--large-layers x --large-hidden, ~214 M parameters by
   default, fp32 safetensors) built once with `save_pretrained` under --cache-dir
   (~/.cache/maas-bench), registered as a catalog model with a free offer and an endpoint. The disk's
   read bandwidth is measured by writing a separate --disk-mb file and reading it back after
   `posix_fadvise(POSIX_FADV_DONTNEED)` dropped it from the page cache (and the same for the
   model's safetensors files); then --large-runs cold starts of the model, each after dropping its
   files from the page cache, report `loadSeconds`, size / loadSeconds (effective GB/s) and that
   as a fraction of the disk's bandwidth, and one more cold start with the files in the page cache.

    python bench/coldstart.py --quick
    python bench/coldstart.py
    python bench/coldstart.py --skip-large --runs 30
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from controlplane import Api, Server, percentile, progress, table
from processes import BenchError, Harness, interrupt_on_sigterm
from serverless import (
    CHAT_MODEL,
    POOLS,
    Account,
    Answer,
    Endpoint,
    chat,
    chat_body,
    cpu_mark,
    histogram,
    machine,
    metrics_text,
    others_cpu,
    pool_of,
    register_model,
    session,
    set_serving,
    start_server,
    wait_pool,
)

PROMPT = "What does the word ocean mean? Answer in one sentence."
TINY = "maas-tiny-chat"
LARGE_REGISTRY = "csbench"
GOAL_SECONDS = 1.0
GB = 1e9

BUILD = r"""
import json, shutil, sys, time
from pathlib import Path
import torch
from transformers import LlamaConfig, LlamaForCausalLM
out, layers, hidden, tokenizer_dir = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
torch.manual_seed(0)
heads = max(1, hidden // 64)
config = LlamaConfig(
    vocab_size=4096, hidden_size=hidden, intermediate_size=(hidden * 11 // 4) // 64 * 64,
    num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
    max_position_embeddings=2048, bos_token_id=0, eos_token_id=1, pad_token_id=2,
    tie_word_embeddings=False,
)
started = time.perf_counter()
model = LlamaForCausalLM(config)
params = sum(p.numel() for p in model.parameters())
model.save_pretrained(out, safe_serialization=True)
for name in ("tokenizer.json", "tokenizer_config.json"):
    shutil.copy(tokenizer_dir / name, out / name)
generation = {"do_sample": False, "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 2}
(out / "generation_config.json").write_text(json.dumps(generation))
print(json.dumps({"params": params, "seconds": time.perf_counter() - started}))
"""


# -- the server's processes ------------------------------------------------------------------------
def descendants(server: Server) -> int:
    assert server.proc is not None
    try:
        return len(psutil.Process(server.proc.pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return 0


def wait_descendants(server: Server, baseline: int, timeout: float = 10.0) -> None:
    """Wait until the replica processes that scaled to zero have exited (back to the fork server
    and its helpers), so a cold start does not share the CPU with a replica still exiting."""
    deadline = time.monotonic() + timeout
    while descendants(server) > baseline and time.monotonic() < deadline:
        time.sleep(0.02)


# -- measurements ----------------------------------------------------------------------------------
@dataclass
class Cold:
    first_token: float  # seconds, request sent -> first chunk with content (or stream end)
    total: float
    seconds: float | None  # the pool's lastColdStart.seconds
    load: float | None  # the pool's lastColdStart.loadSeconds
    from_zero: bool  # the pool counted exactly one more cold start


async def one(endpoint: Endpoint, max_tokens: int) -> Answer:
    async with session(1) as client:
        return await chat(client, endpoint, chat_body(PROMPT, max_tokens, stream=True), stream=True)


def first_token(answer: Answer) -> float:
    return answer.ttft if answer.ttft is not None else answer.total


def cold_start(
    api: Api, server: Server, endpoint: Endpoint, model: str, max_tokens: int, baseline: int
) -> Cold:
    before = wait_pool(api, model, ready=False)
    wait_descendants(server, baseline)
    time.sleep(0.1)  # the exiting replica's last CPU
    starts = before["coldStarts"] if before else 0
    answer = asyncio.run(one(endpoint, max_tokens))
    after = pool_of(api, model)
    if after is None:
        raise BenchError(f"no pool for {model} after a request")
    last = after.get("lastColdStart") or {}
    return Cold(
        first_token(answer),
        answer.total,
        last.get("seconds"),
        last.get("loadSeconds"),
        after["coldStarts"] == starts + 1,
    )


def ms(values: list[float], q: float) -> str:
    return f"{percentile([v * 1000 for v in values], q):.0f}" if values else "-"


@dataclass
class Report:
    rows: list[tuple[str, ...]] = field(default_factory=list)
    large: list[tuple[str, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def cold_rows(label: str, runs: list[Cold], report: Report) -> None:
    ttft = [r.first_token for r in runs]
    seconds = [r.seconds for r in runs if r.seconds is not None]
    load = [r.load for r in runs if r.load is not None]
    fork = [r.seconds - r.load for r in runs if r.seconds is not None and r.load is not None]
    after = [r.first_token - r.seconds for r in runs if r.seconds is not None]
    n = str(len(runs))
    report.rows += [
        (
            f"{label}: TTFT from zero (client)",
            n,
            ms(ttft, 50),
            ms(ttft, 90),
            ms(ttft, 100),
            "send -> first content",
        ),
        (
            "  pool lastColdStart.seconds",
            n,
            ms(seconds, 50),
            ms(seconds, 90),
            ms(seconds, 100),
            "admitted -> ready",
        ),
        ("  pool lastColdStart.loadSeconds", n, ms(load, 50), ms(load, 90), ms(load, 100), "engine load"),
        ("  seconds - loadSeconds", n, ms(fork, 50), ms(fork, 90), ms(fork, 100), "fork + IPC + queue"),
        (
            "  TTFT - seconds",
            n,
            ms(after, 50),
            ms(after, 90),
            ms(after, 100),
            "1st request in new replica + HTTP",
        ),
    ]


def bench_tiny(api: Api, server: Server, args: argparse.Namespace, report: Report) -> None:
    account = Account.create(api, "cs")
    endpoint = account.endpoint(api, "coldstart", "chat", CHAT_MODEL)
    healthy_for = time.monotonic() - args.server_ready_at
    progress(f"{TINY}: first request, {healthy_for:.1f}s after the server answered /health")
    answer = asyncio.run(one(endpoint, args.max_tokens))
    pool = pool_of(api, TINY) or {}
    last = pool.get("lastColdStart") or {}
    report.rows.append(
        (
            f"{TINY}: first request after server start",
            "1",
            f"{first_token(answer) * 1000:.0f}",
            "",
            "",
            f"pool seconds {last.get('seconds')}, loadSeconds {last.get('loadSeconds')}; "
            f"sent {healthy_for:.1f}s after /health",
        )
    )
    wait_pool(api, TINY, ready=False)
    time.sleep(0.5)
    baseline = descendants(server)
    runs: list[Cold] = []
    progress(f"{TINY}: {args.runs} cold starts (keep-alive 0), streamed, max_tokens {args.max_tokens}")
    for _ in range(args.runs):
        run = cold_start(api, server, endpoint, TINY, args.max_tokens, baseline)
        runs.append(run)
        progress(
            f"  TTFT {run.first_token * 1000:.0f} ms, pool seconds {run.seconds}, loadSeconds {run.load}"
            + ("" if run.from_zero else "  (NOT from zero: the pool did not count a cold start)")
        )
    cold_rows(TINY, runs, report)
    not_zero = sum(1 for r in runs if not r.from_zero)
    if not_zero:
        report.notes.append(
            f"{not_zero} of {len(runs)} {TINY} runs were not counted as cold starts by the pool"
        )
    args.tiny_ttft_p50 = percentile([r.first_token for r in runs], 50)
    args.tiny_ttft_max = max(r.first_token for r in runs)
    args.tiny_after_p50 = percentile([r.first_token - r.seconds for r in runs if r.seconds is not None], 50)

    progress(f"{TINY}: keepAlive pinned (catalog PUT), {args.warm_runs} warm streamed requests")
    set_serving(api, CHAT_MODEL, {"keepAlive": "pinned"})
    deadline = time.monotonic() + 30
    while True:  # the gateway's directory cache takes up to MAAS_DIRECTORY_TTL (2 s) to notice
        asyncio.run(one(endpoint, args.max_tokens))
        pool = pool_of(api, TINY)
        if pool is not None and pool["keepAlive"] == "pinned":
            break
        if time.monotonic() > deadline:
            raise BenchError(f"the pool did not take keepAlive 'pinned' within 30s: {pool}")
        time.sleep(0.5)
    warm = [asyncio.run(one(endpoint, args.max_tokens)) for _ in range(args.warm_runs)]
    ttfts = [first_token(a) for a in warm]
    report.rows.append(
        (
            f"{TINY}: TTFT warm (keepAlive pinned)",
            str(len(ttfts)),
            ms(ttfts, 50),
            ms(ttfts, 90),
            ms(ttfts, 100),
            "replica already up",
        )
    )
    args.tiny_warm_p50 = percentile(ttfts, 50)
    text = metrics_text(server.base_url)
    name = (pool_of(api, TINY) or {}).get("name", "")
    count, total = histogram(text, "maas_pool_cold_start_seconds", name)
    if count:
        report.notes.append(
            f"/metrics maas_pool_cold_start_seconds{{pool={name}}}: {count} cold starts, "
            f"mean {total / count * 1000:.0f} ms (includes the first one after server start)"
        )
    api.request("POST", f"{POOLS}/{name}/restart", expect=(200,))  # back to zero for what follows


# -- the large model ------------------------------------------------------------------------------------
def build_large(args: argparse.Namespace) -> Path:
    from maas.core.shipped import resolve_path

    folder = args.cache_dir / f"llama-l{args.large_layers}-h{args.large_hidden}"
    if (folder / "BUILT").is_file():
        return folder
    progress(
        f"building a random-init Llama ({args.large_layers} layers, hidden {args.large_hidden}) in {folder}"
    )
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    tokenizer = resolve_path(f"shipped:{TINY}")
    cmd = [
        sys.executable,
        "-c",
        BUILD,
        str(partial),
        str(args.large_layers),
        str(args.large_hidden),
        tokenizer,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchError(f"building the model failed:\n{result.stderr[-4000:]}")
    (partial / "BUILT").write_text(result.stdout.strip().splitlines()[-1])
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    progress(f"  built: {result.stdout.strip().splitlines()[-1]}")
    return folder


def drop_cache(path: Path) -> None:
    """Ask the kernel to drop this file's clean pages from the page cache."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def read_seconds(paths: list[Path], drop: bool) -> float:
    if drop:
        for path in paths:
            drop_cache(path)
    buffer = bytearray(16 * 1024 * 1024)
    view = memoryview(buffer)
    started = time.perf_counter()
    for path in paths:
        with path.open("rb", buffering=0) as f:
            while f.readinto(view):
                pass
    return time.perf_counter() - started


def disk_bandwidth(args: argparse.Namespace, report: Report) -> float:
    path = args.cache_dir / "disk-read-test.bin"
    size = args.disk_mb * 1024 * 1024
    block = os.urandom(16 * 1024 * 1024)
    progress(f"disk: writing {args.disk_mb} MiB to {path}, reading it back after POSIX_FADV_DONTNEED")
    try:
        with path.open("wb") as f:
            written = 0
            while written < size:
                f.write(block)
                written += len(block)
            f.flush()
            os.fsync(f.fileno())
        cold = min(read_seconds([path], drop=True) for _ in range(2))
        cached = read_seconds([path], drop=False)
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
    bandwidth = written / cold / GB
    report.large.append(
        (
            "disk read, page cache dropped",
            f"{written / GB:.2f}",
            f"{cold:.2f}",
            f"{bandwidth:.2f}",
            "1.00",
            f"separate file, best of 2; the same file from the page cache: {written / cached / GB:.1f} GB/s",
        )
    )
    return bandwidth


def bench_large(api: Api, server: Server, args: argparse.Namespace, report: Report) -> None:
    folder = build_large(args)
    files = sorted(folder.glob("*.safetensors"))
    size = sum(f.stat().st_size for f in files)
    bandwidth = disk_bandwidth(args, report)
    st_cold = min(read_seconds(files, drop=True) for _ in range(2))
    report.large.append(
        (
            "safetensors read, page cache dropped",
            f"{size / GB:.2f}",
            f"{st_cold:.2f}",
            f"{size / st_cold / GB:.2f}",
            f"{size / st_cold / GB / bandwidth:.2f}",
            f"{len(files)} file(s), plain read(), best of 2",
        )
    )
    model_id = register_model(api, LARGE_REGISTRY, folder.name, folder, {"keepAlive": 0})
    account = Account.create(api, "cl")
    endpoint = account.endpoint(api, "coldlarge", "large", model_id, marketplace=False)
    wait_pool(api, TINY, ready=False)
    time.sleep(0.5)
    baseline = descendants(server)
    runs: list[Cold] = []
    progress(
        f"{folder.name} ({size / GB:.2f} GB): {args.large_runs} cold starts, "
        "its files dropped from the page cache each time"
    )
    for index in range(args.large_runs + 1):
        cached = index == args.large_runs
        wait_pool(api, folder.name, ready=False, timeout=120)
        wait_descendants(server, baseline)
        if not cached:
            for path in files:
                drop_cache(path)
        run = cold_start(api, server, endpoint, folder.name, 1, baseline)
        progress(
            f"  {'page cache warm' if cached else 'page cache dropped'}: first token {run.first_token:.2f}s, "
            f"pool seconds {run.seconds}, loadSeconds {run.load}"
        )
        if cached:
            cached_run = run
        else:
            runs.append(run)
    load = [r.load for r in runs if r.load]
    if not load:
        raise BenchError(f"the pool reported no loadSeconds for {folder.name}")
    load_p50 = percentile(load, 50)
    effective = size / load_p50 / GB
    first = [r.first_token for r in runs]
    seconds = [r.seconds for r in runs if r.seconds is not None]
    report.large.append(
        (
            "replica load from zero, cache dropped",
            f"{size / GB:.2f}",
            f"{load_p50:.2f}",
            f"{effective:.2f}",
            f"{effective / bandwidth:.2f}",
            f"loadSeconds p50 of {len(load)} (max {max(load):.2f}); pool seconds p50 "
            f"{percentile(seconds, 50):.2f}; first token p50 {percentile(first, 50):.2f}s",
        )
    )
    if cached_run.load:
        report.large.append(
            (
                "replica load from zero, page cache warm",
                f"{size / GB:.2f}",
                f"{cached_run.load:.2f}",
                f"{size / cached_run.load / GB:.2f}",
                f"{size / cached_run.load / GB / bandwidth:.2f}",
                f"pool seconds {cached_run.seconds}; first token {cached_run.first_token:.2f}s",
            )
        )
    params = (folder / "BUILT").read_text().strip()
    report.notes.append(f"large model: {folder} ({params}), fp32 safetensors, max_tokens 1")
    args.large_fraction = effective / bandwidth


# -- main ------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Cold starts of the serverless pool: first token from zero replicas for "
        "maas-tiny-chat, and a larger model's load time against the disk's read bandwidth. "
        "Starts its own server on 127.0.0.1.",
    )
    parser.add_argument("--runs", type=int, default=10, help="cold starts of maas-tiny-chat (10)")
    parser.add_argument("--warm-runs", type=int, default=10, help="warm requests for comparison (10)")
    parser.add_argument(
        "--max-tokens", type=int, default=8, help="max_tokens of the maas-tiny-chat requests (8)"
    )
    parser.add_argument(
        "--replica-threads", type=int, default=None, help="MAAS_REPLICA_THREADS (server default: torch's)"
    )
    parser.add_argument("--skip-large", action="store_true", help="skip the large-model part")
    parser.add_argument("--large-runs", type=int, default=3, help="cold starts of the large model (3)")
    parser.add_argument("--large-layers", type=int, default=16, help="layers of the large model (16)")
    parser.add_argument(
        "--large-hidden", type=int, default=1024, help="hidden size of the large model (1024)"
    )
    parser.add_argument(
        "--disk-mb", type=int, default=1024, help="size of the disk read test file in MiB (1024)"
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path.home() / ".cache" / "maas-bench",
        help="where the large model is built once (~/.cache/maas-bench)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary data directory (and server log)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 3 cold starts, 3 warm, 1 large cold start, 256 MiB disk test",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = min(args.runs, 3)
        args.warm_runs = min(args.warm_runs, 3)
        args.large_runs = min(args.large_runs, 1)
        args.disk_mb = min(args.disk_mb, 256)
    if min(args.runs, args.warm_runs, args.large_runs, args.max_tokens, args.large_layers, args.disk_mb) < 1:
        parser.error("counts, sizes and --max-tokens must be positive")
    if args.large_hidden < 64 or args.large_hidden % 64:
        parser.error("--large-hidden must be a multiple of 64")
    args.cache_dir = args.cache_dir.expanduser()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    interrupt_on_sigterm()
    facts = machine()
    report = Report()
    with Harness(args.keep) as harness:
        data_dir = harness.tempdir("maas-csbench-")
        if not args.skip_large:
            args.cache_dir.mkdir(parents=True, exist_ok=True)
        settings = {"MAAS_POOL_KEEP_ALIVE": "0"}
        if args.replica_threads is not None:
            settings["MAAS_REPLICA_THREADS"] = str(args.replica_threads)
        shown = " ".join(f"{k}={v}" for k, v in settings.items())
        progress(f"starting maas serve with {shown} (data dir {data_dir})")
        server = harness.serve(start_server(data_dir, settings))
        report.notes.append(f"server settings: {shown}")
        args.server_ready_at = time.monotonic()
        api = Api(server.base_url, server.token)
        try:
            mark = cpu_mark()
            bench_tiny(api, server, args, report)
            busy = f"{others_cpu(mark):.2f} CPUs during the {TINY} runs"
            if not args.skip_large:
                mark = cpu_mark()
                bench_large(api, server, args, report)
                busy += f", {others_cpu(mark):.2f} during the large-model runs"
            report.notes.append(f"other processes on this machine used {busy} (on average)")
        finally:
            api.close()
    if harness.status:
        return harness.status
    print()
    print(table(("measurement", "n", "p50 ms", "p90 ms", "max ms", "what"), report.rows))
    if report.large:
        print()
        print(table(("large model", "GB", "seconds", "GB/s", "of disk", "notes"), report.large))
    print()
    verdict = "met" if args.tiny_ttft_p50 <= GOAL_SECONDS else "NOT met"
    print(
        f"- goal: first token from zero <= {GOAL_SECONDS:g} s: p50 {args.tiny_ttft_p50:.2f}s, max "
        f"{args.tiny_ttft_max:.2f}s ({verdict} at p50); warm TTFT p50 {args.tiny_warm_p50 * 1000:.0f} ms; "
        f"the first request in a new replica takes {args.tiny_after_p50 * 1000:.0f} ms after it is ready"
    )
    if hasattr(args, "large_fraction"):
        print(f"- large model: replica load reaches {args.large_fraction:.0%} of the disk's read bandwidth")
    for note in report.notes:
        print(f"- {note}")
    print(
        f"- {TINY}: streamed chat, prompt {PROMPT!r}, max_tokens {args.max_tokens}, temperature 0; "
        "TTFT = send -> first chunk with content, measured by the client over HTTP"
    )
    print(f"- machine: {facts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
