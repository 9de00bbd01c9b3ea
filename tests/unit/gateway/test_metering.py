"""The gateway's metering helpers: reset durations, token reservations, the quota headers, and
how a metered stream records usage (complete, cut short by the client, broken by the model)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from maas.billing.records import UsageRecord
from maas.core.errors import BadRequest
from maas.core.shipped import shipped_dir
from maas.gateway.metering import (
    MAX_TOKEN_BYTES,
    MESSAGE_TOKENS,
    TEMPLATE_TOKENS,
    Metering,
    _duration,
    check_fits,
    rate_headers,
    reservation,
)
from maas.gateway.quota.base import Decision, Limits
from maas.gateway.quota.memory import MemoryQuotaStore
from maas.gateway.readmodel import EndpointView
from maas.protocol.inference.chat import ChatCompletionsRequest, CompletionsRequest
from maas.protocol.inference.embeddings import EmbeddingsRequest
from maas.serving.engines.usage import StreamChunk, Usage

VIEW = EndpointView(
    id="/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/serverlessEndpoints/e",
    name="e",
    region="eastus",
    provisioning_state="Succeeded",
    endpoint_state="Online",
    primary_digest="",
    secondary_digest="",
    model=None,
)


class Journal:
    def __init__(self) -> None:
        self.records: list[UsageRecord] = []

    def record(self, record: UsageRecord) -> None:
        self.records.append(record)


def test_reset_durations_use_openais_form() -> None:
    assert [_duration(s) for s in (0, 0.0004, 0.012, 1.5, 59.9994, 60, 61.25)] == [
        "0s",
        "1ms",
        "12ms",
        "1.5s",
        "1m0s",
        "1m0s",
        "1m1.25s",
    ]


def test_reservations_bound_the_prompt_by_its_bytes_and_add_what_may_be_generated() -> None:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "x" * 400}], "max_tokens": 50, "n": 2}
    request = ChatCompletionsRequest.model_validate(body)
    prompt = TEMPLATE_TOKENS + MESSAGE_TOKENS + 4 + 400  # "user" counts too
    assert reservation("chat/completions", request, body, None) == (prompt + 50) * 2
    assert reservation("chat/completions", request, body, 120) == 120 * 2  # capped by the context window
    default = {"messages": [{"role": "user", "content": "hi"}]}
    assert reservation("chat/completions", ChatCompletionsRequest.model_validate(default), default, None) == (
        TEMPLATE_TOKENS + MESSAGE_TOKENS + 6 + 256
    )
    # bytes, not characters: an emoji is 4 bytes and can be 4 tokens
    emoji = {"messages": [{"role": "user", "content": "\U0001f600" * 100}]}
    assert reservation("chat/completions", ChatCompletionsRequest.model_validate(emoji), emoji, None) == (
        TEMPLATE_TOKENS + MESSAGE_TOKENS + 4 + 400 + 256
    )
    embed = {"input": ["a" * 40, "b" * 40]}
    assert reservation("embeddings", EmbeddingsRequest.model_validate(embed), embed, None) == 80 + 2 * 2
    many = {"prompt": ["a" * 10, "b" * 10], "max_tokens": 5}
    assert reservation("completions", CompletionsRequest.model_validate(many), many, None) == 2 * (12 + 5)


ADVERSARIAL = [
    "\U0001f600" * 100,
    "\u4f60\u597d\u4e16\u754c" * 50,
    "".join(chr(c) for c in range(0x100, 0x400)),
    " " * 300 + "\t\n" * 50,
    "\u0301" * 200,  # combining marks
    "<|user|><|end|><|assistant|>" * 20,  # the template's own special tokens, spelt out
    "".join(chr(0x10000 + 97 * i) for i in range(300)),
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_no_prompt_uses_more_tokens_than_its_reservation_with_the_shipped_tokenizer(text: str) -> None:
    """The bound holds for the shipped model's real tokenizer and chat template."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(shipped_dir() / "maas-tiny-chat"))
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]
    body: dict[str, Any] = {"messages": messages, "max_tokens": 1}
    used = len(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)) + 1
    assert used <= reservation("chat/completions", ChatCompletionsRequest.model_validate(body), body, None)
    prompt = {"prompt": text, "max_tokens": 1}
    used = len(tokenizer(text)["input_ids"]) + 1
    assert used <= reservation("completions", CompletionsRequest.model_validate(prompt), prompt, None)


