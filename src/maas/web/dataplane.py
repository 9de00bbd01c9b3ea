"""Studio's calls to a Target URI, made in this process: the request goes to the data plane's own
ASGI app (the gateway `maas serve` runs, handed to `app.install`), so it takes the same path as a
client's call (key or token check, endpoint state, quota, metering, the pool) without a socket,
a TLS certificate or a public base URL that may not route back to this host.

`relay(app, url, body, headers, client)` starts the request and returns once the response's status
and headers are known; its `chunks()` yield the body as the gateway sends it (a stream stays a
stream), and `read()` collects it. Closing early (`aclose`, or leaving `chunks()` unfinished)
tells the gateway the client went away, as a closed connection would: a stream stops and records
what it generated.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message

__all__ = ["Relayed", "relay"]

STOP_WAIT = 5.0  # seconds the gateway gets to finish after the caller left (it records usage)


@dataclass
class Relayed:
    status: int
    headers: dict[str, str]
    _queue: asyncio.Queue[Message | None]
    _task: asyncio.Task[None]
    _gone: asyncio.Event
    _done: bool = field(default=False)

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            while not self._done:
                message = await self._queue.get()
                if message is None:
                    self._done = True
                    break
                if message["type"] == "http.response.body":
                    body = message.get("body", b"")
                    if body:
                        yield body
                    if not message.get("more_body", False):
                        self._done = True
        finally:
            await self.aclose()

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    async def aclose(self) -> None:
        self._gone.set()
        if not self._task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_WAIT)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task


def _scope(url: str, headers: dict[str, str], body: bytes, client: tuple[str, int] | None) -> dict[str, Any]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    sent = [(b"host", parts.netloc.encode("latin-1")), (b"content-length", str(len(body)).encode())]
    sent += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    path = parts.path or "/"
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST" if body else "GET",
        "scheme": parts.scheme or "http",
        "path": path,
        "raw_path": path.encode("latin-1"),
        "query_string": parts.query.encode("latin-1"),
        "root_path": "",
        "headers": sent,
        "client": client,
        "server": (parts.hostname or "localhost", port),
    }


async def relay(
    app: ASGIApp, url: str, body: bytes, headers: dict[str, str], client: tuple[str, int] | None = None
) -> Relayed:
    """POST `body` (GET when empty) to `url` through `app`; returns at the response's start."""
    queue: asyncio.Queue[Message | None] = asyncio.Queue()
    gone = asyncio.Event()
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        await queue.put(message)

    async def run() -> None:
        try:
            await app(_scope(url, headers, body, client), receive, send)
        finally:
            await queue.put(None)

    task = asyncio.create_task(run())
    while True:
        message = await queue.get()
        if message is None:
            error = task.exception() if task.done() and not task.cancelled() else None
            raise RuntimeError(f"the data plane gave no response for {url}") from error
        if message["type"] == "http.response.start":
            found = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])}
            return Relayed(int(message["status"]), found, queue, task, gone)
