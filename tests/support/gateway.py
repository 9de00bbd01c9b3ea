"""Helpers shared by the gateway suites (test_gateway_*.py); there are no tests in this module.

- `put_model` / `deploy`: a catalog model version with any artifact and task, a free FirstParty
  offer for it, and a deployed serverless endpoint with its Target URI and both keys.
- `sqlite_api`: a whole in-process app on SQLite, for module-scoped worlds (engine tests that
  only need one store and should load their model once).
- `live_server`: the same app under a real uvicorn in a thread, for what the test client cannot
  do (a client that closes its connection mid-response).
- `build_tiny_llama`: a tiny random-init Llama Hugging Face folder with a chat template.
- `sse_events`: a strict parser of the gateway's event-stream framing.
- `hanging_upstream`: an OpenAI-compatible server that never answers and notices when the caller
  gives up (support.fake_upstream's SLOW mode only notices that for streams).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn
from aiohttp import web
from fastapi.testclient import TestClient
from pydantic import SecretStr

from maas.core.settings import Settings
from maas.server.app import create_server_app
from maas.server.bootstrap import prepare
from support.api import Api, World

ADMIN_TOKEN = "gateway-admin-token-0123456789"
SECRET = "gateway-secret-0123456789-0123456789-0123456789"
UPSTREAM_MODEL = "azureml://registries/local/models/fake-upstream-chat"
UPSTREAM_EMBED_MODEL = "azureml://registries/local/models/fake-upstream-embed"
TINY_MODEL = "azureml://registries/local/models/tiny-llama"
WORDLLAMA_MODEL = "azureml://registries/local/models/wordllama-embed"
TINY_CONTEXT = 32768  # room for a generation far longer than any test waits for


@dataclass(frozen=True)
class Deployed:
    name: str
    uri: str  # the Target URI the control plane reports
    route: str  # what to put before /chat/completions on the client used (path-based: a path)
    key: str
    secondary_key: str

    def headers(self, **extra: str) -> dict[str, str]:
        return {"api-key": self.key, **extra}


def put_model(
    api: Api,
    model_id: str,
    artifact: dict[str, Any],
    *,
    task: str = "chat-completion",
    provider: str = "gateway-tests",
    version: str = "1",
    context_length: int | None = None,
    serving: dict[str, Any] | None = None,
) -> None:
    """A catalog model version with a free FirstParty offer (deployable without a subscription)."""
    properties: dict[str, Any] = {"artifact": artifact, "task": task, "provider": provider}
    if context_length is not None:
        properties["contextLength"] = context_length
    if serving is not None:
        properties["serving"] = serving
    path = model_id.removeprefix("azureml:/") + f"/versions/{version}"
    api.ok(api.put(path, {"properties": properties}))
    offer = model_id.rsplit("/", 1)[-1]
    api.ok(api.offer(offer, model_id, kind="FirstParty"))


def deploy(api: Api, world: World, name: str, model_id: str) -> Deployed:
    created = api.create_endpoint(world, name, model_id)
    assert created.status_code == 201, created.text
    assert api.wait_operation(created)["status"] == "Succeeded"
    endpoint = api.ok(api.get(world.endpoint(name)), 200)
    uri = endpoint["properties"]["inferenceEndpoint"]["uri"]
    keys = api.ok(api.post(world.endpoint(name) + "/listKeys"), 200)
    base = str(api.client.base_url).rstrip("/")
    route = uri.removeprefix(base) if uri.startswith(base) else uri
    return Deployed(name, uri, route, keys["primaryKey"], keys["secondaryKey"])


def upstream_artifact(url: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "openai-upstream", "url": url, "upstreamModel": "up-model", **extra}


def settings_for(root: Path, **update: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": root / "data",
        "database_url": f"sqlite:///{root / 'maas.db'}",
        "secret": SecretStr(SECRET),
        "admin_token": SecretStr(ADMIN_TOKEN),
        "public_url": "http://testserver",
        "default_models": False,
        # module-scoped worlds send far more than a minute's quota to one endpoint; quotas have
        # their own suites (test_metering.py, test_quota_processes.py)
        "quota_tokens_per_minute": 10**9,
        "quota_requests_per_minute": 10**6,
        **update,
    }
    return Settings(**values)


@contextmanager
def sqlite_api(root: Path) -> Iterator[Api]:
    settings = settings_for(root)
    prepare(settings)
    with TestClient(create_server_app(settings), raise_server_exceptions=False) as client:
        yield Api(client, ADMIN_TOKEN)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LiveServer:
    url: str
    port: int
    api: Api
    database_url: str = ""


@contextmanager
def live_server(root: Path) -> Iterator[LiveServer]:
    """The whole app under uvicorn in a thread of this process (so tests can see engine state)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = settings_for(root, public_url=url)
    prepare(settings)
    config = uvicorn.Config(
        create_server_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="gateway-test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn exited while starting"
        assert time.monotonic() < deadline, "uvicorn did not start in 30 s"
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            api = Api(http, ADMIN_TOKEN)  # type: ignore[arg-type]
            yield LiveServer(url, port, api, settings.resolved_database_url)
    finally:
        server.should_exit = True
        thread.join(30)


def raw_request(port: int, method: str, path: str, headers: dict[str, str], body: bytes) -> socket.socket:
    """Send one HTTP/1.1 request on a fresh socket and return the socket, unread."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return sock


def read_until(sock: socket.socket, marker: bytes, count: int, limit: float = 60) -> bytes:
    """Read from the socket until `marker` was seen `count` times (bounded by `limit` seconds)."""
    data = b""
    deadline = time.monotonic() + limit
    while data.count(marker) < count:
        assert time.monotonic() < deadline, f"only {data!r} after {limit} s"
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after {data!r}"
        data += chunk
    return data


def wait_for(condition: Any, what: str, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {limit} s"
        time.sleep(0.05)


def sse_events(raw: bytes) -> list[bytes]:
    """Split an event stream strictly: every event must be exactly `data: <payload>\\n\\n`."""
    assert raw.endswith(b"\n\n"), raw[-200:]
    events = raw[:-2].split(b"\n\n")
    for event in events:
        assert event.startswith(b"data: "), event
        assert b"\n" not in event and b"\r" not in event, event
    return [event[len(b"data: ") :] for event in events]


def sse_json(raw: bytes) -> tuple[list[dict[str, Any]], bytes]:
    """(the JSON events, the last raw payload) of a stream that must end with [DONE]."""
    payloads = sse_events(raw)
    assert payloads[-1] == b"[DONE]", payloads[-3:]
    assert payloads.count(b"[DONE]") == 1
    return [orjson.loads(p) for p in payloads[:-1]], payloads[-1]


@dataclass
class Hanging:
    url: str = ""
    arrived: int = 0
    cancelled: int = 0


@contextmanager
def hanging_upstream() -> Iterator[Hanging]:
    state = Hanging()

    async def hang(request: web.Request) -> web.Response:
        state.arrived += 1
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            state.cancelled += 1
            raise
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", hang)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        state.url = f"http://127.0.0.1:{port}/v1"
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="hanging-upstream", daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield state
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


# -- a tiny random-init Llama ------------------------------------------------------------------
_CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + "
    "'<|end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)


def build_tiny_llama(folder: Path) -> Path:
    """Write a tiny Llama HF folder (BPE tokenizer trained on Python's topic docs) once."""
    if (folder / "config.json").is_file():
        return folder
    import pydoc_data.topics

    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1024,
        special_tokens=["<|end|>", "<|pad|>", "<|system|>", "<|user|>", "<|assistant|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(list(pydoc_data.topics.topics.values()), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|end|>", pad_token="<|pad|>")
    fast.chat_template = _CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=TINY_CONTEXT,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    partial = folder.with_name(folder.name + ".partial")
    LlamaForCausalLM(config).save_pretrained(partial)
    fast.save_pretrained(partial)
    partial.rename(folder)
    return folder


def build_eos_llama(tiny: Path, folder: Path) -> Path:
    """The tiny Llama with a zeroed output layer: every logit ties, and greedy decoding picks id 0,
    which is its end-of-sequence token, so it answers with an immediate end of turn."""
    if (folder / "config.json").is_file():
        return folder
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    assert tokenizer.eos_token_id == 0
    model = AutoModelForCausalLM.from_pretrained(tiny)
    with torch.no_grad():
        model.lm_head.weight.zero_()
    partial = folder.with_name(folder.name + ".partial")
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.rename(folder)
    return folder
