"""The event-stream writer, the body reader and the error envelope, on a scripted ASGI exchange."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from maas.core.errors import (
    BadGateway,
    MaasError,
    PayloadTooLarge,
    TooManyRequests,
    Unavailable,
    Unprocessable,
)
from maas.gateway.errors import envelope, render
from maas.gateway.http import Exchange
from maas.gateway.sse import ClientGone, stream, until_disconnect


class Script:
    """An ASGI receive/send pair: request messages to hand out, and everything sent back."""

    def __init__(self, *messages: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for message in messages:
            self.incoming.put_nowait(message)
        self.sent: list[dict[str, Any]] = []
        self.exchange = Exchange(
            {"headers": headers or [], "method": "POST", "path": "/"}, self.receive, self.send
        )

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def disconnect(self) -> None:
        self.incoming.put_nowait({"type": "http.disconnect"})

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    def header(self, name: bytes) -> bytes | None:
        return dict(self.sent[0]["headers"]).get(name)


class Chunks:
    """An async chunk iterator that records being closed, and can fail or wait on cue."""

    def __init__(self, items: list[Any], gate: asyncio.Event | None = None) -> None:
        self.items = items
        self.gate = gate
        self.closed = False
        self.given = 0

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self.given == 1 and self.gate is not None:
            await self.gate.wait()
        if self.given >= len(self.items):
            raise StopAsyncIteration
        item = self.items[self.given]
        self.given += 1
        if isinstance(item, BaseException):
            raise item
        return dict(item)

    async def aclose(self) -> None:
        self.closed = True


def _events(body: bytes) -> list[bytes]:
    assert body.endswith(b"\n\n")
    return body[:-2].split(b"\n\n")


def test_a_stream_is_exact_events_then_done() -> None:
    async def run() -> Script:
        script = Script(headers=[(b"x-ms-client-request-id", b"abc")])
        chunks = Chunks([{"n": 1}, {"n": 2, "s": "é\n"}])
        await stream(script.exchange, chunks)
        assert chunks.closed
        return script

    script = asyncio.run(run())
    assert script.status == 200
    assert script.header(b"content-type") == b"text/event-stream"
    assert script.header(b"x-ms-client-request-id") == b"abc"
    assert script.header(b"x-maas-overhead-ms") is not None
    assert script.body == b'data: {"n":1}\n\ndata: {"n":2,"s":"\xc3\xa9\\n"}\n\ndata: [DONE]\n\n'
    assert script.sent[-1] == {"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False}


@pytest.mark.parametrize(
    ("failure", "code", "status"),
    [(BadGateway("upstream broke"), "UpstreamError", 502), (RuntimeError("boom"), "stream_failed", 500)],
)
def test_a_failure_mid_stream_is_one_error_event_then_done(
    failure: Exception, code: str, status: int
) -> None:
    async def run() -> Script:
        script = Script()
        chunks = Chunks([{"n": 1}, failure, {"never": True}])
        await stream(script.exchange, chunks)
        assert chunks.closed
        return script

    script = asyncio.run(run())
    events = _events(script.body)
    assert events[0] == b'data: {"n":1}' and events[-1] == b"data: [DONE]" and len(events) == 3
    error = orjson.loads(events[1].removeprefix(b"data: "))["error"]
    assert error["code"] == code and error["status"] == status
    assert "boom" not in error["message"]  # internal details stay in the log


def test_a_failure_before_the_first_chunk_is_raised_for_a_normal_response() -> None:
    async def run() -> tuple[Script, Chunks]:
        script = Script()
        chunks = Chunks([Unprocessable("no tools", code="parameter_not_supported")])
        with pytest.raises(Unprocessable):
            await stream(script.exchange, chunks)
        return script, chunks

    script, chunks = asyncio.run(run())
    assert script.sent == [] and chunks.closed


def test_an_empty_stream_is_an_error() -> None:
    async def run() -> None:
        with pytest.raises(MaasError) as failed:
            await stream(Script().exchange, Chunks([]))
        assert failed.value.code == "empty_stream"

    asyncio.run(run())


def test_a_disconnect_stops_the_stream_and_closes_the_chunks() -> None:
    async def run() -> tuple[Script, Chunks]:
        script = Script()
        gate = asyncio.Event()
        chunks = Chunks([{"n": 1}, {"n": 2}, {"n": 3}], gate)
        task = asyncio.create_task(stream(script.exchange, chunks))
        for _ in range(100):
            await asyncio.sleep(0)
        script.disconnect()
        for _ in range(100):
            await asyncio.sleep(0)
        gate.set()
        await asyncio.wait_for(task, 5)
        return script, chunks

    script, chunks = asyncio.run(run())
    assert chunks.closed
    assert b"[DONE]" not in script.body  # nobody is listening
    assert chunks.given < 3


def test_until_disconnect_cancels_the_work() -> None:
    async def run() -> bool:
        script = Script()
        cancelled = asyncio.Event()

        async def work() -> None:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        script.disconnect()
        with pytest.raises(ClientGone):
            await asyncio.wait_for(until_disconnect(script.exchange, work()), 5)
        await asyncio.wait_for(cancelled.wait(), 5)
        return True

    assert asyncio.run(run())


def test_until_disconnect_returns_the_result() -> None:
    async def run() -> Any:
        async def work() -> int:
            return 42

        return await until_disconnect(Script().exchange, work())

    assert asyncio.run(run()) == 42


# -- bodies -----------------------------------------------------------------------------------------
def _read(limit: int, *parts: bytes, length: int | None = None) -> bytes:
    messages = [
        {"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)
    ]
    headers = [(b"content-length", str(length).encode())] if length is not None else []
    script = Script(*messages, headers=headers)
    return asyncio.run(script.exchange.body(limit))


def test_body_limits() -> None:
    assert _read(10, b"12345", b"67890") == b"1234567890"
    assert _read(10, b"1234567890", length=10) == b"1234567890"
    assert _read(10, b"") == b""
    with pytest.raises(PayloadTooLarge) as declared:
        _read(10, b"x", length=11)  # refused on the header alone
    assert declared.value.code == "request_too_large"
    with pytest.raises(PayloadTooLarge):
        _read(10, b"123456", b"78901")  # chunked past the limit
    with pytest.raises(PayloadTooLarge):
        _read(10, b"12345678901", length=5)  # a lying Content-Length does not help


# -- the envelope ------------------------------------------------------------------------------------
def test_the_error_envelope() -> None:
    error = Unprocessable("bad n", code="parameter_not_supported", target="n")
    assert envelope(error) == {
        "error": {
            "code": "parameter_not_supported",
            "message": "bad n",
            "status": 422,
            "type": "invalid_request_error",
            "param": "n",
        }
    }
    assert envelope(MaasError("x"))["error"]["type"] == "api_error"


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        (Unavailable("busy"), True),
        (TooManyRequests("quota"), True),
        (BadGateway("up"), False),
        (Unprocessable("p"), False),
    ],
)
def test_render(error: MaasError, retry: bool) -> None:
    script = Script()
    asyncio.run(render(script.exchange, error))
    assert script.status == error.status
    assert script.header(b"x-ms-error-code") == error.code.encode()
    assert script.header(b"content-type") == b"application/json"
    assert int(script.header(b"content-length") or 0) == len(script.body)
    assert (script.header(b"retry-after") is not None) == retry
    assert orjson.loads(script.body) == envelope(error)
