"""A deterministic OpenAI-compatible upstream on loopback, for tests only.

It answers `/v1/completions` in the text-completion shape and `/v1/chat/completions` in the chat
shape. Behaviour is chosen by the last user message: `FAIL500` → 500, `FAIL400` → 400 with an OpenAI
error, `SLOW` → waits 30 s (for cancellation tests), `BREAK` → stream cut after two chunks,
`REDIRECT` → 307 to `redirect` with a body that must never reach a tenant (`REDIRECT_BODY`).
Every request is recorded (path, headers, JSON body) in `requests`, and streams that were closed
early are counted in `cancelled`. It listens on 127.0.0.1 unless told another loopback address.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

WORDS = ["Hello", " from", " the", " fake", " upstream", "."]
REDIRECT_BODY = "the redirect's own body, which no tenant may see"


@dataclass
class FakeUpstream:
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    cancelled: int = 0
    redirect: str = ""  # where `REDIRECT` points


def _last_user(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            return str(message.get("content"))
    return str(body.get("prompt", ""))


def _app(state: FakeUpstream) -> web.Application:
    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        state.requests.append({"path": request.path, "headers": dict(request.headers), "body": body})
        text = _last_user(body)
        if "FAIL500" in text:
            return web.json_response({"error": {"message": "upstream exploded"}}, status=500)
        if "REDIRECT" in text:
            return web.json_response(
                {"error": {"message": REDIRECT_BODY}}, status=307, headers={"Location": state.redirect}
            )
        if "FAIL400" in text:
            return web.json_response(
                {"error": {"message": "bad upstream request", "type": "invalid_request_error"}}, status=400
            )
        if "SLOW" in text and not body.get("stream"):
            await asyncio.sleep(30)
        usage = {"prompt_tokens": 7, "completion_tokens": len(WORDS), "total_tokens": 7 + len(WORDS)}
        model = body.get("model", "fake")
        text_route = request.path.endswith("/v1/completions")  # the text shape, not the chat one
        kind = "text_completion" if text_route else "chat.completion"
        if not body.get("stream"):
            if text_route:
                choice = {"index": 0, "text": "".join(WORDS), "finish_reason": "stop", "logprobs": None}
            else:
                message = {"role": "assistant", "content": "".join(WORDS)}
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return web.json_response(
                {
                    "id": "chatcmpl-fake",
                    "object": kind,
                    "created": int(time.time()),
                    "model": model,
                    "choices": [choice],
                    "usage": usage,
                }
            )

        def chunk_of(word: str | None, finish: str | None) -> dict[str, Any]:
            if text_route:
                choice = {"index": 0, "text": word or "", "finish_reason": finish}
            else:
                choice = {
                    "index": 0,
                    "delta": {} if word is None else {"content": word},
                    "finish_reason": finish,
                }
            return {
                "id": "chatcmpl-fake",
                "object": kind if text_route else "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [choice],
            }

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            for index, word in enumerate(WORDS):
                if "BREAK" in text and index == 2:
                    # let the relay read what was sent before the reset: a reset can discard data
                    # still in the receiver's socket buffer, which would make the test flaky
                    await asyncio.sleep(0.1)
                    raise ConnectionResetError("cut")
                await response.write(f"data: {json.dumps(chunk_of(word, None))}\n\n".encode())
                if "SLOW" in text:
                    await asyncio.sleep(1)
            await response.write(f"data: {json.dumps(chunk_of(None, 'stop'))}\n\n".encode())
            usage_chunk = {**chunk_of(None, None), "choices": [], "usage": usage}
            await response.write(f"data: {json.dumps(usage_chunk)}\n\n".encode())
            await response.write(b"data: [DONE]\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            state.cancelled += 1
            raise
        return response

    async def embeddings(request: web.Request) -> web.Response:
        body = await request.json()
        state.requests.append({"path": request.path, "headers": dict(request.headers), "body": body})
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i, _ in enumerate(inputs)
        ]
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body.get("model"),
                "usage": {"prompt_tokens": len(inputs), "total_tokens": len(inputs)},
            }
        )

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/completions", chat)
    app.router.add_post("/v1/embeddings", embeddings)
    return app


@contextmanager
def fake_upstream(host: str = "127.0.0.1") -> Iterator[FakeUpstream]:
    state = FakeUpstream()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner = web.AppRunner(_app(state), handler_cancellation=True)

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, host, 0)
        loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        state.url = f"http://{host}:{port}/v1"
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield state
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
