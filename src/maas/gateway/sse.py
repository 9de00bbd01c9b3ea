"""Server-sent events in the exact form OpenAI and Azure clients parse: each event is
`data: {json}\\n\\n`, the stream ends with `data: [DONE]\\n\\n`, and a failure after the headers
were sent becomes one final error event before `[DONE]`. A client that disconnects stops the
engine: the chunk iterator is closed, which cancels generation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from maas.core.errors import MaasError
from maas.gateway.errors import envelope
from maas.gateway.http import Exchange

log = logging.getLogger("maas.gateway")
DONE = b"data: [DONE]\n\n"


def event(chunk: Any) -> bytes:
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


async def watch_disconnect(exchange: Exchange, gone: asyncio.Event) -> None:
    while True:
        message = await exchange.receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


async def stream(exchange: Exchange, chunks: AsyncIterator[dict[str, Any]]) -> None:
    gone = asyncio.Event()
    watcher = asyncio.create_task(watch_disconnect(exchange, gone))
    started = False
    try:
        engine_start = time.perf_counter()
        # errors before the first chunk still get a normal error response; a client that leaves
        # while the request waits (in a pool's queue, during a cold start) gives up its place
        first = await _first(chunks, gone)
        exchange.engine_seconds += time.perf_counter() - engine_start
        headers = exchange.response_headers(b"text/event-stream", [(b"cache-control", b"no-cache")])
        await exchange.send({"type": "http.response.start", "status": 200, "headers": headers})
        started = True
        await exchange.send({"type": "http.response.body", "body": event(first), "more_body": True})
        try:
            async for chunk in chunks:
                if gone.is_set():
                    return
                await exchange.send({"type": "http.response.body", "body": event(chunk), "more_body": True})
        except MaasError as error:
            await exchange.send(
                {"type": "http.response.body", "body": event(envelope(error)), "more_body": True}
            )
        except Exception:
            log.exception("stream failed")
            failure = MaasError("The model failed while streaming.", code="stream_failed")
            await exchange.send(
                {"type": "http.response.body", "body": event(envelope(failure)), "more_body": True}
            )
        if not gone.is_set():
            await exchange.send({"type": "http.response.body", "body": DONE, "more_body": False})
    except StopAsyncIteration:
        if not started:
            raise MaasError("The model produced no output.", code="empty_stream") from None
    finally:
        watcher.cancel()
        await chunks.aclose()  # type: ignore[attr-defined]


async def _first(chunks: AsyncIterator[dict[str, Any]], gone: asyncio.Event) -> dict[str, Any]:
    task = asyncio.ensure_future(anext(chunks))
    waiter = asyncio.create_task(gone.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise ClientGone
    return task.result()


class ClientGone(Exception):
    """The client disconnected before the answer was ready; the gateway sends nothing."""


async def until_disconnect(exchange: Exchange, work: Any) -> Any:
    """Run a non-streaming engine call, cancelling it (and raising ClientGone) if the client goes
    away first. Not CancelledError: that would reach the server as a failed request."""
    gone = asyncio.Event()
    watcher = asyncio.create_task(watch_disconnect(exchange, gone))
    task = asyncio.ensure_future(work)
    waiter = asyncio.create_task(gone.wait())
    try:
        done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return task.result()
        task.cancel()
        raise ClientGone
    finally:
        watcher.cancel()
        waiter.cancel()
