"""The `transformers` engine: any Hugging Face causal-LM folder, on CPU (or GPU where present).

Loads through the ordinary `AutoTokenizer` / `AutoModelForCausalLM.from_pretrained` path, formats
chats with the model's own chat template and counts usage with its own tokenizer. Concurrent
requests to one engine decode together: a scheduler thread (`batcher.py`, torch releases the GIL)
runs continuous batching, where requests join and leave the batch at every token step, each with
its own sampling settings, and streams each one token by token through a queue. A client that
goes away closes its stream, and its row leaves the batch at the next step.

`spec.options["maxBatch"]` bounds the rows decoding together (default 32); further requests wait
inside the engine. From the model's `generation_config.json` the engine takes the sampling
defaults (temperature, top_p, `do_sample: false` meaning greedy), the end-of-sequence ids and the
repetition penalty; its other settings (top_k, no_repeat_ngram_size, ...) are not applied.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

from maas.core.errors import MaasError, Unavailable, Unprocessable
from maas.core.shipped import resolve_path
from maas.protocol.inference.chat import ChatCompletionsRequest, CompletionsRequest, SamplingFields
from maas.serving.engines import shapes
from maas.serving.engines.base import Json, ModelSpec, Unsupported
from maas.serving.engines.batcher import DEFAULT_MAX_BATCH, Batcher, Piece
from maas.serving.engines.decode_batch import Runner
from maas.serving.engines.generation import Plan, plan, refuse_unsupported
from maas.serving.engines.usage import StreamChunk, Usage


class TransformersEngine(Unsupported):
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.path = resolve_path(str(spec.artifact.get("path", "")))
        self.tokenizer: Any = None
        self.model: Any = None
        self.batcher: Batcher | None = None
        self.context_length = spec.context_length or 2048
        self.defaults: dict[str, float] = {}

    async def start(self) -> None:
        await asyncio.to_thread(self._load)

    def _load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if not (Path(self.path) / "config.json").is_file():
            raise MaasError(f"No Hugging Face model at '{self.path}'.", code="ModelLoadFailed")
        max_batch = _max_batch(self.spec.options.get("maxBatch", DEFAULT_MAX_BATCH))
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.float16 if device == "cuda" else torch.float32
        model: Any = AutoModelForCausalLM.from_pretrained(self.path, dtype=dtype)
        self.model = model.to(device).eval()
        config = self.model.config
        self.context_length = self.spec.context_length or int(
            getattr(config, "max_position_embeddings", 2048)
        )
        # Like vLLM, sampling defaults come from what the model's generation_config.json says
        # explicitly; a model that asks for greedy decoding gets temperature 0 unless the request
        # sets one.
        path = Path(self.path) / "generation_config.json"
        explicit = json.loads(path.read_text()) if path.is_file() else {}
        for name in ("temperature", "top_p"):
            if isinstance(explicit.get(name), int | float):
                self.defaults[name] = float(explicit[name])
        if explicit.get("do_sample") is False:
            self.defaults["temperature"] = 0.0
        generation = self.model.generation_config
        eos = generation.eos_token_id
        eos_ids = {*(eos if isinstance(eos, list) else [eos]), self.tokenizer.eos_token_id} - {None}
        self.batcher = Batcher(
            Runner.of(self.model),
            self.tokenizer,
            frozenset(int(i) for i in eos_ids),
            repetition_penalty=float(generation.repetition_penalty or 1.0),
            max_batch=max_batch,
        )

    async def close(self) -> None:
        batcher, self.batcher = self.batcher, None
        if batcher is not None:
            await asyncio.to_thread(batcher.close)
        self.model = None

    # -- prompts -------------------------------------------------------------------------------
    def _chat_ids(self, request: ChatCompletionsRequest) -> list[int]:
        messages = []
        for message in request.messages:
            role = {"developer": "system", "tool": "user"}.get(message.role, message.role)
            messages.append({"role": role, "content": message.text()})
        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        if isinstance(ids, dict) or hasattr(ids, "input_ids"):
            ids = ids["input_ids"]
        return [int(i) for i in ids]

    def _text_ids(self, request: CompletionsRequest) -> list[int]:
        prompt = request.prompt if isinstance(request.prompt, str) else "".join(request.prompt)
        ids = [int(i) for i in self.tokenizer(prompt)["input_ids"]]
        if not ids:  # `["", ""]`, with a tokenizer that adds no start token: nothing to continue
            raise Unprocessable(
                "The prompt is empty: it has no tokens for the model to continue.",
                code="invalid_parameter",
                target="prompt",
            )
        return ids

    # -- generation ----------------------------------------------------------------------------
    def _stream(self, ids: list[int], how: Plan) -> AsyncGenerator[Piece, None]:
        if self.batcher is None:
            raise Unavailable(f"The model '{self.spec.name}' is not loaded.", code="model_unloaded")
        return self.batcher.stream(ids, how)

    async def _collect(self, ids: list[int], how: Plan) -> tuple[str, int, str]:
        parts: list[str] = []
        async with aclosing(self._stream(ids, how)) as pieces:
            async for piece, count, reason in pieces:
                parts.append(piece)
                if reason is not None:
                    return "".join(parts), count, reason
        raise MaasError("Generation ended without a result.", code="GenerationFailed")

    # -- routes ---------------------------------------------------------------------------------
    def _plan(self, request: SamplingFields, ids: list[int]) -> Plan:
        refuse_unsupported(request)
        return plan(request, len(ids), self.context_length, self.defaults)

    async def chat(self, request: ChatCompletionsRequest, body: Json) -> Json:
        ids = self._chat_ids(request)
        how = self._plan(request, ids)
        text, count, finish = await self._collect(ids, how)
        return shapes.chat_response(shapes.completion_id(), self.spec.name, text, finish, len(ids), count)

    async def chat_stream(self, request: ChatCompletionsRequest, body: Json) -> AsyncIterator[StreamChunk]:
        ids = self._chat_ids(request)
        how = self._plan(request, ids)
        cid, created = shapes.completion_id(), int(time.time())
        first = shapes.chat_chunk(cid, created, self.spec.name, {"role": "assistant", "content": ""})
        yield first, Usage(len(ids), 0)
        # aclosing: when the client goes away this generator is closed, and closes the generation
        # at once rather than whenever the garbage collector finalises it
        async with aclosing(self._stream(ids, how)) as pieces:
            async for piece, count, reason in pieces:
                if piece:
                    chunk = shapes.chat_chunk(cid, created, self.spec.name, {"content": piece})
                    yield chunk, Usage(len(ids), count)
                if reason is not None:
                    last = shapes.chat_chunk(cid, created, self.spec.name, {}, reason)
                    last["usage"] = shapes.usage(len(ids), count)
                    yield last, Usage(len(ids), count)

    async def completion(self, request: CompletionsRequest, body: Json) -> Json:
        ids = self._text_ids(request)
        how = self._plan(request, ids)
        text, count, finish = await self._collect(ids, how)
        return shapes.text_response(
            shapes.completion_id("cmpl"), self.spec.name, text, finish, len(ids), count
        )

    async def completion_stream(self, request: CompletionsRequest, body: Json) -> AsyncIterator[StreamChunk]:
        ids = self._text_ids(request)
        how = self._plan(request, ids)
        cid, created = shapes.completion_id("cmpl"), int(time.time())
        async with aclosing(self._stream(ids, how)) as pieces:
            async for piece, count, reason in pieces:
                if reason is None:
                    if piece:
                        chunk = shapes.text_chunk(cid, created, self.spec.name, piece)
                        yield chunk, Usage(len(ids), count)
                    continue
                last = shapes.text_chunk(cid, created, self.spec.name, piece, reason)
                last["usage"] = shapes.usage(len(ids), count)
                yield last, Usage(len(ids), count)


def _max_batch(value: Any) -> int:
    """The model option `maxBatch`: a positive integer (a digit string is accepted too)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | str)
        or not str(value).isdigit()
        or int(value) < 1
    ):
        raise MaasError(
            f"The model option 'maxBatch' must be a positive integer, not {value!r}.", code="ModelLoadFailed"
        )
    return int(value)
