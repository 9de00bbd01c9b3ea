"""A fast fake OpenAI upstream for the gateway benchmark: fixed answers, no work per request.

A raw asyncio HTTP/1.1 server (httptools for parsing, uvloop when installed) so that the upstream
costs as little as possible and the benchmark measures the relay, not the fake. Keep-alive and
pipelining are honoured. Routes: `POST .../chat/completions` answers one fixed `chat.completion`
(or, when the body asks for `"stream": true`, a fixed stream of chunks with usage, then
`[DONE]`); `POST .../completions` and `.../embeddings` answer fixed bodies too; `GET .../models`
lists one model; anything else is a 404 with an OpenAI error. Request bodies are read but never
parsed as JSON, except for a byte search for `"stream":true`.

Meant to run in its own process, so it does not share a GIL with the load generator:

    python bench/fake_upstream.py --port 8900          # prints "listening on http://127.0.0.1:8900/v1"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any, cast

import httptools

MODEL = "fake-model"
USAGE = {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}
CHAT = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1700000000,
    "model": MODEL,
    "system_fingerprint": None,
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello! This is the fake upstream answering."},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": USAGE,
}
COMPLETION = {
    "id": "cmpl-bench",
    "object": "text_completion",
    "created": 1700000000,
    "model": MODEL,
    "choices": [
        {"index": 0, "text": " the fake upstream answering.", "logprobs": None, "finish_reason": "stop"}
    ],
    "usage": USAGE,
}
EMBEDDINGS = {
    "object": "list",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3, 0.4]}],
    "model": MODEL,
    "usage": {"prompt_tokens": 4, "total_tokens": 4},
}
MODELS = {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "bench"}]}
NOT_FOUND = {"error": {"message": "no such route", "type": "invalid_request_error", "code": "not_found"}}


def _dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _chunk(delta: dict[str, Any], finish: str | None, usage: dict[str, int] | None = None) -> bytes:
    choices = [] if usage else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    body: dict[str, Any] = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": MODEL,
        "choices": choices,
    }
    if usage:
        body["usage"] = usage
    return b"data: " + _dumps(body) + b"\n\n"


WORDS = ["Hello", "!", " This", " is", " the", " fake", " upstream", " answering", "."]
STREAM = b"".join(
    [_chunk({"role": "assistant", "content": ""}, None)]
    + [_chunk({"content": word}, None) for word in WORDS]
    + [_chunk({}, "stop"), _chunk({}, None, USAGE), b"data: [DONE]\n\n"]
)


def _response(status: bytes, content_type: bytes, body: bytes) -> bytes:
    length = str(len(body)).encode()
    return b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %s\r\n\r\n%s" % (
        status,
        content_type,
        length,
        body,
    )


JSON = b"application/json"
OK_CHAT = _response(b"200 OK", JSON, _dumps(CHAT))
OK_STREAM = _response(b"200 OK", b"text/event-stream", STREAM)
OK_COMPLETION = _response(b"200 OK", JSON, _dumps(COMPLETION))
OK_EMBEDDINGS = _response(b"200 OK", JSON, _dumps(EMBEDDINGS))
OK_MODELS = _response(b"200 OK", JSON, _dumps(MODELS))
MISSING = _response(b"404 Not Found", JSON, _dumps(NOT_FOUND))


def answer(method: bytes, path: bytes, body: bytes) -> bytes:
    path = path.split(b"?", 1)[0].rstrip(b"/")
    if method == b"POST":
        if path.endswith(b"/chat/completions"):
            streamed = b'"stream":true' in body or b'"stream": true' in body
            return OK_STREAM if streamed else OK_CHAT
        if path.endswith(b"/completions"):
            return OK_COMPLETION
        if path.endswith(b"/embeddings"):
            return OK_EMBEDDINGS
    elif method == b"GET" and path.endswith(b"/models"):
        return OK_MODELS
    return MISSING


class HttpProtocol(asyncio.Protocol):
    """One connection: parse requests with httptools, answer each as soon as it is complete."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._close()
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.write(_response(b"400 Bad Request", b"text/plain", b"bad request"))
            self._close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        method = self.parser.get_method()
        self.transport.write(answer(method, self.url, b"".join(self.body)))
        if not self.parser.should_keep_alive():
            self._close()

    def _close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HttpProtocol, host, port, backlog=4096)
    bound = server.sockets[0].getsockname()[1]
    print(f"listening on http://{host}:{bound}/v1", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A fast fake OpenAI upstream (fixed answers) on loopback.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (0: a free one, printed on start)")
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.host, args.port))
    else:
        uvloop.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
