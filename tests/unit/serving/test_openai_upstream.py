"""The openai-upstream engine against a scripted upstream: status mapping, timeouts, unreadable
answers, failures mid-stream, and routes refused by the model's task."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from maas.core.errors import MaasError
from maas.protocol.inference.chat import ChatCompletionsRequest, CompletionsRequest
from maas.protocol.inference.embeddings import EmbeddingsRequest
from maas.serving.engines.base import ModelSpec
from maas.serving.engines.openai_upstream import OpenAIUpstreamEngine

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CHAT = ChatCompletionsRequest.model_validate({"messages": [{"role": "user", "content": "hi"}]})
BODY = {"messages": [{"role": "user", "content": "hi"}]}


@asynccontextmanager
async def upstream(
    handler: Handler, task: str = "chat-completion", **options: Any
) -> AsyncIterator[OpenAIUpstreamEngine]:
    app = web.Application()
    app.router.add_route("POST", "/v1/{route:.*}", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    spec = ModelSpec(
        "v1",
        "ours",
        task,
        "p",
        {"kind": "openai-upstream", "url": f"http://127.0.0.1:{port}/v1"},
        options=options,
    )
    engine = OpenAIUpstreamEngine(spec)
    await engine.start()
    try:
        yield engine
    finally:
        await engine.close()
        await runner.cleanup()


def _status(status: int, body: Any) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        if isinstance(body, bytes):
            return web.Response(status=status, body=body)
        return web.json_response(body, status=status)

    return handler


async def _drain(engine: OpenAIUpstreamEngine, got: list[Any]) -> None:
    async for chunk, usage in engine.chat_stream(CHAT, BODY):
        assert usage is None  # an upstream counts only in its last chunk's `usage`
        got.append(chunk)


async def _fail(handler: Handler, call: str = "chat", **options: Any) -> MaasError:
    async with upstream(handler, **options) as engine:
        with pytest.raises(MaasError) as failed:
            await (engine.chat(CHAT, BODY) if call == "chat" else _drain(engine, []))
    return failed.value


@pytest.mark.parametrize(
    ("status", "expected", "code"),
    [
        (400, 400, "upstream_rejected"),
        (404, 404, "upstream_rejected"),
        (413, 413, "upstream_rejected"),
        (422, 422, "upstream_rejected"),
        (401, 502, "UpstreamError"),  # our key for the upstream is wrong: not the caller's fault
        (403, 502, "UpstreamError"),
        (429, 503, "upstream_busy"),
        (500, 502, "UpstreamError"),
        (503, 502, "UpstreamError"),
    ],
)
@pytest.mark.parametrize("call", ["chat", "stream"])
def test_upstream_statuses(status: int, expected: int, code: str, call: str) -> None:
    error = asyncio.run(_fail(_status(status, {"error": {"message": "said no"}}), call))
    assert (error.status, error.code) == (expected, code)
    assert "said no" in error.message


def test_error_bodies_of_any_shape() -> None:
    for body in (b"plain text failure", {"error": "a string"}, {"detail": "x"}, [1, 2]):
        error = asyncio.run(_fail(_status(500, body)))
        assert error.status == 502, body


def test_an_unreadable_answer_is_502() -> None:
    error = asyncio.run(_fail(_status(200, b"<html>not json</html>")))
    assert (error.status, error.code) == (502, "UpstreamError")


def test_a_slow_upstream_is_504() -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.json_response({})

    error = asyncio.run(_fail(slow, timeout=0.3))
    assert (error.status, error.code) == (504, "UpstreamTimeout")


def test_a_stream_that_stalls_is_504_mid_stream() -> None:
    async def stalls(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b'data: {"choices": []}\n\n')
        await asyncio.sleep(5)
        return response

    async def run() -> tuple[int, MaasError]:
        got: list[Any] = []
        async with upstream(stalls, timeout=0.3) as engine:
            with pytest.raises(MaasError) as failed:
                await _drain(engine, got)
        return len(got), failed.value

    got, error = asyncio.run(run())
    assert got == 1 and error.status == 504


@pytest.mark.parametrize(
    "events",
    [b'data: {"error": {"message": "died"}}\n\n', b"data: {not json\n\n"],
)
def test_bad_events_mid_stream_are_502(events: bytes) -> None:
    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b'data: {"model": "theirs", "choices": []}\n\n: a comment\n\n' + events)
        return response

    async def run() -> tuple[list[Any], MaasError]:
        got: list[Any] = []
        async with upstream(stream) as engine:
            with pytest.raises(MaasError) as failed:
                await _drain(engine, got)
        return got, failed.value

    got, error = asyncio.run(run())
    assert got == [{"model": "ours", "choices": []}]
    assert error.status == 502


def test_routes_follow_the_model_task() -> None:
    async def ok(request: web.Request) -> web.StreamResponse:
        return web.json_response({"model": "theirs", "data": []})

    async def run() -> None:
        embed = EmbeddingsRequest.model_validate({"input": "x"})
        text = CompletionsRequest.model_validate({"prompt": "x"})
        async with upstream(ok, task="embeddings") as engine:
            assert (await engine.embed(embed, {"input": "x"}))["model"] == "ours"
            for call in (engine.chat(CHAT, BODY), engine.completion(text, {"prompt": "x"})):
                with pytest.raises(MaasError) as refused:
                    await call
                assert (refused.value.status, refused.value.code) == (404, "modality_not_supported")
            with pytest.raises(MaasError):
                engine.chat_stream(CHAT, BODY)
        async with upstream(ok, task="chat-completion") as engine:
            assert (await engine.chat(CHAT, BODY))["model"] == "ours"
            with pytest.raises(MaasError) as refused:
                await engine.embed(embed, {"input": "x"})
            assert refused.value.code == "modality_not_supported"

    asyncio.run(run())
