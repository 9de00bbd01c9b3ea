"""Helpers shared by the benchmarks that create serverless endpoints and send chat requests through
them (`inference.py`, `gateway.py`, `batching.py --serve`, and the serverless-pool benchmarks
`coldstart.py` and `fairness.py`).

A `maas serve` of our own with extra `MAAS_*` settings, accounts (one Azure subscription each,
with a resource group and workspaces), catalog models with a FirstParty offer, a workspace's
marketplace subscription and serverless endpoint on a catalog model, the operator's pools API
(`GET /providers/Microsoft.MaaS/pools`), `/metrics`, and chat requests (streamed or not) through a
Target URI. Everything talks to 127.0.0.1 over HTTP only.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from controlplane import (
    LOCATION,
    Api,
    Server,
    World,
    platform_facts,
    put_endpoint,
    setup_world,
    wait_succeeded,
)
from processes import BenchError

CHAT_MODEL = "azureml://registries/maas/models/maas-tiny-chat"
POOLS = "/providers/Microsoft.MaaS/pools"


# -- the server ------------------------------------------------------------------------------------
@contextlib.contextmanager
def _environment(extra: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def start_server(data_dir: Path, settings: dict[str, str], timeout: float = 90.0) -> Server:
    """Start `maas serve` (see controlplane.Server) with these `MAAS_*` settings in its environment.

    Settings of the pool that the caller does not choose are removed from the environment, so the
    server's own defaults apply whatever the user's shell exports."""
    server = Server(data_dir, None, secrets.token_urlsafe(32))
    chosen = {name for name in settings}
    owned = ("MAAS_POOL_", "MAAS_REPLICA_THREADS", "MAAS_SERVING")
    cleared = [n for n in os.environ if n.startswith(owned) and n not in chosen]
    saved = {name: os.environ.pop(name) for name in cleared}
    try:
        with _environment(settings):
            server.start(timeout)
    finally:
        os.environ.update(saved)
    return server


# -- accounts, workspaces, endpoints -----------------------------------------------------------------
@dataclass
class Endpoint:
    name: str
    uri: str
    key: str
    model: str


def create_endpoint(
    api: Api, world: World, ws: str, name: str, model_id: str, poll: float = 0.05
) -> Endpoint:
    """A serverless endpoint on model_id in workspace ws, once its operation reads Succeeded (polled
    every `poll` s): its Target URI and primary key."""
    operation = put_endpoint(api, world, ws, name, model_id)
    wait_succeeded(api, operation, poll)
    path = f"{world.endpoints_path(ws)}/{name}"
    uri = str(api.get(path).json()["properties"]["inferenceEndpoint"]["uri"]).rstrip("/")
    key = str(api.request("POST", f"{path}/listKeys", expect=(200,)).json()["primaryKey"])
    return Endpoint(name, uri, key, model_id)


@dataclass
class Account:
    """One Azure subscription (a MaaS account paying by CreditCard) with one resource group."""

    world: World

    @classmethod
    def create(cls, api: Api, tag: str) -> Account:
        world = World(sub=str(uuid.uuid4()), tag=f"{tag}{secrets.token_hex(3)}")
        setup_world(api, world, [])
        return cls(world)

    @property
    def subscription(self) -> str:
        return self.world.sub

    def workspace(self, api: Api, ws: str) -> None:
        api.put(self.world.ws_path(ws), {"location": LOCATION})

    def subscribe(self, api: Api, ws: str, model_id: str) -> None:
        """A marketplace offer needs the workspace's subscription (accepting its terms) first."""
        name = model_id.rsplit("/", 1)[1]
        path = f"{self.world.ws_path(ws)}/marketplaceSubscriptions/{name}"
        response = api.put(path, {"properties": {"modelId": model_id}})
        operation = response.headers.get("Azure-AsyncOperation")
        if operation:
            wait_succeeded(api, operation, 0.05)

    def endpoint(self, api: Api, ws: str, kind: str, model_id: str, marketplace: bool = True) -> Endpoint:
        """A workspace (created here) with a serverless endpoint on model_id; its URI and key."""
        self.workspace(api, ws)
        if marketplace:
            self.subscribe(api, ws, model_id)
        return create_endpoint(api, self.world, ws, f"{self.world.tag}-{kind}", model_id)


