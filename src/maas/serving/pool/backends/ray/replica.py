"""A pool's replica as Ray Serve runs it (in a Ray actor): one engine, its operations by name
(`maas.serving.pool.operations`).

The constructor loads the engine, so a model that does not load fails the replica's start, which
Serve records in the deployment's status; the loader's message is tagged (`ModelLoadFailed`) so
that the gateway can find it there among the traceback (`load_message`). Requests arrive as the
local worker's payload (`operations.payload`: the request as `model_dump(mode="json",
exclude_unset=True)`, the body and the tenant) and are validated again here. Answers are
envelopes, `{"result"}` or `{"chunk", "usage"?}` (`chunk_frame`) or `{"error": error_frame}`, so
that an engine's MaasError keeps its class and code across the process boundary (Ray would pickle
it without them).

This module imports no Ray: `serve.deployment(ServeReplica)` is applied where it is deployed.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing

from maas.core.errors import MaasError
from maas.serving.engines.base import Engine, Json, ModelSpec, load_engine
from maas.serving.pool import operations
from maas.serving.pool.frames import chunk_frame, error_frame, failure_text

log = logging.getLogger("maas.replica")
LOAD_FAILED = "maas-load-failed: "  # tags the loader's message inside Serve's status message


class ModelLoadFailed(RuntimeError):
    """A replica could not load its model; the message carries the loader's, tagged."""

    def __init__(self, message: str) -> None:
        super().__init__(LOAD_FAILED + json.dumps(message))


def load_message(text: str) -> str:
    """The loader's message inside a status message or error text, else its last line."""
    at = text.rfind(LOAD_FAILED)
    if at >= 0:
        with contextlib.suppress(ValueError):
            message, _ = json.JSONDecoder().raw_decode(text[at + len(LOAD_FAILED) :])
            return str(message)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:500] if lines else "the replica failed to start"


class ServeReplica:
    """One replica of a pool: `call(op, payload)` answers, `stream(op, payload)` yields chunks."""

    # Ray Serve awaits an async constructor (its replica runs user code on an event loop).
    async def __init__(self, spec: ModelSpec, threads: int | None = None) -> None:  # type: ignore[misc]
        if threads:
            with contextlib.suppress(Exception):
                import torch

                torch.set_num_threads(threads)
        try:
            engine = load_engine(spec)
            await engine.start()
        except Exception as exc:
            raise ModelLoadFailed(failure_text(exc)) from None
        self.engine: Engine = engine

    async def call(self, name: str, payload: Json) -> Json:
        try:
            op = operations.operation(name)
            request, body, _ = operations.unpack(op, payload)
            return {"result": await operations.answer(self.engine, op, request, body)}
        except Exception as exc:
            if not isinstance(exc, MaasError):
                log.exception("%s failed", name)
            return {"error": error_frame(exc)}

    async def stream(self, name: str, payload: Json) -> AsyncIterator[Json]:
        try:
            op = operations.operation(name)
            request, body, _ = operations.unpack(op, payload)
            chunks = operations.stream(self.engine, op, request, body)
            async with aclosing(chunks) as stream:  # type: ignore[type-var]
                async for item in stream:
                    yield chunk_frame(item)
        except Exception as exc:
            if not isinstance(exc, MaasError):
                log.exception("%s failed", name)
            yield {"error": error_frame(exc)}
