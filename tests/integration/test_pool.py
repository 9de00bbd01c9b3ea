"""The local serverless pool with real replica processes: cold start, scale to zero, keep-alive,
autoscaling within a memory budget, fair admission, crashes (kill -9) and models that fail to load.

Each test drives `LocalPools` directly (what the gateway calls) on the shipped chat model and the
wordllama embedding model; replicas are forked from the fork server like in `maas serve`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from maas.core.errors import MaasError, Unavailable
from maas.protocol.inference.chat import ChatCompletionsRequest
from maas.protocol.inference.embeddings import EmbeddingsRequest
from maas.serving.engines.base import ModelSpec
from maas.serving.pool.backends.local import LocalPool, LocalPools
from maas.serving.pool.config import PoolDefaults
from support.gateway import build_tiny_llama

CHAT = ModelSpec(
    version_id="/registries/maas/models/maas-tiny-chat/versions/1",
    name="maas-tiny-chat",
    task="chat-completion",
    provider="MaaS",
    artifact={"kind": "huggingface", "path": "shipped:maas-tiny-chat"},
)
EMBED = ModelSpec(
    version_id="/registries/maas/models/wordllama-embed/versions/1",
    name="wordllama-embed",
    task="embeddings",
    provider="wordllama",
    artifact={"kind": "wordllama"},
)
FAST = PoolDefaults(keep_alive=60, scale_up_after=0.2, scale_down_after=0.5, cold_start_timeout=60)


def with_options(spec: ModelSpec, **options: Any) -> ModelSpec:
    return dataclasses.replace(spec, options={**spec.options, **options})


def chat_body(
    text: str = "Hello!", max_tokens: int = 8, **extra: Any
) -> tuple[ChatCompletionsRequest, dict[str, Any]]:
    body = {
        "messages": [{"role": "user", "content": text}],
        "max_tokens": max_tokens,
        "temperature": 0,
        **extra,
    }
    return ChatCompletionsRequest.model_validate(body), body


async def chat(pools: LocalPools, spec: ModelSpec = CHAT, tenant: str = "t1", **kw: Any) -> dict[str, Any]:
    request, body = chat_body(**kw)
    return await pools.engine_for(spec, "eastus", tenant).chat(request, body)


async def until(check: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def run(test: Callable[[LocalPools], Awaitable[None]], defaults: PoolDefaults = FAST) -> None:
    async def main() -> None:
        pools = LocalPools(defaults, tick_seconds=0.05)
        await pools.start()
        try:
            await test(pools)
        finally:
            await pools.close()

    asyncio.run(main())


def pool_of(pools: LocalPools, spec: ModelSpec = CHAT) -> LocalPool:
    return pools.pools[(spec.version_id, "eastus")]


def test_cold_start_serves_then_scales_to_zero_and_back() -> None:
    async def test(pools: LocalPools) -> None:
        spec = with_options(CHAT, keepAlive=0)
        answer = await chat(pools, spec)
        assert answer["choices"][0]["message"]["content"]
        pool = pool_of(pools)
        assert pool.stats.cold_starts == 1
        assert pool.stats.last_cold_start is not None and pool.stats.last_cold_start["seconds"] > 0
        first_pid = pool.replicas[0].pid if pool.replicas else None
        # keepAlive 0: the replica stops as soon as the pool is idle
        await until(lambda: not pool.replicas, "scale to zero")
        assert first_pid is not None
        await until(lambda: not _alive(first_pid), "the replica process exiting")
        assert pool.view().state == "Stopped"
        # and the next request starts it again
        again = await chat(pools, spec)
        assert again["choices"][0]["message"]["content"] == answer["choices"][0]["message"]["content"]
        assert pool.stats.cold_starts == 2

    run(test)


def test_keep_alive_and_pinned_keep_replicas() -> None:
    async def test(pools: LocalPools) -> None:
        await chat(pools, with_options(CHAT, keepAlive="pinned"))
        await pools.engine_for(EMBED, "eastus", "t1").embed(
            EmbeddingsRequest.model_validate({"input": ["a"]}), {"input": ["a"]}
        )
        chat_pool, embed_pool = pool_of(pools), pool_of(pools, EMBED)
        assert chat_pool.view().keep_alive == "pinned" and embed_pool.view().keep_alive == 60
        await asyncio.sleep(1.0)  # several supervisor ticks: nothing is idle long enough to stop
        assert len(chat_pool.ready) == 1 and len(embed_pool.ready) == 1

    run(test)


def test_streams_and_concurrent_requests_share_a_replica() -> None:
    async def test(pools: LocalPools) -> None:
        engine = pools.engine_for(CHAT, "eastus", "t1")
        request, body = chat_body(max_tokens=6, stream=True)
        chunks = [c async for c, _ in engine.chat_stream(request, body)]
        assert chunks[-1]["usage"]["completion_tokens"] <= 6
        answers = await asyncio.gather(*(chat(pools, tenant=f"t{i}") for i in range(8)))
        texts = {a["choices"][0]["message"]["content"] for a in answers}
        assert len(texts) == 1  # greedy: the same answer for everyone
        pool = pool_of(pools)
        assert len(pool.replicas) == 1 and pool.replicas[0].served == 9
        assert pool.stats.requests == 9 and pool.stats.tokens > 0

    run(test)


def test_a_flooding_tenant_does_not_delay_another_tenants_request() -> None:
    async def test(pools: LocalPools) -> None:
        spec = with_options(CHAT, maxConcurrency=1, maxReplicas=1)
        await chat(pools, spec)
        finished: list[str] = []

        async def one(tenant: str) -> None:
            await chat(pools, spec, tenant=tenant, max_tokens=24)
            finished.append(tenant)

        flood = [asyncio.create_task(one("flood")) for _ in range(6)]
        # (>= 3, not == 5: on a fast machine a flood request can finish between two polls)
        await until(lambda: pool_of(pools).queue.waiting >= 3, "the flood queued")
        done_before = len(finished)
        quiet = asyncio.create_task(one("quiet"))
        await asyncio.gather(quiet, *flood)
        # the flood request that was running finished, then the quiet tenant's request went next,
        # ahead of the flood requests still waiting
        assert finished.index("quiet") <= done_before + 1, finished
        assert len(finished) - finished.index("quiet") - 1 >= 2, finished

    run(test)


def test_cold_start_timeout_is_503_with_retry_after_and_the_request_never_runs() -> None:
    async def test(pools: LocalPools) -> None:
        spec = with_options(CHAT, coldStartTimeout=0.001)
        with pytest.raises(Unavailable) as refused:
            await chat(pools, spec)
        assert refused.value.code == "cold_start_timeout"
        assert refused.value.retry_after is not None and refused.value.retry_after >= 1
        pool = pool_of(pools)
        await until(lambda: bool(pool.ready), "the replica that was starting")
        assert pool.replicas[0].served == 0  # the refused request was not run later
        pools.engine_for(with_options(CHAT, coldStartTimeout=30), "eastus", "t1")
        await chat(pools, with_options(CHAT, coldStartTimeout=30))
        assert pool.replicas[0].served == 1

    run(test)


def test_bounded_queue_refuses_with_503() -> None:
    async def test(pools: LocalPools) -> None:
        spec = with_options(CHAT, maxConcurrency=1, maxQueue=2, maxReplicas=1)
        await chat(pools, spec)  # warm
        results = await asyncio.gather(
            *(chat(pools, spec, max_tokens=40) for _ in range(6)), return_exceptions=True
        )
        refused = [r for r in results if isinstance(r, MaasError)]
        served = [r for r in results if isinstance(r, dict)]
        assert refused and all(r.code == "capacity_exceeded" and r.status == 503 for r in refused)
        assert len(served) == 3  # one running, two waiting
        assert pool_of(pools).replicas[0].served == 4

    run(test)


def test_autoscale_up_under_queueing_and_down_when_idle() -> None:
    async def test(pools: LocalPools) -> None:
        spec = with_options(CHAT, maxConcurrency=1, maxReplicas=2, keepAlive=60)
        pool_ready = asyncio.create_task(chat(pools, spec))
        await pool_ready
        pool = pool_of(pools)
        load = [asyncio.create_task(chat(pools, spec, max_tokens=64)) for _ in range(12)]
        await until(lambda: len(pool.ready) == 2, "a second replica under load")
        await asyncio.gather(*load)
        await until(lambda: len(pool.ready) == 1, "scaling back down to one when idle")
        assert pool.stats.cold_starts == 1  # scale-ups are not cold starts

    run(test)


def test_memory_budget_caps_replicas_and_evicts_idle_pools() -> None:
    async def test(pools: LocalPools) -> None:
        await chat(pools, with_options(CHAT, keepAlive=60))
        chat_pool = pool_of(pools)
        await until(lambda: chat_pool.replicas[0].rss > 0, "the replica's memory")
        # a budget that holds one replica: the embedding pool's cold start stops the idle chat pool
        pools.memory_budget = int(chat_pool.memory() * 1.5)
        await pools.engine_for(EMBED, "eastus", "t1").embed(
            EmbeddingsRequest.model_validate({"input": ["a"]}), {"input": ["a"]}
        )
        await until(lambda: not chat_pool.replicas, "the idle chat pool evicted")
        # a pinned pool is never evicted: with no room, the next cold start is refused clearly
        embed_pool = pool_of(pools, EMBED)
        embed_pool.config = dataclasses.replace(embed_pool.config, keep_alive=None)
        pools.memory_budget = embed_pool.memory() + 1
        with pytest.raises(Unavailable) as refused:
            await chat(pools)
        assert refused.value.code == "capacity_exceeded" and "memory" in refused.value.message

    run(test)


def test_kill_9_under_load_fails_in_flight_cleanly_and_the_pool_recovers(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # a random-init model: it does not stop early, so requests are surely in flight at the kill
    noisy = dataclasses.replace(
        CHAT,
        version_id="/registries/maas/models/tiny-random/versions/1",
        name="tiny-random",
        artifact={
            "kind": "huggingface",
            "path": str(build_tiny_llama(tmp_path_factory.getbasetemp() / "tiny")),
        },
    )

    async def test(pools: LocalPools) -> None:
        await chat(pools, noisy)
        await pools.engine_for(EMBED, "eastus", "t1").embed(
            EmbeddingsRequest.model_validate({"input": ["a"]}), {"input": ["a"]}
        )
        pool, embed_pool = pool_of(pools, noisy), pool_of(pools, EMBED)
        victim = pool.replicas[0].pid
        embed_pid = embed_pool.replicas[0].pid
        assert victim is not None

        async def streamed() -> Any:
            request, body = chat_body(max_tokens=2000, stream=True)
            try:
                async for _ in pools.engine_for(noisy, "eastus", "t1").chat_stream(request, body):
                    pass
            except MaasError as exc:
                return exc
            return "finished"

        load = [asyncio.create_task(streamed()) for _ in range(4)]
        load += [asyncio.create_task(chat(pools, noisy, max_tokens=2000)) for _ in range(2)]
        await until(lambda: pool.queue.busy == 6, "requests in flight")
        # at once: the random model may sample its end token after a few hundred tokens
        os.kill(victim, signal.SIGKILL)
        results = await asyncio.wait_for(asyncio.gather(*load, return_exceptions=True), 30)
        assert all(isinstance(r, Unavailable) and r.code == "replica_failed" for r in results), results
        assert "signal 9" in results[0].message
        # the pool replaces the replica by itself; the other pool never noticed
        await until(lambda: bool(pool.ready), "a new replica")
        assert pool.stats.cold_starts == 1  # a restart, not a cold start
        answer = await chat(pools, noisy)
        assert answer["choices"][0]["message"]["content"]
        assert pool.stats.restarts == 1 and pool.replicas[0].pid != victim
        assert embed_pool.replicas[0].pid == embed_pid and embed_pool.stats.restarts == 0

    run(test)


def test_a_replica_that_keeps_crashing_fails_its_pool() -> None:
    async def test(pools: LocalPools) -> None:
        await chat(pools)
        pool = pool_of(pools)
        for crash in range(1, 6):
            await until(lambda: bool(pool.ready), "a replica")
            pid = pool.ready[0].pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            await until(lambda n=crash: pool.stats.restarts == n, "the crash seen")  # type: ignore[misc]
        await until(lambda: pool.view().state == "Failed", "the pool failed")
        assert "crashed 5 times" in (pool.error or "") and "signal 9" in (pool.error or "")
        with pytest.raises(Unavailable) as refused:
            await chat(pools)
        assert refused.value.code == "model_load_failed"

    run(test)


def test_model_that_fails_to_load_marks_the_pool_failed_without_retrying(tmp_path: Any) -> None:
    broken = dataclasses.replace(
        CHAT,
        version_id="/registries/maas/models/broken/versions/1",
        name="broken",
        artifact={"kind": "huggingface", "path": str(tmp_path / "missing")},
    )

    async def test(pools: LocalPools) -> None:
        with pytest.raises(Unavailable) as first:
            await chat(pools, broken)
        assert first.value.code == "model_load_failed"
        assert "No Hugging Face model at" in first.value.message
        pool = pool_of(pools, broken)
        view = pool.view()
        assert view.state == "Failed" and view.error and "No Hugging Face model at" in view.error
        # later requests fail fast with the same message; no new replica is started
        with pytest.raises(Unavailable):
            await chat(pools, broken)
        await asyncio.sleep(0.3)
        assert pool.starting == 0 and not pool.replicas
        # an operator restart clears it (and it fails again, since the folder is still missing)
        await pools.restart(view.name)
        assert pool.view().state == "Stopped"

    run(test)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False
