"""Schemathesis against the inference API's published OpenAPI document, bodies included.

The whole server runs under uvicorn (in this process, so its log can be watched) with four
endpoints, so that every engine is reached: the tiny random Llama (transformers engine, a 64-token
window so every generation is short) and wordllama (embeddings engine) behind the Azure-style
paths, an OpenAI-compatible upstream (the relay engine) behind the `/v1/...` ones. The document
is read from the running server (`GET /openapi/inference.json`), so what is fuzzed is what is
published. Each operation is sent the document's own examples (streamed ones included), the
coverage phase's boundary and wrong-type values, and generated bodies that match their schema
and that break it (positive and negative modes); a third of the valid completion bodies are made
to stream. Most cases carry the endpoint's key (as `api-key` or as a bearer token), some none or
a wrong one, and some name another endpoint. Every answer must:

- not be a 5xx, nor a stream that fails with a 5xx error event, and log no error;
- have a status the operation documents explicitly (not only through `default`), a documented
  media type, and the documented headers and body schema (each event of a stream too);
- if it is an error, be in the inference envelope, with `status` equal to the HTTP status and the
  `x-ms-error-code` header equal to its `code`.

`MAAS_TEST_FUZZ_EXAMPLES` sets the generated examples per operation (default 50; `scripts/fuzz`
runs more). Runs are deterministic; `MAAS_TEST_FUZZ_SEED=<int>` explores another part of the space.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from support.fake_upstream import fake_upstream
from support.gateway import (
    TINY_MODEL,
    UPSTREAM_EMBED_MODEL,
    UPSTREAM_MODEL,
    WORDLLAMA_MODEL,
    Deployed,
    LiveServer,
    build_tiny_llama,
    deploy,
    live_server,
    put_model,
    upstream_artifact,
)

EXAMPLES = int(os.environ.get("MAAS_TEST_FUZZ_EXAMPLES", "50"))
SEED = os.environ.get("MAAS_TEST_FUZZ_SEED")
SPEC = "/openapi/inference.json"
TINY_WINDOW = 64
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# how a generated case authenticates: mostly with the right key, sometimes not (the document's
# examples always carry the key, so that they reach the model)
AUTH = ("api-key",) * 5 + ("bearer",) * 2 + ("none", "wrong")
ENVELOPE = {"code", "message", "param", "type", "status"}


class Errors(logging.Handler):
    """Records at ERROR or above (a traceback the server logged), kept for the test to fail on."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        taken, self.records = self.records, []
        return [self.format(record) for record in taken]


@dataclass
class Fuzzed:
    server: LiveServer
    region: str
    endpoints: dict[str, Deployed]  # by the operation's route
    errors: Errors = field(default_factory=Errors)

    def endpoint_for(self, path: str) -> Deployed:
        return self.endpoints[path.removeprefix("/endpoints/{region}/{name}")]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    tiny = build_tiny_llama(tmp_path_factory.getbasetemp() / "tiny-llama")
    with fake_upstream() as upstream, live_server(tmp_path_factory.mktemp("fuzz-inference")) as server:
        api = server.api
        world = api.world()
        put_model(api, TINY_MODEL, {"kind": "huggingface", "path": str(tiny)}, context_length=TINY_WINDOW)
        put_model(api, WORDLLAMA_MODEL, {"kind": "wordllama"}, task="embeddings", provider="wordllama")
        put_model(api, UPSTREAM_MODEL, upstream_artifact(upstream.url))
        put_model(api, UPSTREAM_EMBED_MODEL, upstream_artifact(upstream.url), task="embeddings")
        tiny_chat = deploy(api, world, "tiny", TINY_MODEL)
        words = deploy(api, world, "words", WORDLLAMA_MODEL)
        relay = deploy(api, world, "relay", UPSTREAM_MODEL)
        relay_embed = deploy(api, world, "relay-embed", UPSTREAM_EMBED_MODEL)
        endpoints = {
            "/chat/completions": tiny_chat,
            "/completions": tiny_chat,
            "/info": tiny_chat,
            "/embeddings": words,
            "/v1/chat/completions": relay,
            "/v1/completions": relay,
            "/v1/embeddings": relay_embed,
            "/v1/models": words,
        }
        for endpoint in (tiny_chat, words, relay, relay_embed):
            # a key that passed from an address before it was throttled for wrong keys keeps passing
            # (maas.gateway.throttle); unused, the wrong keys sent below would shut the others out
            assert api.client.get(endpoint.route + "/info", headers=endpoint.headers()).status_code == 200
        fuzzed = Fuzzed(server, world.location, endpoints)
        watched = [logging.getLogger("maas"), logging.getLogger("uvicorn.error")]
        for logger in watched:
            logger.addHandler(fuzzed.errors)
        try:
            yield fuzzed
        finally:
            for logger in watched:
                logger.removeHandler(fuzzed.errors)