def test_a_request_that_can_never_fit_the_context_window_is_refused() -> None:
    def check(route: str, body: dict[str, Any], context: int | None = 512) -> None:
        model = CompletionsRequest if route == "completions" else ChatCompletionsRequest
        check_fits(route, model.model_validate(body), body, context)

    short = [{"role": "user", "content": "hi"}]
    check("chat/completions", {"messages": short, "max_tokens": 511})
    check("chat/completions", {"messages": short, "max_tokens": 10**12}, None)  # no window known
    for body in (
        {"messages": short, "max_tokens": 10**12},
        {"messages": short, "max_completion_tokens": 512},
        {"messages": [{"role": "user", "content": "x" * (513 * MAX_TOKEN_BYTES)}]},
        {"messages": [{"role": "user", "content": "x" * (400 * MAX_TOKEN_BYTES)}], "max_tokens": 200},
    ):
        with pytest.raises(BadRequest) as refused:
            check("chat/completions", body)
        assert refused.value.code == "context_length_exceeded"
    with pytest.raises(BadRequest) as refused:
        check("completions", {"prompt": ["x" * (300 * MAX_TOKEN_BYTES)] * 2})
    assert refused.value.target == "prompt"


def test_rate_headers_name_every_limit() -> None:
    decision = Decision(True, Limits(1000, 200_000), 999, 199_000, 0.5, 59.0)
    assert dict(rate_headers(decision)) == {
        b"x-ratelimit-limit-requests": b"1000",
        b"x-ratelimit-remaining-requests": b"999",
        b"x-ratelimit-limit-tokens": b"200000",
        b"x-ratelimit-remaining-tokens": b"199000",
        b"x-ratelimit-reset-requests": b"500ms",
        b"x-ratelimit-reset-tokens": b"59s",
    }


async def _chunks(fail_after: int | None = None) -> AsyncIterator[StreamChunk]:
    for i in range(5):
        if fail_after is not None and i == fail_after:
            raise RuntimeError("model broke")
        yield {"choices": [{"delta": {"content": "x"}}]}, Usage(7, i + 1)
    yield {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 5}}, Usage(7, 5)


def _run_stream(
    cut_after: int | None = None, fail_after: int | None = None
) -> tuple[list[Any], Journal, Any]:
    async def go() -> tuple[list[Any], Journal, Any]:
        journal = Journal()
        quotas = MemoryQuotaStore()
        metering = Metering(quotas, journal, Limits(10, 1000))  # type: ignore[arg-type]
        exchange: Any = type("X", (), {"request_id": "r1", "rate_headers": []})()
        admission = await metering.admit(
            exchange,
            VIEW,
            "chat/completions",
            ChatCompletionsRequest.model_validate(
                {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}
            ),
            {},
        )
        seen: list[Any] = []
        stream = admission.meter_stream(_chunks(fail_after))
        try:
            async for chunk in stream:
                seen.append(chunk)
                if cut_after is not None and len(seen) == cut_after:
                    break
        except RuntimeError:
            pass
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        return seen, journal, await quotas.peek(VIEW.id.lower(), Limits(10, 1000))

    return asyncio.run(go())


def test_a_whole_stream_is_recorded_once_from_its_usage_chunk_and_relays_only_chunks() -> None:
    seen, journal, after = _run_stream()
    assert all(isinstance(chunk, dict) and set(chunk) <= {"choices", "usage"} for chunk in seen)
    [only] = journal.records
    assert (only.input_tokens, only.output_tokens, only.status) == (7, 5, "Succeeded")
    assert after.remaining_tokens == 1000 - 12  # the reservation was settled to the real count


@pytest.mark.parametrize(
    ("cut", "fail", "status", "out"), [(3, None, "ClientClosed", 3), (None, 2, "Failed", 2)]
)
def test_a_stream_ended_early_records_what_was_generated(
    cut: int | None, fail: int | None, status: str, out: int
) -> None:
    _, journal, after = _run_stream(cut_after=cut, fail_after=fail)
    [only] = journal.records
    assert (only.input_tokens, only.output_tokens, only.status) == (7, out, status)
    assert after.remaining_tokens == 1000 - 7 - out


def test_a_stream_that_fails_before_generating_records_nothing_and_frees_its_slot() -> None:
    _, journal, after = _run_stream(fail_after=0)
    assert journal.records == []
    assert after.remaining_requests == 10
