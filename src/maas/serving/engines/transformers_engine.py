"""The `transformers` engine: any Hugging Face causal-LM folder, on CPU (or GPU where present).

Loads through the ordinary `AutoTokenizer` / `AutoModelForCausalLM.from_pretrained` path, formats
chats with the model's own chat template and counts usage with its own tokenizer. Generation runs
in a worker thread (torch releases the GIL) and streams token by token through a queue; one
generation runs at a time per engine here — batching concurrent requests is the serverless pool's
job. A client that goes away sets the cancel flag, which a stopping criterion checks every token.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from pathlib import Path
from typing import Any

from maas.core.errors import MaasError
from maas.core.shipped import resolve_path
from maas.protocol.inference.chat import ChatCompletionsRequest, CompletionsRequest, SamplingFields
from maas.serving.engines import shapes
from maas.serving.engines.base import Json, ModelSpec, Unsupported
from maas.serving.engines.generation import Plan, StopScanner, plan, refuse_unsupported

_DONE = object()
Piece = tuple[str, int, str | None]  # text, tokens generated so far, finish reason at the end


class TransformersEngine(Unsupported):
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.path = resolve_path(str(spec.artifact.get("path", "")))
        self._lock = threading.Lock()
        self.tokenizer: Any = None
        self.model: Any = None
        self.context_length = spec.context_length or 2048
        self.defaults: dict[str, float] = {}

    async def start(self) -> None:
        await asyncio.to_thread(self._load)

    def _load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if not (Path(self.path) / "config.json").is_file():
            raise MaasError(f"No Hugging Face model at '{self.path}'.", code="ModelLoadFailed")
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

    async def close(self) -> None:
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
        return [int(i) for i in self.tokenizer(prompt)["input_ids"]]

    # -- generation ----------------------------------------------------------------------------
    def _generate(
        self, ids: list[int], how: Plan, cancel: threading.Event, emit: Callable[[Piece], None]
    ) -> None:
        """Run one generation in the calling (worker) thread, emitting (text, tokens, finish)."""
        import torch
        from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

        prompt_len = len(ids)
        tokenizer = self.tokenizer
        eos = tokenizer.eos_token_id
        scanner = StopScanner(how.stop)
        seen = [0]

        class Penalties(LogitsProcessor):
            def __call__(self, input_ids: Any, scores: Any) -> Any:
                generated = input_ids[:, prompt_len:]
                if generated.shape[1] == 0:
                    return scores
                ones = torch.ones_like(generated, dtype=scores.dtype)
                counts = torch.zeros_like(scores).scatter_add_(1, generated, ones)
                presence = (counts > 0).to(scores.dtype)
                return scores - how.frequency_penalty * counts - how.presence_penalty * presence

        class Watch(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                new = input_ids[0, prompt_len:].tolist()
                if len(new) > seen[0]:
                    seen[0] = len(new)
                    text = tokenizer.decode([t for t in new if t != eos], skip_special_tokens=True)
                    piece = scanner.feed(text)
                    if piece:
                        emit((piece, len(new), None))
                stop = cancel.is_set() or scanner.stopped
                return torch.full((input_ids.shape[0],), stop, dtype=torch.bool)

        kwargs: dict[str, Any] = {
            "max_new_tokens": how.max_new_tokens,
            "do_sample": not how.greedy,
            "stopping_criteria": StoppingCriteriaList([Watch()]),
            "pad_token_id": tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos,
        }
        if not how.greedy:
            kwargs.update(temperature=how.temperature, top_p=how.top_p, top_k=0)
        if how.presence_penalty or how.frequency_penalty:
            kwargs["logits_processor"] = LogitsProcessorList([Penalties()])
        with self._lock, torch.inference_mode():
            if how.seed is not None:
                torch.manual_seed(how.seed)
            output = self.model.generate(torch.tensor([ids], device=self.model.device), **kwargs)
        new = output[0, prompt_len:].tolist()
        ended = bool(new) and new[-1] == eos
        finish = "stop" if scanner.stopped or ended or len(new) < how.max_new_tokens else "length"
        text = tokenizer.decode([t for t in new if t != eos], skip_special_tokens=True)
        emit((scanner.feed(text, final=True), len(new), finish))

    async def _stream(self, ids: list[int], how: Plan) -> AsyncGenerator[Piece, None]:
        loop = asyncio.get_running_loop()
        channel: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()

        def emit(item: Any) -> None:
            loop.call_soon_threadsafe(channel.put_nowait, item)

        def work() -> None:
            try:
                self._generate(ids, how, cancel, emit)
            except BaseException as exc:  # handed to the consumer, raised there
                emit(exc)
            finally:
                emit(_DONE)

        threading.Thread(target=work, name="maas-generate", daemon=True).start()
        try:
            while True:
                item = await channel.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            cancel.set()  # the client went away or the stream ended: stop generating

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

    async def chat_stream(self, request: ChatCompletionsRequest, body: Json) -> AsyncIterator[Json]:
        ids = self._chat_ids(request)
        how = self._plan(request, ids)
        cid, created = shapes.completion_id(), int(time.time())
        yield shapes.chat_chunk(cid, created, self.spec.name, {"role": "assistant", "content": ""})
        # aclosing: when the client goes away this generator is closed, and closes the generation
        # at once rather than whenever the garbage collector finalises it
        async with aclosing(self._stream(ids, how)) as pieces:
            async for piece, count, reason in pieces:
                if piece:
                    yield shapes.chat_chunk(cid, created, self.spec.name, {"content": piece})
                if reason is not None:
                    last = shapes.chat_chunk(cid, created, self.spec.name, {}, reason)
                    last["usage"] = shapes.usage(len(ids), count)
                    yield last

    async def completion(self, request: CompletionsRequest, body: Json) -> Json:
        ids = self._text_ids(request)
        how = self._plan(request, ids)
        text, count, finish = await self._collect(ids, how)
        return shapes.text_response(
            shapes.completion_id("cmpl"), self.spec.name, text, finish, len(ids), count
        )

    async def completion_stream(self, request: CompletionsRequest, body: Json) -> AsyncIterator[Json]:
        ids = self._text_ids(request)
        how = self._plan(request, ids)
        cid, created = shapes.completion_id("cmpl"), int(time.time())
        async with aclosing(self._stream(ids, how)) as pieces:
            async for piece, count, reason in pieces:
                if reason is None:
                    if piece:
                        yield shapes.text_chunk(cid, created, self.spec.name, piece)
                    continue
                last = shapes.text_chunk(cid, created, self.spec.name, piece, reason)
                last["usage"] = shapes.usage(len(ids), count)
                yield last
