"""Upstream relays beside a backend: requests for an OpenAI-compatible upstream go to the relays,
every other request to the backend, and the operator sees and restarts the pools of both."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from maas.core.errors import NotFound
from maas.serving.engines.base import ModelSpec
from maas.serving.pool.stats import PoolStats
from maas.serving.pool.upstreams import WithUpstreams
from maas.serving.pool.view import PoolView


def _spec(kind: str) -> ModelSpec:
    return ModelSpec(
        f"azureml://registries/r/models/{kind}/versions/1", kind, "chat-completion", "p", {"kind": kind}
    )


def _view(name: str) -> PoolView:
    return PoolView(name, name, name, "eastus", "x", "Ready", [], 0, 0, "pinned", 1, 1, None, PoolStats())


class Fake:
    def __init__(self, backend: str, names: list[str]) -> None:
        self.backend = backend
        self.names = names
        self.calls: list[str] = []

    async def start(self) -> None:
        self.calls.append("start")

    def engine_for(self, spec: ModelSpec, region: str, tenant: str, weight: float = 1.0) -> Any:
        self.calls.append(f"engine {spec.name}")
        return self

    def views(self) -> list[PoolView]:
        return [_view(name) for name in self.names]

    def warm(self, spec: ModelSpec, region: str) -> None:
        self.calls.append(f"warm {spec.name}")

    async def restart(self, name: str) -> PoolView:
        if name not in self.names:
            raise NotFound(f"There is no model pool '{name}' in this process.", code="PoolNotFound")
        self.calls.append(f"restart {name}")
        return _view(name)

    async def close(self) -> None:
        self.calls.append("close")


def test_requests_and_operators_reach_the_right_pools() -> None:
    backend, relays = Fake("local", ["b-pool"]), Fake("inline", ["a-relay"])
    pools = WithUpstreams(backend, relays)

    async def run() -> None:
        await pools.start()
        assert pools.engine_for(_spec("openai-upstream"), "eastus", "t") is relays
        assert pools.engine_for(_spec("huggingface"), "eastus", "t") is backend
        pools.warm(_spec("openai-upstream"), "eastus")
        pools.warm(_spec("huggingface"), "eastus")
        assert [v.name for v in pools.views()] == ["a-relay", "b-pool"]
        assert (await pools.restart("a-relay")).name == "a-relay"
        with pytest.raises(NotFound):
            await pools.restart("nowhere")
        await pools.close()

    asyncio.run(run())
    assert pools.backend == "local"
    assert backend.calls == ["start", "engine huggingface", "warm huggingface", "close"]
    assert relays.calls == ["start", "engine openai-upstream", "restart a-relay", "close"]