@pytest.fixture(scope="module")
def inference(fuzzed: Fuzzed) -> Any:
    spec = httpx.get(fuzzed.server.url + SPEC, timeout=30).json()
    schema = schemathesis.openapi.from_dict(spec)
    schema.config.update(base_url=fuzzed.server.url, request_timeout=60)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES,
        deterministic=SEED is None,
        with_security_parameters=False,  # the test sends the credentials (see _auth)
    )
    if SEED is not None:
        schema.config.seed = int(SEED)
    return schema


schema = schemathesis.pytest.from_fixture("inference")


@schema.parametrize()
@settings(
    deadline=None, suppress_health_check=list(HealthCheck), max_examples=EXAMPLES, derandomize=SEED is None
)
def test_inference_api(case: schemathesis.Case, fuzzed: Fuzzed) -> None:
    endpoint = fuzzed.endpoint_for(case.operation.path)
    if not (_generated(case) and _draw(case, "path") % 8 == 0):  # else: whatever endpoint it names
        case.path_parameters = {"region": fuzzed.region, "name": endpoint.name}
    for name in ("api-key", "authorization"):
        case.headers.pop(name, None)
    _stream_some(case)
    response = case.call(headers=_auth(case, endpoint.key))
    case.validate_response(response, checks=CHECKS)
    assert str(response.status_code) in case.operation.definition.raw["responses"], (
        f"{response.status_code} is not documented for {case.operation.label}"
    )
    if response.status_code >= 400:
        assert_envelope(response.json(), response.status_code)
        assert response.headers["x-ms-error-code"] == [response.json()["error"]["code"]]
    elif response.headers["content-type"][0].startswith("text/event-stream"):
        for event in _events(response.content):
            if isinstance(event, dict) and "error" in event:
                assert_envelope(event, event["error"]["status"])
                assert event["error"]["status"] < 500, event
    logged = fuzzed.errors.take()
    assert not logged, "\n".join(logged)


def assert_envelope(body: Any, status: int) -> None:
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert set(body["error"]) == ENVELOPE, body
    assert body["error"]["status"] == status, body


def _events(raw: bytes) -> list[Any]:
    return [
        orjson.loads(chunk[len(b"data: ") :])
        for chunk in raw.split(b"\n\n")
        if chunk.startswith(b"data: ") and chunk != b"data: [DONE]"
    ]


def _draw(case: schemathesis.Case, salt: str) -> int:
    """A number chosen from the case's content, so that a replayed case is treated the same."""
    return zlib.crc32(repr((salt, case.body, sorted(case.headers.items()))).encode())


def _generated(case: schemathesis.Case) -> bool:
    return case.meta is None or case.meta.phase.name != TestPhase.EXAMPLES


def _stream_some(case: schemathesis.Case) -> None:
    """Few generated bodies that suit both the schema and the model also ask for a stream; a third
    of the valid ones that could are made to, so that streams are fuzzed too, not only examples."""
    positive = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
    completions = case.operation.path.endswith("completions")
    chosen = _draw(case, "stream") % 3 == 0
    if positive and completions and chosen and _generated(case) and isinstance(case.body, dict):
        case.body = {**case.body, "stream": True}


def _auth(case: schemathesis.Case, key: str) -> dict[str, str]:
    how = AUTH[_draw(case, "auth") % len(AUTH)] if _generated(case) else "api-key"
    if how == "api-key":
        return {"api-key": key}
    if how == "bearer":
        return {"Authorization": f"Bearer {key}"}
    if how == "wrong":
        return {"api-key": "not-" + key}
    return {}


# -- what fuzzing found, kept as plain regression tests ------------------------------------------
def test_the_document_is_served_with_this_server(fuzzed: Fuzzed) -> None:
    document = httpx.get(fuzzed.server.url + SPEC, timeout=30).json()
    assert document["openapi"] == "3.1.0"
    assert document["servers"][0]["url"] == fuzzed.server.url
    bodies = [item["post"]["requestBody"] for item in document["paths"].values() if "post" in item]
    assert len(bodies) == 6
    for body in bodies:
        reference = body["content"]["application/json"]["schema"]["$ref"]
        assert reference.removeprefix("#/components/schemas/") in document["components"]["schemas"]


@pytest.mark.parametrize(
    "path", ["/endpoints/", "/endpoints/eastus2", "/endpoints/eastus2//info", "/endpoints//tiny/info"]
)
def test_an_incomplete_target_uri_is_a_404_in_the_inference_envelope(fuzzed: Fuzzed, path: str) -> None:
    # these went to the management API, whose 404 is in the ARM envelope
    response = httpx.get(fuzzed.server.url + path, timeout=30)
    assert response.status_code == 404
    assert_envelope(response.json(), 404)
    assert response.json()["error"]["code"] == "endpoint_not_found"


@pytest.mark.parametrize("stream", [False, True])
def test_a_prompt_of_empty_strings_is_a_422(fuzzed: Fuzzed, stream: bool) -> None:
    # the tokenizer gave no ids and generation failed with a 500 (IndexError)
    tiny = fuzzed.endpoints["/completions"]
    body = {"prompt": ["", ""], "stream": stream}
    response = httpx.post(fuzzed.server.url + tiny.route + "/completions", json=body, headers=tiny.headers())
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_parameter"
    assert response.json()["error"]["param"] == "prompt"
