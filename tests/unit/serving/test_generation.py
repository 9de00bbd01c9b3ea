"""The generation plan (token budget against the context window, defaults, stop strings) and the
stop scanner that holds text back while it could still be the start of a stop string."""

from __future__ import annotations

from typing import Any

import pytest

from maas.core.errors import BadRequest, Unprocessable
from maas.protocol.inference.chat import ChatCompletionsRequest, CompletionsRequest
from maas.serving.engines.generation import DEFAULT_MAX_TOKENS, StopScanner, plan, refuse_unsupported


def _chat(**fields: Any) -> ChatCompletionsRequest:
    return ChatCompletionsRequest.model_validate({"messages": [{"role": "user", "content": "hi"}], **fields})


def test_the_token_budget() -> None:
    assert plan(_chat(), 10, 1000).max_new_tokens == DEFAULT_MAX_TOKENS
    assert plan(_chat(), 900, 1000).max_new_tokens == 100  # the default never overflows the window
    assert plan(_chat(max_tokens=90), 10, 100).max_new_tokens == 90
    assert plan(_chat(max_tokens=5, max_completion_tokens=7), 10, 100).max_new_tokens == 7
    for request, prompt in (
        (_chat(max_tokens=91), 10),
        (_chat(), 100),
        (_chat(), 101),
        (_chat(max_tokens=1), 100),
    ):
        with pytest.raises(BadRequest) as exceeded:
            plan(request, prompt, 100)
        assert exceeded.value.code == "context_length_exceeded"
        assert "100" in exceeded.value.message


def test_sampling_defaults_and_overrides() -> None:
    how = plan(_chat(), 1, 100)
    assert (how.temperature, how.top_p, how.seed, how.stop) == (1.0, 1.0, None, ())
    assert not how.greedy
    how = plan(_chat(), 1, 100, {"temperature": 0.6, "top_p": 0.9})
    assert (how.temperature, how.top_p) == (0.6, 0.9)
    how = plan(_chat(temperature=0, top_p=0.5, seed=3), 1, 100, {"temperature": 0.6})
    assert how.greedy and how.top_p == 0.5 and how.seed == 3
    how = plan(_chat(presence_penalty=0.5, frequency_penalty=-1), 1, 100)
    assert (how.presence_penalty, how.frequency_penalty) == (0.5, -1)


def test_stop_lists() -> None:
    assert plan(_chat(stop="END"), 1, 100).stop == ("END",)
    assert plan(_chat(stop=["a", "", "b"]), 1, 100).stop == ("a", "b")  # empty stops mean nothing
    with pytest.raises(Unprocessable):
        plan(_chat(stop=["a", "b", "c", "d", "e"]), 1, 100)
    assert plan(CompletionsRequest.model_validate({"prompt": "x", "stop": "\n"}), 1, 100).stop == ("\n",)


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"logit_bias": {"1": 2}}, "logit_bias"),
        ({"tools": [{"type": "function"}]}, "tools"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"response_format": {}}, None),  # no type: text
        ({"response_format": {"type": "text"}}, None),
        ({"n": 1, "logprobs": False, "tools": []}, None),
    ],
)
def test_refused_parameters(fields: dict[str, Any], param: str | None) -> None:
    if param is None:
        refuse_unsupported(_chat(**fields))
        return
    with pytest.raises(Unprocessable) as refused:
        refuse_unsupported(_chat(**fields))
    assert refused.value.code == "parameter_not_supported" and refused.value.target == param


def _feed(stops: tuple[str, ...], pieces: list[str]) -> tuple[list[str], bool]:
    """Feed growing text piece by piece, then a final flush; returns what was emitted each time."""
    scanner = StopScanner(stops)
    text, out = "", []
    for piece in pieces:
        text += piece
        out.append(scanner.feed(text))
        if scanner.stopped:
            return out, True
    out.append(scanner.feed(text, final=True))
    return out, scanner.stopped


def test_without_stops_text_flows_through() -> None:
    out, stopped = _feed((), ["Hel", "lo", " world"])
    assert out == ["Hel", "lo", " world", ""] and not stopped


def test_a_stop_split_across_pieces_is_never_emitted() -> None:
    out, stopped = _feed(("END",), ["one E", "N", "D two"])
    assert stopped and "".join(out) == "one "
    assert "E" not in "".join(out)


def test_text_that_only_looked_like_a_stop_is_released() -> None:
    out, stopped = _feed(("END",), ["one E", "N", "X two"])
    assert not stopped and "".join(out) == "one ENX two"
    assert out[0] == "one"  # ' E' was held back: it could have been the start of 'END'


def test_the_earliest_of_several_stops_wins() -> None:
    out, stopped = _feed(("two", "one"), ["zero one two"])
    assert stopped and "".join(out) == "zero "


def test_a_stop_at_the_very_start_gives_empty_text() -> None:
    out, stopped = _feed(("x",), ["xyz"])
    assert stopped and "".join(out) == ""


def test_incomplete_utf8_is_held_until_complete() -> None:
    scanner = StopScanner(())
    assert scanner.feed("caf\ufffd") == "caf"
    assert scanner.feed("café") == "é"
    assert scanner.feed("café\ufffd", final=True) == "\ufffd"  # at the end, emit what there is
