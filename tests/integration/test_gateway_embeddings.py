"""The wordllama embeddings engine behind a Target URI: dimensions, float and base64 encodings,
input_type, list inputs, usage, and invalid input. SQLite only; the model loads once."""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from support.api import Api
from support.gateway import WORDLLAMA_MODEL, Deployed, deploy, put_model, sqlite_api


@pytest.fixture(scope="module")
def embed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, Deployed]]:
    with sqlite_api(tmp_path_factory.mktemp("embeddings")) as api:
        world = api.world()
        put_model(api, WORDLLAMA_MODEL, {"kind": "wordllama"}, task="embeddings", provider="wordllama")
        yield api, deploy(api, world, "embed", WORDLLAMA_MODEL)


def _post(
    embed: tuple[Api, Deployed], body: Any, route: str = "/embeddings", **headers: str
) -> httpx.Response:
    api, endpoint = embed
    return api.client.post(endpoint.route + route, json=body, headers=endpoint.headers(**headers))


def _vectors(embed: tuple[Api, Deployed], body: dict[str, Any]) -> list[list[float]]:
    response = _post(embed, body)
    assert response.status_code == 200, response.text
    return [item["embedding"] for item in response.json()["data"]]


def _norm(vector: list[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


def _close(a: list[float], b: list[float], tolerance: float = 1e-6) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def test_one_input_gives_one_unit_vector(embed: tuple[Api, Deployed]) -> None:
    for route in ("/embeddings", "/v1/embeddings"):
        response = _post(embed, {"input": "The cat sat on the mat."}, route)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["object"] == "list" and body["model"] == "wordllama-embed"
        assert [(d["object"], d["index"]) for d in body["data"]] == [("embedding", 0)]
        vector = body["data"][0]["embedding"]
        assert len(vector) == 256 and all(isinstance(x, float) for x in vector)
        assert abs(_norm(vector) - 1) < 1e-5
        usage = body["usage"]
        assert usage["prompt_tokens"] > 0 and usage["total_tokens"] == usage["prompt_tokens"]


def test_dimensions_truncate_then_normalise(embed: tuple[Api, Deployed]) -> None:
    (full,) = _vectors(embed, {"input": "hello world"})
    for dimensions in (1, 64, 255, 256):
        (vector,) = _vectors(embed, {"input": "hello world", "dimensions": dimensions})
        assert len(vector) == dimensions
        assert abs(_norm(vector) - 1) < 1e-5
        if dimensions > 1:
            # the same direction as the first `dimensions` components of the full vector
            prefix = full[:dimensions]
            assert _close(vector, [x / _norm(prefix) for x in prefix], 1e-5)


def test_base64_is_the_same_float32_vector(embed: tuple[Api, Deployed]) -> None:
    (floats,) = _vectors(embed, {"input": "hello world", "dimensions": 64})
    (encoded,) = _vectors(embed, {"input": "hello world", "dimensions": 64, "encoding_format": "base64"})
    assert isinstance(encoded, str)
    raw = base64.b64decode(encoded, validate=True)
    assert len(raw) == 64 * 4
    decoded = list(struct.unpack("<64f", raw))
    assert _close(decoded, floats, 1e-7)
    (explicit,) = _vectors(embed, {"input": "hello world", "dimensions": 64, "encoding_format": "float"})
    assert explicit == floats


def test_input_type_is_accepted(embed: tuple[Api, Deployed]) -> None:
    (plain,) = _vectors(embed, {"input": "a query"})
    for input_type in ("text", "query", "document"):
        (vector,) = _vectors(embed, {"input": "a query", "input_type": input_type})
        assert _close(vector, plain)


def test_list_inputs_keep_their_order(embed: tuple[Api, Deployed]) -> None:
    texts = ["first text", "a second, longer text about lists", "third"]
    response = _post(embed, {"input": texts})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [d["index"] for d in body["data"]] == [0, 1, 2]
    for text, item in zip(texts, body["data"], strict=True):
        (alone,) = _vectors(embed, {"input": text})
        assert _close(item["embedding"], alone, 1e-5)
    assert not _close(body["data"][0]["embedding"], body["data"][2]["embedding"], 1e-3)
    one = _post(embed, {"input": "first text"}).json()["usage"]["prompt_tokens"]
    two = _post(embed, {"input": ["first text", "first text"]}).json()["usage"]["prompt_tokens"]
    assert two == 2 * one


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": ""}, "input"),
        ({"input": []}, "input"),
        ({"input": ["ok", ""]}, "input"),
        ({"input": "x", "dimensions": 1000}, "dimensions"),
        ({"input": "x", "dimensions": 257}, "dimensions"),
        ({"input": "x", "dimensions": 0}, "dimensions"),
        ({"input": "x", "dimensions": -5}, "dimensions"),
        ({"input": "x", "encoding_format": "hex"}, "encoding_format"),
        ({"input": "x", "input_type": "image"}, "input_type"),
        ({"input": ["x"] * 2049}, "input"),
        ({"input": "x" * 100_001}, "input"),
    ],
)
def test_invalid_input_is_422(embed: tuple[Api, Deployed], body: dict[str, Any], param: str | None) -> None:
    response = _post(embed, body)
    assert response.status_code == 422, response.text
    assert response.headers["x-ms-error-code"] == "invalid_parameter"
    error = response.json()["error"]
    if param is not None:
        assert error["param"] is not None and error["param"].split(".")[0] == param
    assert error["status"] == 422


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"input": 5}, "invalid_type"),
        ({"input": [1, 2]}, "invalid_type"),  # token ids: this model takes text
        ({}, "missing_required_parameter"),
    ],
)
def test_a_wrong_or_missing_input_type_is_400(
    embed: tuple[Api, Deployed], body: dict[str, Any], code: str
) -> None:
    response = _post(embed, body)
    assert response.status_code == 400, response.text
    assert response.headers["x-ms-error-code"] == code
    error = response.json()["error"]
    assert error["param"] == "input" and error["status"] == 400


def test_extra_parameters_on_embeddings(embed: tuple[Api, Deployed]) -> None:
    body = {"input": "x", "truncate": "END"}
    refused = _post(embed, body)
    assert refused.status_code == 422
    assert refused.headers["x-ms-error-code"] == "extra_parameters_not_allowed"
    assert refused.json()["error"]["param"] == "truncate"
    for mode in ("drop", "pass-through", "ignore", "allow"):
        assert _post(embed, body, **{"extra-parameters": mode}).status_code == 200, mode
