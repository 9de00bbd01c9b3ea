"""Bad requests to a Target URI get the documented error with the right status, never a 500, and
the endpoint keeps serving: invalid JSON, non-object bodies, wrong types, empty messages, bad
max_tokens, oversized bodies (declared and chunked), a bad extra-parameters header.

SQLite only, one server for the module: parsing does not touch the store, and that one server
must keep serving after every bad request before it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from support.api import Api
from support.fake_upstream import FakeUpstream, fake_upstream
from support.gateway import (
    UPSTREAM_MODEL,
    Deployed,
    deploy,
    put_model,
    sqlite_api,
    upstream_artifact,
)

MAX_BODY = 4 * 1024 * 1024
GOOD = {"messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, FakeUpstream, Deployed]]:
    with fake_upstream() as upstream, sqlite_api(tmp_path_factory.mktemp("bad-input")) as api:
        world = api.world()
        put_model(api, UPSTREAM_MODEL, upstream_artifact(upstream.url))
        yield api, upstream, deploy(api, world, "chat", UPSTREAM_MODEL)


@pytest.fixture
def api(world: tuple[Api, FakeUpstream, Deployed]) -> Api:
    return world[0]


@pytest.fixture
def upstream(world: tuple[Api, FakeUpstream, Deployed]) -> FakeUpstream:
    return world[1]


@pytest.fixture
def chat(world: tuple[Api, FakeUpstream, Deployed]) -> Deployed:
    return world[2]


def _raw(
    api: Api, chat: Deployed, content: Any, route: str = "/chat/completions", **headers: str
) -> httpx.Response:
    return api.client.post(
        chat.route + route,
        content=content,
        headers=chat.headers(**{"content-type": "application/json", **headers}),
    )


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["x-ms-error-code"] == code
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["status"] == status and error["message"]
    assert "x-maas-overhead-ms" in response.headers and "x-request-id" in response.headers
    return error


def _still_serves(api: Api, chat: Deployed) -> None:
    response = api.client.post(chat.route + "/chat/completions", json=GOOD, headers=chat.headers())
    assert response.status_code == 200, response.text


INVALID_JSON = [
    b"",
    b"{",
    b"not json",
    b'{"messages": [}',
    b"\xff\xfe\x00",
    b'{"messages": NaN}',
    b'{"messages": [{"role": "user", "content": "\\ud800"}]}',
    b"[" * 100_000 + b"]" * 100_000,
]


@pytest.mark.parametrize("content", INVALID_JSON, ids=range(len(INVALID_JSON)))
def test_invalid_json_is_400(api: Api, chat: Deployed, content: bytes) -> None:
    _error(_raw(api, chat, content), 400, "invalid_json")
    _still_serves(api, chat)


@pytest.mark.parametrize("content", [b"[]", b'[{"messages": []}]', b'"hi"', b"42", b"null", b"true"])
def test_a_body_that_is_not_an_object_is_400(api: Api, chat: Deployed, content: bytes) -> None:
    error = _error(_raw(api, chat, content), 400, "invalid_json")
    assert "object" in error["message"]


# A value of the wrong JSON type, or a missing field, is a 400 as OpenAI's server answers it
# (never coerced: "yes" is not a boolean, "10" and true are not integers); a value of the right
# type that the parameter does not allow is a 422 invalid_parameter.
WRONG_TYPE = [
    ({}, "messages", "missing_required_parameter"),
    ({"messages": None}, "messages", "invalid_type"),
    ({"messages": "hi"}, "messages", "invalid_type"),
    ({"messages": [{"content": "no role"}]}, "messages.0.role", "missing_required_parameter"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages.0.content", "invalid_type"),
    ({**GOOD, "temperature": "hot"}, "temperature", "invalid_type"),
    ({**GOOD, "temperature": "0.5"}, "temperature", "invalid_type"),
    ({**GOOD, "max_tokens": "many"}, "max_tokens", "invalid_type"),
    ({**GOOD, "max_tokens": "10"}, "max_tokens", "invalid_type"),
    ({**GOOD, "max_tokens": True}, "max_tokens", "invalid_type"),
    ({**GOOD, "max_tokens": 10.5}, "max_tokens", "invalid_type"),
    ({**GOOD, "n": "2"}, "n", "invalid_type"),
    ({**GOOD, "stop": 5}, "stop", "invalid_type"),
    ({**GOOD, "stream": "sometimes"}, "stream", "invalid_type"),
    ({**GOOD, "stream": "yes"}, "stream", "invalid_type"),
    ({**GOOD, "stream": 1}, "stream", "invalid_type"),
    ({**GOOD, "seed": "random"}, "seed", "invalid_type"),
    ({**GOOD, "tools": "all of them"}, "tools", "invalid_type"),
    ({**GOOD, "stream_options": {"include_usage": "yes"}}, "stream_options.include_usage", "invalid_type"),
]
WRONG_VALUE = [
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "wizard", "content": "x"}]}, "messages.0.role"),
    ({**GOOD, "temperature": 2.5}, "temperature"),
    ({**GOOD, "top_p": 0}, "top_p"),
    ({**GOOD, "max_tokens": 0}, "max_tokens"),
    ({**GOOD, "max_tokens": -1}, "max_tokens"),
    ({**GOOD, "max_completion_tokens": 0}, "max_completion_tokens"),
    ({**GOOD, "n": 0}, "n"),
    ({**GOOD, "presence_penalty": 9}, "presence_penalty"),
]


def _check(response: httpx.Response, status: int, code: str, where: str) -> None:
    error = _error(response, status, code)
    assert error["param"] is not None and error["param"].startswith(where), error
    assert where.split(".")[0] in error["message"]


@pytest.mark.parametrize(("body", "where", "code"), WRONG_TYPE, ids=[f"{w}-{c}" for _, w, c in WRONG_TYPE])
def test_wrong_types_are_400(api: Api, chat: Deployed, body: dict[str, Any], where: str, code: str) -> None:
    for stream in (False, True):
        sent = {**body, "stream": stream} if "stream" not in body else body
        response = api.client.post(chat.route + "/chat/completions", json=sent, headers=chat.headers())
        _check(response, 400, code, where)


@pytest.mark.parametrize(("body", "where"), WRONG_VALUE, ids=[w for _, w in WRONG_VALUE])
def test_wrong_values_are_422(api: Api, chat: Deployed, body: dict[str, Any], where: str) -> None:
    for stream in (False, True):
        sent = {**body, "stream": stream} if "stream" not in body else body
        response = api.client.post(chat.route + "/chat/completions", json=sent, headers=chat.headers())
        _check(response, 422, "invalid_parameter", where)


@pytest.mark.parametrize(
    ("route", "body", "where"),
    [
        ("completions", {"prompt": "x", "max_tokens": "5"}, "max_tokens"),
        ("completions", {"prompt": "x", "echo": "yes"}, "echo"),
        ("embeddings", {"input": "x", "dimensions": "64"}, "dimensions"),
        ("embeddings", {"input": 5}, "input"),
    ],
)
def test_other_routes_refuse_loose_types(
    api: Api, chat: Deployed, route: str, body: dict[str, Any], where: str
) -> None:
    response = api.client.post(f"{chat.route}/{route}", json=body, headers=chat.headers())
    _check(response, 400, "invalid_type", where)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_a_body_that_is_not_sent_as_json_is_400(api: Api, chat: Deployed, content_type: str) -> None:
    response = api.client.post(
        chat.route + "/chat/completions",
        content=b'{"messages": [{"role": "user", "content": "hi"}]}',
        headers=chat.headers(**{"content-type": content_type}),
    )
    error = _error(response, 400, "invalid_content_type")
    assert "application/json" in error["message"]


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_json_content_types_are_read(api: Api, chat: Deployed, content_type: str) -> None:
    response = api.client.post(
        chat.route + "/chat/completions",
        content=b'{"messages": [{"role": "user", "content": "hi"}]}',
        headers=chat.headers(**{"content-type": content_type}),
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "missing_required_parameter"),
        ({"prompt": 5}, 400, "invalid_type"),
        ({"prompt": ""}, 422, "invalid_parameter"),
        ({"prompt": []}, 422, "invalid_parameter"),
        ({"prompt": "x", "max_tokens": -1}, 422, "invalid_parameter"),
    ],
)
def test_bad_completions(api: Api, chat: Deployed, body: dict[str, Any], status: int, code: str) -> None:
    _error(api.client.post(chat.route + "/completions", json=body, headers=chat.headers()), status, code)


def _big(size: int) -> bytes:
    head, tail = b'{"messages": [{"role": "user", "content": "', b'"}]}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


def test_oversized_bodies_are_413(api: Api, chat: Deployed, upstream: FakeUpstream) -> None:
    before = len(upstream.requests)
    big = _big(MAX_BODY + 1)
    _error(_raw(api, chat, big), 413, "request_too_large")  # declared in Content-Length

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 256 * 1024):
            yield big[start : start + 256 * 1024]

    response = _raw(api, chat, chunks())  # chunked: no Content-Length to refuse it by
    _error(response, 413, "request_too_large")
    # without a key too: the size is checked before anything else is done with the body
    response = api.client.post(
        chat.route + "/chat/completions", content=big, headers={"content-type": "application/json"}
    )
    _error(response, 413, "request_too_large")
    assert len(upstream.requests) == before
    # just under the limit is fine (padded with whitespace: the upstream gets the compact body)
    compact = b'{"messages": [{"role": "user", "content": "hi"}]}'
    padded = compact + b" " * (MAX_BODY - len(compact))
    assert len(padded) == MAX_BODY
    assert _raw(api, chat, padded).status_code == 200
    assert upstream.requests[-1]["body"]["messages"] == GOOD["messages"]
    _still_serves(api, chat)


def test_a_bad_extra_parameters_header_is_400(api: Api, chat: Deployed) -> None:
    for value in ("sometimes", "", "pass through"):
        response = api.client.post(
            chat.route + "/chat/completions",
            json={**GOOD, "extra": 1},
            headers=chat.headers(**{"extra-parameters": value}),
        )
        if value == "":  # an empty header is the default mode: extras are refused
            _error(response, 422, "extra_parameters_not_allowed")
        else:
            error = _error(response, 400, "invalid_header")
            assert error["param"] == "extra-parameters"


def test_api_version_is_accepted_when_absent_or_unknown(api: Api, chat: Deployed) -> None:
    for params in ({}, {"api-version": "2024-05-01-preview"}, {"api-version": "garbage"}):
        response = api.client.post(
            chat.route + "/chat/completions", json=GOOD, headers=chat.headers(), params=params
        )
        assert response.status_code == 200, (params, response.text)
        info = api.client.get(chat.route + "/info", headers=chat.headers(), params=params)
        assert info.status_code == 200


def test_a_barrage_of_bad_requests_never_500s(api: Api, chat: Deployed) -> None:
    statuses = []
    for content in [*INVALID_JSON, _big(MAX_BODY + 10)]:
        for route in (
            "/chat/completions",
            "/completions",
            "/embeddings",
            "/images/embeddings",
            "/v1/chat/completions",
        ):
            for headers in ({}, {"extra-parameters": "drop"}, {"api-key": "wrong"}):
                statuses.append(_raw(api, chat, content, route, **headers).status_code)
    for body in [*WRONG_TYPE, *WRONG_VALUE]:
        statuses.append(
            api.client.post(chat.route + "/v1/completions", json=body[0], headers=chat.headers()).status_code
        )
    assert statuses and all(400 <= s < 500 for s in statuses), sorted(set(statuses))
    _still_serves(api, chat)