def register_model(
    api: Api,
    registry: str,
    name: str,
    artifact: Path | dict[str, Any],
    serving: dict[str, Any] | None = None,
    *,
    description: str = "bench",
    meters: list[dict[str, Any]] | None = None,
) -> str:
    """A chat-completion catalog model (version 1) with a FirstParty offer, free unless `meters`
    are given; its model id. An artifact that is a Path is a local Hugging Face folder."""
    if isinstance(artifact, Path):
        artifact = {"kind": "huggingface", "path": str(artifact.resolve())}
    properties: dict[str, Any] = {"artifact": artifact, "task": "chat-completion", "description": description}
    if serving:
        properties["serving"] = serving
    api.put(f"/registries/{registry}/models/{name}/versions/1", {"properties": properties})
    model_id = f"azureml://registries/{registry}/models/{name}"
    offer = {
        "properties": {
            "modelId": model_id,
            "publisherId": "bench",
            "kind": "FirstParty",
            "meters": meters or [],
        }
    }
    api.put(f"/providers/Microsoft.MaaS/offers/{registry}-{name}", offer)
    return model_id


WRITABLE = (
    "description",
    "task",
    "provider",
    "license",
    "modelCard",
    "displayName",
    "contextLength",
    "artifact",
)


def set_serving(api: Api, model_id: str, serving: dict[str, Any]) -> None:
    """Change the `serving` settings of a catalog model's latest version (a PUT of the version)."""
    registry, name = model_id.removeprefix("azureml://registries/").split("/models/")
    latest = api.get(f"/registries/{registry}/models/{name}").json()["properties"]["latestVersion"]
    path = f"/registries/{registry}/models/{name}/versions/{latest}"
    current = api.get(path).json()["properties"]
    properties = {k: current[k] for k in WRITABLE if current.get(k) not in (None, "")}
    properties["artifact"] = {k: v for k, v in current["artifact"].items() if k in ("kind", "path", "url")}
    properties["serving"] = {**(current.get("serving") or {}), **serving}
    api.put(path, {"properties": properties})


# -- the pools API and /metrics -------------------------------------------------------------------------
def pools(api: Api) -> list[dict[str, Any]]:
    return [p["properties"] for p in api.get(POOLS).json()["value"]]


def pool_of(api: Api, model_name: str) -> dict[str, Any] | None:
    for pool in pools(api):
        if pool["model"] == model_name and pool["backend"] == "local":
            return pool
    return None


def wait_pool(
    api: Api, model_name: str, ready: bool, timeout: float = 60.0, interval: float = 0.02
) -> dict[str, Any] | None:
    """Poll the pools API until the model's pool has a ready replica (ready=True) or no replica
    at all, none starting and none in flight (ready=False; a pool not created yet counts)."""
    deadline = time.monotonic() + timeout
    while True:
        pool = pool_of(api, model_name)
        if ready and pool is not None and pool["replicaCount"] > 0:
            return pool
        if not ready and (
            pool is None or (not pool["replicas"] and pool["state"] != "Starting" and pool["inFlight"] == 0)
        ):
            return pool
        if pool is not None and pool.get("error"):
            raise BenchError(f"pool {pool['name']} failed: {pool['error']}")
        if time.monotonic() > deadline:
            raise BenchError(
                f"pool of {model_name} not {'ready' if ready else 'at zero'} in {timeout:.0f}s: {pool}"
            )
        time.sleep(interval)


def wait_gone(pids: list[int], timeout: float = 10.0) -> None:
    """Wait until these replica processes have exited (their memory and CPU are given back)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not [pid for pid in pids if Path(f"/proc/{pid}").exists()]:
            return
        time.sleep(0.02)


def metrics_text(base_url: str) -> str:
    import httpx

    with httpx.Client(timeout=30.0) as client:
        response = client.get(f"{base_url}/metrics")
    if response.status_code != 200:
        raise BenchError(f"/metrics answered {response.status_code}: {response.text[:2000]}")
    return response.text


def histogram(text: str, name: str, pool: str) -> tuple[int, float]:
    """(count, sum) of one pool's histogram in Prometheus text."""
    count, total = 0, 0.0
    for line in text.splitlines():
        if f'pool="{pool}"' not in line:
            continue
        if line.startswith(f"{name}_count{{"):
            count = int(float(line.rsplit(" ", 1)[1]))
        elif line.startswith(f"{name}_sum{{"):
            total = float(line.rsplit(" ", 1)[1])
    return count, total


# -- requests -------------------------------------------------------------------------------------------
@dataclass
class Answer:
    ttft: float | None  # streamed: seconds to the first chunk with content
    first_chunk: float | None  # streamed: seconds to the first chunk of any kind
    total: float
    completion_tokens: int
    status: int = 200
    error: str = ""  # the error code of a refusal (503/429), when refusals were allowed


@dataclass
class Stream:
    ttft: float | None  # seconds to the first chunk with content
    total: float
    completion_tokens: int
    finish: str | None


