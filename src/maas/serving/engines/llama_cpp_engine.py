"""The `llama.cpp` engine for GGUF files, through llama-cpp-python (optional extra `maas[llamacpp]`).

llama-cpp-python has no wheel on PyPI for this platform; it builds from source (~6 minutes, gcc
and cmake present). Its `create_chat_completion` already returns OpenAI-shaped dicts, so this
engine runs it in a worker thread and relays them. One generation at a time per model.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

from maas.core.shipped import resolve_path
from maas.protocol.inference.chat import ChatCompletionsRequest, CompletionsRequest
from maas.serving.engines.base import Json, ModelSpec, Unsupported
from maas.serving.engines.generation import plan, refuse_unsupported
from maas.serving.engines.usage import StreamChunk

_DONE = object()


class LlamaCppEngine(Unsupported):
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.path = resolve_path(str(spec.artifact.get("path", "")))
        self.llm: Any = None
        self._lock = threading.Lock()

    async def start(self) -> None:
        from llama_cpp import Llama

        context = self.spec.context_length or 2048
        self.llm = await asyncio.to_thread(Llama, model_path=self.path, n_ctx=context, verbose=False)

    async def close(self) -> None:
        self.llm = None

    def _kwargs(
        self, request: ChatCompletionsRequest | CompletionsRequest, prompt_tokens: int
    ) -> dict[str, Any]:
        refuse_unsupported(request)
        how = plan(request, prompt_tokens, int(self.llm.n_ctx()))
        return {
            "max_tokens": how.max_new_tokens,
            "temperature": how.temperature,
            "top_p": how.top_p,
            "stop": list(how.stop) or None,
            "seed": how.seed,
            "presence_penalty": how.presence_penalty,
            "frequency_penalty": how.frequency_penalty,
        }

    def _messages(self, request: ChatCompletionsRequest) -> list[dict[str, str]]:
        return [
            {"role": m.role if m.role != "developer" else "system", "content": m.text()}
            for m in request.messages
        ]

    def _prompt_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode()))

    async def chat(self, request: ChatCompletionsRequest, body: Json) -> Json:
        messages = self._messages(request)
        kwargs = self._kwargs(request, self._prompt_tokens(" ".join(m["content"] for m in messages)))
        result: Json = await asyncio.to_thread(
            self._locked, self.llm.create_chat_completion, messages=messages, **kwargs
        )
        result["model"] = self.spec.name
        return result

    async def completion(self, request: CompletionsRequest, body: Json) -> Json:
        prompt = request.prompt if isinstance(request.prompt, str) else "".join(request.prompt)
        kwargs = self._kwargs(request, self._prompt_tokens(prompt))
        result: Json = await asyncio.to_thread(
            self._locked, self.llm.create_completion, prompt=prompt, **kwargs
        )
        result["model"] = self.spec.name
        return result

    def _locked(self, fn: Any, **kwargs: Any) -> Any:
        with self._lock:
            return fn(**kwargs)

    async def chat_stream(self, request: ChatCompletionsRequest, body: Json) -> AsyncIterator[StreamChunk]:
        messages = self._messages(request)
        prompt_tokens = self._prompt_tokens(" ".join(m["content"] for m in messages))
        kwargs = self._kwargs(request, prompt_tokens)
        async for chunk in self._relay(
            lambda: self.llm.create_chat_completion(messages=messages, stream=True, **kwargs)
        ):
            yield chunk, None

    async def completion_stream(self, request: CompletionsRequest, body: Json) -> AsyncIterator[StreamChunk]:
        prompt = request.prompt if isinstance(request.prompt, str) else "".join(request.prompt)
        kwargs = self._kwargs(request, self._prompt_tokens(prompt))
        async for chunk in self._relay(
            lambda: self.llm.create_completion(prompt=prompt, stream=True, **kwargs)
        ):
            yield chunk, None

    async def _relay(self, start: Any) -> AsyncIterator[Json]:
        loop = asyncio.get_running_loop()
        channel: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()

        def work() -> None:
            try:
                with self._lock:
                    chunks: Iterator[Json] = start()
                    for chunk in chunks:
                        if cancel.is_set():
                            break
                        loop.call_soon_threadsafe(channel.put_nowait, chunk)
            except BaseException as exc:  # handed to the consumer
                loop.call_soon_threadsafe(channel.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(channel.put_nowait, _DONE)

        threading.Thread(target=work, name="maas-llamacpp", daemon=True).start()
        try:
            while (item := await channel.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                item["model"] = self.spec.name
                yield item
        finally:
            cancel.set()
