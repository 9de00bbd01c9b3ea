"""The transformers engine behind a Target URI, on a tiny random-init Llama folder: sampling
parameters, determinism, max_tokens and stop strings, usage counted with the model's tokenizer,
the context window, and the parameters a local model refuses (422 parameter_not_supported).

SQLite only: the store does not matter here, and the model loads once for the module."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.api import Api
from support.gateway import (
    TINY_CONTEXT,
    TINY_MODEL,
    Deployed,
    build_eos_llama,
    build_tiny_llama,
    deploy,
    put_model,
    sqlite_api,
    sse_json,
)

SHORT_MODEL = "azureml://registries/local/models/tiny-llama-short"
BROKEN_MODEL = "azureml://registries/local/models/broken-llama"
EOS_MODEL = "azureml://registries/local/models/eos-llama"
SHORT_CONTEXT = 64
HELLO = [{"role": "user", "content": "Tell me about lists."}]


@dataclass(frozen=True)
class Tiny:
    api: Api
    folder: Path
    chat: Deployed
    short: Deployed
    eos: Deployed

    def post(self, route: str, body: dict[str, Any], endpoint: Deployed | None = None) -> httpx.Response:
        target = endpoint or self.chat
        return self.api.client.post(target.route + route, json=body, headers=target.headers())

    def text(self, **body: Any) -> tuple[str, dict[str, Any]]:
        response = self.post("/chat/completions", {"messages": HELLO, **body})
        assert response.status_code == 200, response.text
        answer = response.json()
        return answer["choices"][0]["message"]["content"], answer


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tiny]:
    folder = build_tiny_llama(tmp_path_factory.getbasetemp() / "tiny-llama")
    eos = build_eos_llama(folder, tmp_path_factory.getbasetemp() / "eos-llama")
    with sqlite_api(tmp_path_factory.mktemp("transformers")) as api:
        world = api.world()
        # the catalog states the window, so the gateway caps quota reservations by it: a request
        # with an absurd max_tokens is refused by the engine (400), never held up by the quota
        put_model(api, TINY_MODEL, {"kind": "huggingface", "path": str(folder)}, context_length=TINY_CONTEXT)
        put_model(
            api, SHORT_MODEL, {"kind": "huggingface", "path": str(folder)}, context_length=SHORT_CONTEXT
        )
        put_model(api, EOS_MODEL, {"kind": "huggingface", "path": str(eos)})
        yield Tiny(
            api,
            folder,
            deploy(api, world, "tiny", TINY_MODEL),
            deploy(api, world, "short", SHORT_MODEL),
            deploy(api, world, "eos", EOS_MODEL),
        )


@pytest.fixture(scope="module")
def tokenizer(tiny: Tiny) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny.folder)


def _error(response: httpx.Response, status: int, code: str, param: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["x-ms-error-code"] == code
    error = response.json()["error"]
    assert error["code"] == code
    if param is not None:
        assert error["param"] == param


def _chat_ids(tokenizer: Any, messages: list[dict[str, str]]) -> list[int]:
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    if not isinstance(ids, list):
        ids = ids["input_ids"]
    return list(ids)


def test_a_chat_completion_has_the_openai_shape(tiny: Tiny, tokenizer: Any) -> None:
    text, answer = tiny.text(max_tokens=8, temperature=0)
    assert answer["object"] == "chat.completion"
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{32}", answer["id"])
    assert answer["model"] == "tiny-llama"
    assert isinstance(answer["created"], int) and answer["created"] > 0
    choice = answer["choices"][0]
    assert choice["index"] == 0 and choice["message"]["role"] == "assistant"
    assert choice["finish_reason"] == "length"
    usage = answer["usage"]
    assert usage["prompt_tokens"] == len(_chat_ids(tokenizer, HELLO))
    assert usage["completion_tokens"] == 8
    assert usage["total_tokens"] == usage["prompt_tokens"] + 8
    assert text


def test_greedy_is_deterministic_whatever_the_seed(tiny: Tiny) -> None:
    first, _ = tiny.text(max_tokens=12, temperature=0, seed=1)
    assert tiny.text(max_tokens=12, temperature=0, seed=2)[0] == first
    assert tiny.text(max_tokens=12, temperature=0)[0] == first


def test_a_seed_makes_sampling_repeatable(tiny: Tiny) -> None:
    first, _ = tiny.text(max_tokens=16, temperature=1.0, top_p=1.0, seed=7)
    assert tiny.text(max_tokens=16, temperature=1.0, top_p=1.0, seed=7)[0] == first
    # a random-init model samples almost uniformly over its vocabulary: other seeds differ
    others = {tiny.text(max_tokens=16, temperature=1.0, seed=seed)[0] for seed in (8, 9)}
    assert first not in others


def test_a_tiny_top_p_keeps_only_the_likeliest_token(tiny: Tiny) -> None:
    greedy, _ = tiny.text(max_tokens=16, temperature=0)
    for seed in (1, 2):
        assert tiny.text(max_tokens=16, temperature=1.0, top_p=1e-6, seed=seed)[0] == greedy
    assert tiny.text(max_tokens=16, temperature=1.0, top_p=1.0, seed=1)[0] != greedy


def test_max_tokens_and_max_completion_tokens(tiny: Tiny, tokenizer: Any) -> None:
    for field, limit in (("max_tokens", 1), ("max_tokens", 5), ("max_completion_tokens", 3)):
        _, answer = tiny.text(temperature=0, **{field: limit})
        assert answer["choices"][0]["finish_reason"] == "length"
        assert answer["usage"]["completion_tokens"] == limit


def test_stop_strings_cut_the_text_before_the_stop(tiny: Tiny) -> None:
    full, _ = tiny.text(max_tokens=40, temperature=1.0, seed=11)
    candidates = [m for m in re.finditer(r"[A-Za-z]{3}", full) if m.start() > 0]
    assert candidates, f"no stop string candidate in {full!r}"
    stop = candidates[len(candidates) // 2].group()
    cut = full[: full.index(stop)]
    for stops in (stop, ["never-there", stop]):
        text, answer = tiny.text(max_tokens=40, temperature=1.0, seed=11, stop=stops)
        assert text == cut, (stop, full)
        assert answer["choices"][0]["finish_reason"] == "stop"
        assert answer["usage"]["completion_tokens"] <= 40
    streamed = tiny.post(
        "/chat/completions",
        {"messages": HELLO, "max_tokens": 40, "temperature": 1.0, "seed": 11, "stop": stop, "stream": True},
    )
    chunks, _ = sse_json(streamed.content)
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == cut
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    # a stop that never appears changes nothing
    text, answer = tiny.text(max_tokens=40, temperature=1.0, seed=11, stop=["\x00never"])
    assert text == full and answer["choices"][0]["finish_reason"] == "length"
    too_many = tiny.post("/chat/completions", {"messages": HELLO, "stop": ["a", "b", "c", "d", "e"]})
    _error(too_many, 422, "invalid_parameter", "stop")


def test_the_end_of_turn_token_ends_with_stop(tiny: Tiny) -> None:
    body = {"messages": HELLO, "max_tokens": 10, "temperature": 0}
    response = tiny.post("/chat/completions", body, tiny.eos)
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["content"] == ""  # the end-of-turn token is not text
    assert response.json()["usage"]["completion_tokens"] == 1
    streamed = tiny.post("/chat/completions", {**body, "stream": True}, tiny.eos)
    chunks, _ = sse_json(streamed.content)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == ""
    text = tiny.post("/completions", {"prompt": "x", "max_tokens": 10, "temperature": 0}, tiny.eos)
    assert text.json()["choices"][0]["finish_reason"] == "stop"


def test_penalties_are_applied(tiny: Tiny) -> None:
    plain, _ = tiny.text(max_tokens=12, temperature=0)
    for penalties in (
        {"frequency_penalty": 2.0},
        {"presence_penalty": 2.0},
        {"frequency_penalty": 1.0, "presence_penalty": 1.0},
    ):
        penalised, answer = tiny.text(max_tokens=12, temperature=0, **penalties)
        assert answer["usage"]["completion_tokens"] == 12
        # the random model's greedy answer repeats one token; a penalty forbids that
        assert penalised != plain, penalties
    assert tiny.text(max_tokens=12, temperature=0, frequency_penalty=0, presence_penalty=0)[0] == plain
    for bad in ({"presence_penalty": 3}, {"frequency_penalty": -2.5}):
        _error(tiny.post("/chat/completions", {"messages": HELLO, **bad}), 422, "invalid_parameter")


def test_text_completions(tiny: Tiny, tokenizer: Any) -> None:
    response = tiny.post("/completions", {"prompt": "def main():", "max_tokens": 6, "temperature": 0})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["object"] == "text_completion" and answer["id"].startswith("cmpl-")
    assert answer["choices"][0]["finish_reason"] == "length"
    assert isinstance(answer["choices"][0]["text"], str)
    assert answer["usage"]["prompt_tokens"] == len(tokenizer("def main():")["input_ids"])
    assert answer["usage"]["completion_tokens"] == 6
    listed = tiny.post("/v1/completions", {"prompt": ["def ", "main():"], "max_tokens": 6, "temperature": 0})
    assert listed.json()["choices"][0]["text"] == answer["choices"][0]["text"]
    _error(
        tiny.post("/completions", {"prompt": "x", "max_tokens": TINY_CONTEXT}), 400, "context_length_exceeded"
    )


def test_conversations_with_every_role_and_content_parts(tiny: Tiny, tokenizer: Any) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": " there"}]},
        {"role": "assistant", "content": "Hi."},
        {"role": "user", "content": "And lists?"},
    ]
    response = tiny.post("/chat/completions", {"messages": messages, "max_tokens": 2})
    assert response.status_code == 200, response.text
    flat = [
        {**m, "content": m["content"] if isinstance(m["content"], str) else "Hello there"} for m in messages
    ]
    assert response.json()["usage"]["prompt_tokens"] == len(_chat_ids(tokenizer, flat))


def test_the_context_window(tiny: Tiny) -> None:
    _error(
        tiny.post("/chat/completions", {"messages": HELLO, "max_tokens": TINY_CONTEXT}),
        400,
        "context_length_exceeded",
        "messages",
    )
    _error(
        tiny.post("/chat/completions", {"messages": HELLO, "max_tokens": 10**12}),
        400,
        "context_length_exceeded",
    )
    long = [{"role": "user", "content": "hello " * (TINY_CONTEXT + 100)}]
    response = tiny.post("/chat/completions", {"messages": long, "max_tokens": 1})
    _error(response, 400, "context_length_exceeded")
    assert str(TINY_CONTEXT) in response.json()["error"]["message"]
    streamed = tiny.post("/chat/completions", {"messages": long, "stream": True})
    _error(streamed, 400, "context_length_exceeded")  # before the stream starts: a plain error
    # the catalog's contextLength is the window, not the model config's
    short, tokens = tiny.short, SHORT_CONTEXT
    _error(
        tiny.post("/chat/completions", {"messages": HELLO, "max_tokens": tokens}, short),
        400,
        "context_length_exceeded",
    )
    words = [{"role": "user", "content": "hello " * tokens}]
    _error(
        tiny.post("/chat/completions", {"messages": words, "max_tokens": 1}, short),
        400,
        "context_length_exceeded",
    )
    ok = tiny.post(
        "/chat/completions", {"messages": HELLO}, short
    )  # no max_tokens: what is left of the window
    assert ok.status_code == 200, ok.text
    usage = ok.json()["usage"]
    assert usage["total_tokens"] <= SHORT_CONTEXT


@pytest.mark.parametrize("value", [0, -1, "ten", 1.5, None])
def test_invalid_max_tokens(tiny: Tiny, value: Any) -> None:
    response = tiny.post("/chat/completions", {"messages": HELLO, "max_tokens": value}, tiny.short)
    if value is None:  # null is "not set"
        assert response.status_code == 200, response.text
        return
    if isinstance(value, int):  # a wrong value is a 422; a wrong type is a 400, as OpenAI answers
        _error(response, 422, "invalid_parameter", "max_tokens")
    else:
        _error(response, 400, "invalid_type", "max_tokens")


TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"tools": TOOLS}, "tools"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "response_format"),
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"logit_bias": {"50": 5}}, "logit_bias"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_parameters_a_local_model_cannot_honour(
    tiny: Tiny, extra: dict[str, Any], param: str, stream: bool
) -> None:
    response = tiny.post("/chat/completions", {"messages": HELLO, "stream": stream, **extra})
    _error(response, 422, "parameter_not_supported", param)
    assert response.headers["content-type"] == "application/json"


def test_parameters_that_change_nothing_are_accepted(tiny: Tiny) -> None:
    for extra in (
        {"response_format": {"type": "text"}},
        {"n": 1},
        {"user": "u1"},
        {"stream_options": {"include_usage": True}},
        {"logprobs": False},
    ):
        response = tiny.post("/chat/completions", {"messages": HELLO, "max_tokens": 1, **extra})
        assert response.status_code == 200, (extra, response.text)


def test_a_model_that_cannot_load_is_503_and_the_server_keeps_serving(tiny: Tiny, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "llama"}')
    put_model(tiny.api, BROKEN_MODEL, {"kind": "huggingface", "path": str(broken)})
    endpoint = deploy(tiny.api, tiny.api.world(), "broken", BROKEN_MODEL)
    for _ in range(2):  # a failed load is retried on the next request, and fails the same way
        response = tiny.post("/chat/completions", {"messages": HELLO}, endpoint)
        _error(response, 503, "model_load_failed")
        assert response.headers["retry-after"]
    assert tiny.text(max_tokens=1)[1]["usage"]["completion_tokens"] == 1


def test_extra_parameters_on_a_local_model(tiny: Tiny) -> None:
    body = {"messages": HELLO, "max_tokens": 2, "top_k": 5, "repetition_penalty": 1.1}
    refused = tiny.post("/chat/completions", body)
    _error(refused, 422, "extra_parameters_not_allowed")
    for mode in ("drop", "pass-through"):
        response = tiny.api.client.post(
            tiny.chat.route + "/chat/completions",
            json=body,
            headers=tiny.chat.headers(**{"extra-parameters": mode}),
        )
        assert response.status_code == 200, (mode, response.text)
        assert response.json()["usage"]["completion_tokens"] == 2