async def read_stream(chunks: AsyncIterator[dict[str, Any]]) -> Stream:
    """Read a chat stream's chunks to the end: time to the first content, total time, the
    completion_tokens of its usage (which it must carry) and its last finish reason."""
    started = time.perf_counter()
    ttft: float | None = None
    usage: dict[str, Any] | None = None
    finish: str | None = None
    async for chunk in chunks:
        if "error" in chunk:
            raise BenchError(f"the stream failed: {chunk['error']}")
        for choice in chunk.get("choices") or []:
            if ttft is None and (choice.get("delta") or {}).get("content"):
                ttft = time.perf_counter() - started
            finish = choice.get("finish_reason") or finish
        if chunk.get("usage"):
            usage = chunk["usage"]
    if usage is None:
        raise BenchError("the chat stream ended without usage in its last chunks")
    return Stream(ttft, time.perf_counter() - started, int(usage.get("completion_tokens", 0)), finish)


async def sse_data(content: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    """The data of each server-sent event of a chat stream, up to `[DONE]`."""
    async for raw in content:
        line = raw.strip()
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            return
        yield data


async def stream_chunks(
    client: aiohttp.ClientSession, uri: str, key: str, body: dict[str, Any]
) -> AsyncIterator[dict[str, Any]]:
    """POST a streamed chat request to a Target URI; the chunks of its answer."""
    headers = {"api-key": key, "Content-Type": "application/json"}
    async with client.post(f"{uri}/chat/completions", data=orjson.dumps(body), headers=headers) as r:
        if r.status != 200:
            raise BenchError(f"chat stream answered {r.status}: {(await r.read())[:2000]!r}")
        async for data in sse_data(r.content):
            yield orjson.loads(data)


def chat_body(prompt: str, max_tokens: int, stream: bool, temperature: float = 0.0) -> bytes:
    body: dict[str, Any] = {
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": temperature,
    }
    if stream:
        body["stream"] = True
    return orjson.dumps(body)


async def chat(
    session: aiohttp.ClientSession,
    endpoint: Endpoint,
    body: bytes,
    stream: bool,
    refusals_ok: bool = False,
) -> Answer:
    """One chat request through the Target URI; for a stream, read it to [DONE]. A 503 or 429
    raises BenchError, or comes back as an Answer with its status when refusals_ok."""
    headers = {"api-key": endpoint.key, "Content-Type": "application/json"}
    started = time.perf_counter()
    ttft: float | None = None
    first: float | None = None
    tokens = 0
    async with session.post(f"{endpoint.uri}/chat/completions", data=body, headers=headers) as r:
        if r.status != 200:
            raw = await r.read()
            if refusals_ok and r.status in (429, 503):
                code = "?"
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    code = str(orjson.loads(raw)["error"]["code"])
                return Answer(None, None, time.perf_counter() - started, 0, r.status, code)
            raise BenchError(f"chat answered {r.status}: {raw[:2000]!r}")
        if not stream:
            answer = orjson.loads(await r.read())
            usage = answer.get("usage") or {}
            return Answer(None, None, time.perf_counter() - started, int(usage.get("completion_tokens", 0)))
        async for data in sse_data(r.content):
            now = time.perf_counter() - started
            first = now if first is None else first
            chunk = orjson.loads(data)
            if "error" in chunk:
                raise BenchError(f"the stream failed: {chunk['error']}")
            for choice in chunk.get("choices") or []:
                if ttft is None and (choice.get("delta") or {}).get("content"):
                    ttft = now
            if chunk.get("usage"):
                tokens = int(chunk["usage"].get("completion_tokens", 0))
    return Answer(ttft, first, time.perf_counter() - started, tokens)


def session(limit: int) -> aiohttp.ClientSession:
    timeout = aiohttp.ClientTimeout(total=None, sock_read=600)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit), timeout=timeout)


# -- the machine is shared: CPU used by processes that are not ours -----------------------------------
def _tree_cpu() -> float:
    """CPU seconds of this process and every live descendant, each with its reaped children."""
    import psutil

    root = psutil.Process()
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def _busy_cpu() -> float:
    import psutil

    t = psutil.cpu_times()
    return float(sum(t)) - t.idle - getattr(t, "iowait", 0.0)


@dataclass
class CpuMark:
    at: float
    busy: float
    ours: float


def cpu_mark() -> CpuMark:
    return CpuMark(time.monotonic(), _busy_cpu(), _tree_cpu())


def others_cpu(since: CpuMark) -> float:
    """CPUs (average over the interval) that processes other than the benchmark and its server
    used since `since`: the machine is shared, and their load inflates every latency here."""
    now = cpu_mark()
    wall = max(now.at - since.at, 1e-6)
    return max(0.0, (now.busy - since.busy) - (now.ours - since.ours)) / wall


# -- report --------------------------------------------------------------------------------------------
def versions(names: tuple[str, ...] = ("torch", "transformers", "wordllama")) -> str:
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} missing")
    return ", ".join(found)


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform_facts()}; {versions()}; load average before the run {load}; "
        "client and server share the machine"
    )
