"""The `vllm` engine (GPU): runs vLLM's own OpenAI-compatible server for one model as a child
process and relays to it with the `openai-upstream` engine.

Chosen over embedding `AsyncLLMEngine` in the gateway process: vLLM owns the GPU, its own
continuous batching and its memory; a crash or an out-of-memory there never takes MaaS down; and
its server is the interface vLLM keeps stable. Select it for a Hugging Face model with the model
option `{"engine": "vllm"}`; install with `pip install 'maas[vllm]'` on a machine with a GPU.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp

from maas.core.errors import MaasError
from maas.core.shipped import resolve_path
from maas.protocol.inference.chat import ChatCompletionsRequest, CompletionsRequest
from maas.protocol.inference.embeddings import EmbeddingsRequest
from maas.serving.engines.base import Json, ModelSpec
from maas.serving.engines.openai_upstream import OpenAIUpstreamEngine
from maas.serving.engines.usage import StreamChunk


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class VllmEngine:
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.path = resolve_path(str(spec.artifact.get("path", "")))
        self.process: subprocess.Popen[bytes] | None = None
        self.relay: OpenAIUpstreamEngine | None = None

    async def start(self) -> None:
        port = _free_port()
        args = [
            sys.executable,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            self.path,
            "--served-model-name",
            self.spec.name,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        if self.spec.context_length:
            args += ["--max-model-len", str(self.spec.context_length)]
        args += [str(a) for a in self.spec.options.get("vllm_args", [])]
        self.process = subprocess.Popen(args, env=os.environ.copy())
        base = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + float(self.spec.options.get("start_timeout", 600))
        async with aiohttp.ClientSession() as session:
            while True:
                if self.process.poll() is not None:
                    raise MaasError(
                        f"vLLM exited with code {self.process.returncode} while loading.",
                        code="ModelLoadFailed",
                    )
                try:
                    async with session.get(f"http://127.0.0.1:{port}/health") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise MaasError("vLLM did not become healthy in time.", code="ModelLoadFailed")
                await asyncio.sleep(0.5)
        artifact = {"kind": "openai-upstream", "url": base, "upstreamModel": self.spec.name}
        self.relay = OpenAIUpstreamEngine(replace(self.spec, artifact=artifact, api_key=None))
        await self.relay.start()

    async def close(self) -> None:
        if self.relay is not None:
            await self.relay.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 30)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def _relay(self) -> OpenAIUpstreamEngine:
        if self.relay is None:
            raise MaasError("The vLLM engine is not started.", code="engine_not_ready")
        return self.relay

    async def chat(self, request: ChatCompletionsRequest, body: Json) -> Json:
        return await self._relay().chat(request, body)

    def chat_stream(self, request: ChatCompletionsRequest, body: Json) -> AsyncIterator[StreamChunk]:
        return self._relay().chat_stream(request, body)

    async def completion(self, request: CompletionsRequest, body: Json) -> Json:
        return await self._relay().completion(request, body)

    def completion_stream(self, request: CompletionsRequest, body: Json) -> AsyncIterator[StreamChunk]:
        return self._relay().completion_stream(request, body)

    async def embed(self, request: EmbeddingsRequest, body: Json) -> Json:
        return await self._relay().embed(request, body)
