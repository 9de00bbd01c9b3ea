"""The Ray backend without Ray: deployment options and fingerprints, the loader's message found
in Serve's status text, and a pool's request path over fake handles (cold start timeout, a model
that fails to load once and for all, engine errors keeping their class, streams)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Generator
from dataclasses import replace
from typing import Any

import pytest

from maas.core.errors import MaasError, Unavailable, Unprocessable
from maas.protocol.inference.chat import ChatCompletionsRequest
from maas.serving.engines.base import ModelSpec
from maas.serving.pool.backends.ray import RayPools, deployments
from maas.serving.pool.backends.ray import pools as ray_pools
from maas.serving.pool.backends.ray.replica import ModelLoadFailed, load_message
from maas.serving.pool.config import PoolDefaults, pool_config
from maas.serving.pool.frames import error_frame

SPEC = ModelSpec(
    version_id="azureml://registries/maas/models/tiny/versions/1",
    name="tiny",
    task="chat-completion",
    provider="maas",
    artifact={"kind": "huggingface", "path": "/models/tiny"},
)
REQUEST = ChatCompletionsRequest.model_validate({"messages": [{"role": "user", "content": "hi"}]})
BODY = {"messages": [{"role": "user", "content": "hi"}]}


def test_pinned_and_scale_to_zero_options() -> None:
    defaults = PoolDefaults(keep_alive=2.0, max_replicas=3, max_concurrency=8, max_queue=50)
    options = deployments.deployment_options(pool_config(SPEC, defaults), None)
    scaling = options["autoscaling_config"]
    assert scaling["min_replicas"] == 0 and scaling["initial_replicas"] == 1
    assert scaling["max_replicas"] == 3 and scaling["downscale_to_zero_delay_s"] == 2.0
    assert scaling["target_ongoing_requests"] == 8 and options["max_ongoing_requests"] == 8
    assert options["max_queued_requests"] == 50 and options["max_constructor_retry_count"] == 1

    pinned = replace(SPEC, options={"keepAlive": "pinned"})
    scaling = deployments.deployment_options(pool_config(pinned, defaults), 2)["autoscaling_config"]
    assert scaling["min_replicas"] == 1 and "downscale_to_zero_delay_s" not in scaling


def test_the_fingerprint_follows_what_replicas_run() -> None:
    def name(spec: ModelSpec) -> str:
        return deployments.deployment_name(
            spec, deployments.deployment_options(pool_config(spec, PoolDefaults()), None)
        )

    assert name(SPEC) == name(SPEC) and name(SPEC).startswith("replica-")
    moved = replace(SPEC, artifact={"kind": "huggingface", "path": "/models/other"})
    kept_longer = replace(SPEC, options={"keepAlive": 60})
    assert len({name(SPEC), name(moved), name(kept_longer)}) == 3


def test_the_loaders_message_is_found_in_a_traceback() -> None:
    status = (
        "The deployment failed to start 1 times in a row. Error:\nTraceback (most recent call last):\n"
        f'  File "x.py", line 1\n{ModelLoadFailed.__name__}: {ModelLoadFailed("No config.json in /m")}\n'
    )
    assert load_message(status) == "No config.json in /m"
    assert load_message("Traceback\n  boom\nRuntimeError: the actor died\n") == "RuntimeError: the actor died"


def test_start_without_ray_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        raise ImportError(name)

    monkeypatch.setattr(ray_pools.importlib, "import_module", missing)
    with pytest.raises(MaasError, match=r"maas\[ray\]") as caught:
        asyncio.run(RayPools().start())
    assert caught.value.code == "RayNotInstalled"


# -- the request path over fake handles -----------------------------------------------------------
class Response:
    def __init__(self, value: Any, delay: float = 0.0) -> None:
        self.value, self.delay, self.cancelled = value, delay, False

    def __await__(self) -> Generator[Any, None, Any]:
        return self._get().__await__()

    async def _get(self) -> Any:
        await asyncio.sleep(self.delay)
        return self.value

    def cancel(self) -> None:
        self.cancelled = True


class Chunks:
    def __init__(self, items: list[Any]) -> None:
        self.items, self.cancelled = items, False

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        if not self.items:
            raise StopAsyncIteration
        return self.items.pop(0)

    def cancel(self) -> None:
        self.cancelled = True


class Handle:
    def __init__(self, answer: Callable[[str, dict[str, Any]], Any]) -> None:
        self.answer = answer

    def remote(self, op: str, payload: dict[str, Any]) -> Any:
        return self.answer(op, payload)


def _pools(monkeypatch: pytest.MonkeyPatch, deploy: Callable[..., Any], timeout: float = 5.0) -> RayPools:
    monkeypatch.setattr(deployments, "deploy", deploy)
    monkeypatch.setattr(deployments, "delete", lambda name: None)
    pools = RayPools(PoolDefaults(cold_start_timeout=timeout))
    pools._started = False  # as if start() had joined a cluster
    return pools


def test_a_deployment_slower_than_the_cold_start_timeout_is_a_503(monkeypatch: pytest.MonkeyPatch) -> None:
    def deploy(*args: Any) -> Any:
        time.sleep(1.0)
        raise ModelLoadFailed("never mind")

    async def run() -> Unavailable:
        engine = _pools(monkeypatch, deploy, timeout=0.2).engine_for(SPEC, "eastus2", "t1")
        with pytest.raises(Unavailable) as caught:
            await engine.chat(REQUEST, BODY)
        return caught.value

    error = asyncio.run(run())
    assert error.code == "cold_start_timeout" and error.retry_after == 1


def test_a_model_that_fails_to_load_fails_its_pool_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def deploy(name: str, *args: Any) -> Any:
        calls.append(name)
        raise ModelLoadFailed("The folder has no config.json.")

    async def run() -> tuple[list[str], RayPools]:
        pools = _pools(monkeypatch, deploy)
        codes = []
        for _ in range(2):
            with pytest.raises(Unavailable) as caught:
                await pools.engine_for(SPEC, "eastus2", "t1").chat(REQUEST, BODY)
            assert "The folder has no config.json." in caught.value.message
            codes.append(caught.value.code)
        return codes, pools

    codes, pools = asyncio.run(run())
    assert codes == ["model_load_failed"] * 2 and calls == ["tiny-v1-eastus2"]
    view = pools.views()[0]
    assert view.state == "Failed" and view.error == "The folder has no config.json." and view.backend == "ray"


def test_answers_errors_and_streams_through_handles(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = {"choices": [], "usage": {"completion_tokens": 3}}
    chunks = [
        {"chunk": {"choices": [{"delta": {"content": "a"}}]}},
        {"chunk": {"usage": {"completion_tokens": 1}}},
    ]

    def call(op: str, payload: dict[str, Any]) -> Response:
        assert payload["request"]["messages"] == BODY["messages"]
        if payload["body"].get("bad"):
            return Response({"error": error_frame(Unprocessable("no", code="invalid_parameter"))})
        return Response({"result": answer}, delay=0.05)

    def stream(op: str, payload: dict[str, Any]) -> Chunks:
        return Chunks(
            list(chunks)
            + ([{"error": error_frame(Unprocessable("late"))}] if payload["body"].get("bad") else [])
        )

    def deploy(*args: Any) -> Any:
        return Handle(call), Handle(stream)

    async def run() -> RayPools:
        pools = _pools(monkeypatch, deploy)
        engine = pools.engine_for(SPEC, "eastus2", "t1")
        assert await engine.chat(REQUEST, BODY) == answer
        with pytest.raises(Unprocessable):
            await engine.chat(REQUEST, {**BODY, "bad": True})
        assert [c async for c in engine.chat_stream(REQUEST, BODY)] == [(c["chunk"], None) for c in chunks]
        seen: list[Any] = []

        async def consume() -> None:
            async for chunk in engine.chat_stream(REQUEST, {**BODY, "bad": True}):
                seen.append(chunk)

        with pytest.raises(Unprocessable, match="late"):
            await consume()
        assert len(seen) == 2
        return pools

    stats = asyncio.run(run()).views()[0].stats
    assert stats.requests == 4 and stats.failures == 2 and stats.cold_starts == 1
    assert stats.tokens == 3 + 1 + 1


def test_requests_beyond_what_ray_runs_wait_in_fair_order(monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []

    def call(op: str, payload: dict[str, Any]) -> Response:
        order.append(payload["body"]["tenant"])
        return Response({"result": {"choices": []}}, delay=0.02)

    def deploy(*args: Any) -> Any:
        return Handle(call), Handle(call)

    async def run() -> None:
        pools = _pools(monkeypatch, deploy)
        spec = replace(SPEC, options={"maxReplicas": 1, "maxConcurrency": 1})

        def ask(tenant: str) -> Any:
            return pools.engine_for(spec, "eastus2", tenant).chat(REQUEST, {**BODY, "tenant": tenant})

        flood = [asyncio.create_task(ask("flood")) for _ in range(5)]
        await asyncio.sleep(0.005)
        pool = next(iter(pools.pools.values()))
        assert pool.queue.slots == 1 and pool.view().queue_depth >= 3
        quiet = asyncio.create_task(ask("quiet"))
        await asyncio.gather(quiet, *flood)

    asyncio.run(run())
    # one flood request reached Ray first; the quiet tenant's went ahead of the flood's backlog
    assert order.index("quiet") <= 2, order
