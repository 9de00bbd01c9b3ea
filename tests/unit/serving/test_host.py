"""The model host: one load per model version however many first requests arrive together, a
failed load is a 503 that a later request retries, and a changed catalog entry reloads."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from maas.core.errors import MaasError, Unavailable
from maas.serving import host as host_module
from maas.serving.engines.base import ModelSpec, load_engine
from maas.serving.host import ModelHost

SPEC = ModelSpec("v1", "m", "chat-completion", "p", {"kind": "fake"})


class FakeEngine:
    def __init__(self, spec: ModelSpec, fail: BaseException | None = None) -> None:
        self.spec = spec
        self.fail = fail
        self.started = 0
        self.closed = 0

    async def start(self) -> None:
        self.started += 1
        await asyncio.sleep(0.01)
        if self.fail is not None:
            raise self.fail

    async def close(self) -> None:
        self.closed += 1


def _patch(monkeypatch: pytest.MonkeyPatch, failures: list[BaseException | None]) -> list[FakeEngine]:
    built: list[FakeEngine] = []

    def fake_load(spec: ModelSpec) -> Any:
        engine = FakeEngine(spec, failures.pop(0) if failures else None)
        built.append(engine)
        return engine

    monkeypatch.setattr(host_module, "load_engine", fake_load)
    return built


def test_concurrent_first_requests_share_one_load(monkeypatch: pytest.MonkeyPatch) -> None:
    built = _patch(monkeypatch, [])

    async def run() -> list[Any]:
        host = ModelHost()
        engines = await asyncio.gather(*(host.engine_for(SPEC) for _ in range(10)))
        engines.append(await host.engine_for(SPEC))
        await host.close()
        return list(engines)

    engines = asyncio.run(run())
    assert len(built) == 1 and built[0].started == 1 and built[0].closed == 1
    assert all(e is built[0] for e in engines)


@pytest.mark.parametrize(
    "failure", [MaasError("no weights", code="ModelLoadFailed"), RuntimeError("torch exploded")]
)
def test_a_failed_load_is_503_and_is_retried(monkeypatch: pytest.MonkeyPatch, failure: Exception) -> None:
    built = _patch(monkeypatch, [failure, None])

    async def run() -> Any:
        host = ModelHost()
        with pytest.raises(Unavailable) as failed:
            await host.engine_for(SPEC)
        assert failed.value.code == "model_load_failed" and failed.value.status == 503
        assert str(failure) in failed.value.message
        return await host.engine_for(SPEC)

    engine = asyncio.run(run())
    assert len(built) == 2 and engine is built[1]


def test_a_changed_catalog_entry_reloads(monkeypatch: pytest.MonkeyPatch) -> None:
    built = _patch(monkeypatch, [])

    async def run() -> None:
        host = ModelHost()
        first = await host.engine_for(SPEC)
        changed = dataclasses.replace(SPEC, artifact={"kind": "fake", "path": "/elsewhere"})
        second = await host.engine_for(changed)
        assert second is not first
        assert await host.engine_for(changed) is second
        other = await host.engine_for(dataclasses.replace(SPEC, version_id="v2"))
        assert other is not second

    asyncio.run(run())
    assert [e.closed for e in built] == [1, 0, 0]


def test_engines_by_artifact_kind() -> None:
    with pytest.raises(MaasError) as unknown:
        load_engine(dataclasses.replace(SPEC, artifact={"kind": "tarball"}))
    assert unknown.value.code == "EngineNotAvailable"
    upstream = load_engine(
        dataclasses.replace(SPEC, artifact={"kind": "openai-upstream", "url": "http://x/v1"})
    )
    assert type(upstream).__name__ == "OpenAIUpstreamEngine"
    wordllama = load_engine(dataclasses.replace(SPEC, artifact={"kind": "wordllama"}))
    assert type(wordllama).__name__ == "WordLlamaEngine"
