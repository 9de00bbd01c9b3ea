"""Streaming in the exact server-sent-events form OpenAI and Azure clients parse, failures after the
headers as one error event then [DONE], and a client that disconnects cancelling generation (at an
upstream, and in the transformers engine) on a real uvicorn server."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import orjson
import psutil
import pytest
from sqlalchemy import select

from maas.controlplane.store import tables as t
from maas.controlplane.store.database import Database
from support.api import Api, World
from support.fake_upstream import WORDS, FakeUpstream, fake_upstream
from support.gateway import (
    TINY_MODEL,
    UPSTREAM_MODEL,
    Deployed,
    LiveServer,
    build_tiny_llama,
    deploy,
    hanging_upstream,
    live_server,
    put_model,
    raw_request,
    read_until,
    sse_events,
    sse_json,
    upstream_artifact,
    wait_for,
)

HANGING_MODEL = "azureml://registries/local/models/hanging-upstream"


def _chat(text: str, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], "stream": True, **extra}


def _assert_exact_framing(raw: bytes) -> None:
    """Every event is `data: ` + compact JSON + `\\n\\n`, and the stream ends `data: [DONE]\\n\\n`."""
    assert raw.endswith(b"\n\ndata: [DONE]\n\n")
    rebuilt = b"".join(
        b"data: " + (p if p == b"[DONE]" else orjson.dumps(orjson.loads(p))) + b"\n\n"
        for p in sse_events(raw)
    )
    assert rebuilt == raw


# -- through an upstream, on both stores -----------------------------------------------------------
@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream() as running:
        yield running


@pytest.fixture
def phi(api: Api, upstream: FakeUpstream) -> Deployed:
    world = api.world()
    put_model(api, UPSTREAM_MODEL, upstream_artifact(upstream.url))
    return deploy(api, world, "phi", UPSTREAM_MODEL)


def test_upstream_stream_is_relayed_in_exact_sse_form(
    api: Api, phi: Deployed, upstream: FakeUpstream
) -> None:
    response = api.client.post(
        phi.route + "/chat/completions",
        json=_chat("hi"),
        headers=phi.headers(**{"x-ms-client-request-id": "c1"}),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-ms-client-request-id"] == "c1"
    assert float(response.headers["x-maas-overhead-ms"]) >= 0
    _assert_exact_framing(response.content)
    chunks, _ = sse_json(response.content)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert all(c["model"] == "fake-upstream-chat" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "".join(WORDS)
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    assert chunks[-1]["usage"] == {"prompt_tokens": 7, "completion_tokens": 6, "total_tokens": 13}
    sent = upstream.requests[-1]["body"]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["model"] == "up-model"


def test_text_completion_stream(api: Api, phi: Deployed) -> None:
    response = api.client.post(
        phi.route + "/v1/completions", json={"prompt": "hi", "stream": True}, headers=phi.headers()
    )
    assert response.status_code == 200, response.text
    _assert_exact_framing(response.content)


def test_a_failure_mid_stream_is_one_error_event_then_done(api: Api, phi: Deployed) -> None:
    response = api.client.post(phi.route + "/chat/completions", json=_chat("BREAK"), headers=phi.headers())
    assert response.status_code == 200
    _assert_exact_framing(response.content)
    chunks, _ = sse_json(response.content)
    errors = [c for c in chunks if "error" in c]
    assert len(errors) == 1 and chunks[-1] is errors[0]
    assert errors[0]["error"]["status"] == 502 and errors[0]["error"]["code"] == "UpstreamError"
    assert errors[0]["error"]["message"]
    # the upstream cut its connection after two words; what it flushed before that is relayed
    words = [c["choices"][0]["delta"]["content"] for c in chunks[:-1]]
    assert words == WORDS[: len(words)] and len(words) <= 2


def test_a_failure_before_the_first_chunk_is_a_plain_error_response(api: Api, phi: Deployed) -> None:
    response = api.client.post(phi.route + "/chat/completions", json=_chat("FAIL500"), headers=phi.headers())
    assert response.status_code == 502, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-ms-error-code"] == "UpstreamError"
    rejected = api.client.post(phi.route + "/chat/completions", json=_chat("FAIL400"), headers=phi.headers())
    assert rejected.status_code == 400
    assert "bad upstream request" in rejected.json()["error"]["message"]


# -- on a real server: disconnects -------------------------------------------------------------
@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, FakeUpstream, dict[str, Deployed]]]:
    tiny = build_tiny_llama(tmp_path_factory.getbasetemp() / "tiny-llama")
    with fake_upstream() as upstream, live_server(tmp_path_factory.mktemp("live")) as server:
        api = server.api
        world = api.world()
        put_model(api, UPSTREAM_MODEL, upstream_artifact(upstream.url))
        put_model(api, TINY_MODEL, {"kind": "huggingface", "path": str(tiny)})
        endpoints = {
            "upstream": deploy(api, world, "up", UPSTREAM_MODEL),
            "tiny": deploy(api, world, "tiny", TINY_MODEL),
        }
        yield server, upstream, endpoints


def _generating(server: LiveServer) -> bool:
    """Whether a replica process of the server is computing: it spends CPU (generation runs in
    replica processes, so the signal is their CPU time, read from the pools API's pids)."""
    pools = server.api.ok(server.api.get("/providers/Microsoft.MaaS/pools"))["value"]
    procs = []
    for pool in pools:
        for replica in pool["properties"]["replicas"]:
            if replica["pid"] and psutil.pid_exists(replica["pid"]):
                procs.append(psutil.Process(replica["pid"]))

    def cpu() -> list[float]:
        return [sum(p.cpu_times()[:2]) for p in procs]

    before = cpu()
    time.sleep(0.5)
    return any(after - start > 0.2 for start, after in zip(before, cpu(), strict=True))


def _post_raw(server: LiveServer, endpoint: Deployed, route: str, body: dict[str, Any]) -> Any:
    headers = {"api-key": endpoint.key, "Content-Type": "application/json"}
    return raw_request(server.port, "POST", endpoint.route + route, headers, orjson.dumps(body))


def test_tiny_model_stream_framing(live: tuple[LiveServer, FakeUpstream, dict[str, Deployed]]) -> None:
    server, _, endpoints = live
    tiny = endpoints["tiny"]
    response = server.api.client.post(
        tiny.route + "/chat/completions",
        json=_chat("hello", max_tokens=5, temperature=0),
        headers=tiny.headers(),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/event-stream"
    _assert_exact_framing(response.content)
    chunks, _ = sse_json(response.content)
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "tiny-llama" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1 and len({c["created"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all("usage" not in c for c in chunks[:-1])
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "length" and last["choices"][0]["delta"] == {}
    assert last["usage"]["completion_tokens"] == 5
    assert last["usage"]["total_tokens"] == last["usage"]["prompt_tokens"] + 5
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    # the streamed text is the text a non-streamed call returns
    once = server.api.client.post(
        tiny.route + "/chat/completions",
        json={"messages": [{"role": "user", "content": "hello"}], "max_tokens": 5, "temperature": 0},
        headers=tiny.headers(),
    ).json()
    streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert streamed == once["choices"][0]["message"]["content"]
    assert last["usage"] == once["usage"]
    text = server.api.client.post(
        tiny.route + "/completions",
        json={"prompt": "hello", "max_tokens": 4, "temperature": 0, "stream": True},
        headers=tiny.headers(),
    )
    _assert_exact_framing(text.content)
    text_chunks, _ = sse_json(text.content)
    assert all(c["object"] == "text_completion" for c in text_chunks)
    assert text_chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert text_chunks[-1]["usage"]["completion_tokens"] == 4


def test_disconnect_cancels_the_upstream_stream(
    live: tuple[LiveServer, FakeUpstream, dict[str, Deployed]],
) -> None:
    server, upstream, endpoints = live
    before = upstream.cancelled
    sock = _post_raw(server, endpoints["upstream"], "/chat/completions", _chat("SLOW"))
    try:
        head = read_until(sock, b"data: ", 2)  # two events
        assert head.startswith(b"HTTP/1.1 200")
    finally:
        sock.close()
    wait_for(lambda: upstream.cancelled == before + 1, "the upstream seeing the stream cancelled")
    # and the endpoint keeps serving
    response = server.api.client.post(
        endpoints["upstream"].route + "/chat/completions",
        json=_chat("hi"),
        headers=endpoints["upstream"].headers(),
    )
    assert response.status_code == 200


def test_disconnect_stops_transformers_generation(
    live: tuple[LiveServer, FakeUpstream, dict[str, Deployed]], caplog: pytest.LogCaptureFixture
) -> None:
    server, _, endpoints = live
    tiny = endpoints["tiny"]
    wait_for(lambda: not _generating(server), "earlier generations ending")
    # 30,000 new tokens take this model many minutes: only cancellation ends it within the wait
    body = _chat("hello", max_tokens=30_000, temperature=0)
    sock = _post_raw(server, tiny, "/chat/completions", body)
    try:
        read_until(sock, b"data: ", 3)
        # sampled until seen: on a loaded machine the replica may get no CPU in one 0.5 s window
        wait_for(lambda: _generating(server), "generation running while the client reads")
    finally:
        sock.close()
    wait_for(lambda: not _generating(server), "generation stopping after the client went away")

    # the same for a non-streamed request: closing the connection stops the work
    caplog.set_level(logging.ERROR)
    sock = _post_raw(server, tiny, "/chat/completions", {**body, "stream": False})
    try:
        wait_for(lambda: bool(_generating(server)), "generation starting")
    finally:
        sock.close()
    wait_for(lambda: not _generating(server), "generation stopping after the client went away")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text

    response = server.api.client.post(
        tiny.route + "/chat/completions",
        json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3},
        headers=tiny.headers(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["usage"]["completion_tokens"] == 3


def test_a_stream_cut_short_by_the_client_bills_the_prompt_and_the_tokens_generated(
    live: tuple[LiveServer, FakeUpstream, dict[str, Deployed]],
) -> None:
    server, _, endpoints = live
    sock = _post_raw(server, endpoints["tiny"], "/chat/completions", _chat("hello", max_tokens=30_000))
    try:
        head = read_until(sock, b"data: ", 6)
    finally:
        sock.close()
    request_id = next(
        line.split(b":", 1)[1].strip().decode()
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"x-request-id:")
    )
    database = Database(server.database_url)
    try:

        def record() -> Any:
            with database.read() as connection:
                query = select(t.usage_records).where(t.usage_records.c.request_id == request_id)
                return connection.execute(query).mappings().first()

        wait_for(lambda: record() is not None, "the cut stream's usage record")
        cut = record()
    finally:
        database.dispose()
    assert cut["status"] == "ClientClosed"
    assert cut["input_tokens"] > 0  # the prompt, counted by the model's tokenizer
    assert 5 <= cut["output_tokens"] < 30_000  # what was generated before the client left


def test_disconnect_before_an_upstream_answer_cancels_the_upstream_call(
    live: tuple[LiveServer, FakeUpstream, dict[str, Deployed]], caplog: pytest.LogCaptureFixture
) -> None:
    server, _, endpoints = live
    caplog.set_level(logging.ERROR)
    with hanging_upstream() as hanging:
        put_model(server.api, HANGING_MODEL, upstream_artifact(hanging.url))
        world = World()
        endpoint = deploy(server.api, world, "hanging", HANGING_MODEL)
        sock = _post_raw(
            server, endpoint, "/chat/completions", {"messages": [{"role": "user", "content": "x"}]}
        )
        try:
            wait_for(lambda: hanging.arrived == 1, "the request reaching the upstream")
        finally:
            sock.close()
        wait_for(lambda: hanging.cancelled == 1, "the upstream call being abandoned")
    ok = server.api.client.post(
        endpoints["upstream"].route + "/chat/completions",
        json={"messages": [{"role": "user", "content": "hi"}]},
        headers=endpoints["upstream"].headers(),
    )
    assert ok.status_code == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
