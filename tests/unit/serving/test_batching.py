"""Continuous batching in the transformers engine, on the shipped maas-tiny-chat: concurrent
requests decode together and each gets what it would get alone (greedy text, seeded samples, stop
strings, usage); a stream that is closed leaves the batch without disturbing the others; a request
can join a batch that is already decoding; `maxBatch` bounds the rows and the rest wait.

No timing assertions: where a test waits for the scheduler, the deadline is only a safety net."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from maas.core.errors import MaasError
from maas.core.shipped import resolve_path
from maas.protocol.inference.chat import ChatCompletionsRequest, CompletionsRequest
from maas.serving.engines.base import ModelSpec
from maas.serving.engines.transformers_engine import TransformersEngine
from maas.serving.engines.usage import StreamChunk

T = TypeVar("T")
QUESTIONS = ("Hello!", "What does ocean mean?", "Tell me about Python lists.", "What is a dog?")
LONG = "Tell me about Python lists."  # greedy: runs past 64 tokens without an end of turn


def _spec(**options: Any) -> ModelSpec:
    path = str(resolve_path("shipped:maas-tiny-chat"))
    return ModelSpec(
        "v1",
        "maas-tiny-chat",
        "chat-completion",
        "tests",
        {"kind": "huggingface", "path": path},
        options=options,
    )


def _run(make: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await make()

    return asyncio.run(main())


@pytest.fixture(scope="module")
def engine() -> Iterator[TransformersEngine]:
    built = TransformersEngine(_spec())
    _run(built.start)
    yield built
    _run(built.close)


def chat(question: str, **fields: Any) -> ChatCompletionsRequest:
    body = {"messages": [{"role": "user", "content": question}], "max_tokens": 40, "temperature": 0}
    return ChatCompletionsRequest.model_validate({**body, **fields})


@dataclass
class Streamed:
    text: str
    finish: str | None
    usage: dict[str, int]
    chunks: int


async def consume(chunks: AsyncIterator[StreamChunk]) -> Streamed:
    text, finish, usage, count = [], None, {}, 0
    async with aclosing(chunks) as stream:  # type: ignore[type-var]
        async for chunk, _ in stream:
            count += 1
            choice = chunk["choices"][0]
            text.append(choice.get("delta", {}).get("content") or choice.get("text") or "")
            finish = choice.get("finish_reason") or finish
            usage = chunk.get("usage") or usage
    return Streamed("".join(text), finish, usage, count)


async def answer(
    engine: TransformersEngine, request: ChatCompletionsRequest
) -> tuple[str, str, dict[str, int]]:
    response = await engine.chat(request, {})
    choice = response["choices"][0]
    return choice["message"]["content"], choice["finish_reason"], response["usage"]


def solo(engine: TransformersEngine, request: ChatCompletionsRequest) -> tuple[str, str, dict[str, int]]:
    return _run(lambda: answer(engine, request))


async def wait_for(condition: Callable[[], bool], what: str) -> None:
    for _ in range(10_000):  # a safety net of ~10 s, not a timing assertion
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"gave up waiting: {what}")


def test_greedy_text_is_the_same_alone_and_batched(engine: TransformersEngine) -> None:
    alone = [solo(engine, chat(q)) for q in QUESTIONS]

    async def together() -> list[tuple[str, str, dict[str, int]]]:
        return await asyncio.gather(*(answer(engine, chat(q)) for q in QUESTIONS * 3))

    batched = _run(together)
    assert batched == alone * 3
    assert {finish for _, finish, _ in alone} <= {"stop", "length"}


def test_concurrent_streams_all_complete_with_their_usage(engine: TransformersEngine) -> None:
    tokenizer = engine.tokenizer
    budgets = [1, 3, 8, 17, 30, 64, 5, 12]
    requests = [chat(LONG if i % 2 else QUESTIONS[i % 4], max_tokens=n) for i, n in enumerate(budgets)]
    alone = [solo(engine, r) for r in requests]

    async def together() -> list[Streamed]:
        return await asyncio.gather(*(consume(engine.chat_stream(r, {})) for r in requests))

    for request, streamed, (text, finish, usage) in zip(requests, _run(together), alone, strict=True):
        assert (streamed.text, streamed.finish, streamed.usage) == (text, finish, usage)
        messages = [{"role": "user", "content": request.messages[0].text()}]
        prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        prompt = prompt["input_ids"] if not isinstance(prompt, list) else prompt
        assert usage["prompt_tokens"] == len(prompt)
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        if finish == "length":
            assert usage["completion_tokens"] == request.max_tokens
        else:
            assert usage["completion_tokens"] <= (request.max_tokens or 0)


def test_text_completions_batch_like_chats(engine: TransformersEngine) -> None:
    prompts = ["def main():", "The sea is", "A list is", "Once upon a time"]

    def request(prompt: str) -> CompletionsRequest:
        return CompletionsRequest.model_validate({"prompt": prompt, "max_tokens": 24, "temperature": 0})

    async def one(prompt: str) -> dict[str, Any]:
        return await engine.completion(request(prompt), {})

    alone = [_run(functools.partial(one, p)) for p in prompts]

    async def together() -> tuple[list[dict[str, Any]], list[Streamed]]:
        answers = asyncio.gather(*(one(p) for p in prompts))
        streams = asyncio.gather(*(consume(engine.completion_stream(request(p), {})) for p in prompts))
        return await asyncio.gather(answers, streams)  # type: ignore[return-value]

    answers, streams = _run(together)
    for first, again, streamed in zip(alone, answers, streams, strict=True):
        assert again["choices"][0]["text"] == first["choices"][0]["text"] == streamed.text
        assert again["usage"] == first["usage"] == streamed.usage
        assert streamed.finish == first["choices"][0]["finish_reason"]


def test_closing_one_stream_leaves_the_others_correct(engine: TransformersEngine) -> None:
    others = [chat(LONG, max_tokens=60), chat(QUESTIONS[1], max_tokens=50), chat(QUESTIONS[3], max_tokens=50)]
    alone = [solo(engine, r) for r in others]
    batcher = engine.batcher
    assert batcher is not None

    async def scenario() -> list[Streamed]:
        running = [asyncio.create_task(consume(engine.chat_stream(r, {}))) for r in others]
        leaving = engine.chat_stream(chat(LONG, max_tokens=200), {})
        async with aclosing(leaving) as stream:  # type: ignore[type-var]
            received = 0
            async for _ in stream:
                received += 1
                if received == 3:
                    break  # the client goes away mid-generation
        await wait_for(lambda: batcher.running <= len(others), "the closed stream's row to leave")
        assert not all(task.done() for task in running)  # it left while the others still decoded
        finished = await asyncio.gather(*running)
        await wait_for(lambda: batcher.running == 0, "the batch to empty")
        return finished

    for streamed, (text, finish, usage) in zip(_run(scenario), alone, strict=True):
        assert (streamed.text, streamed.finish, streamed.usage) == (text, finish, usage)


def test_a_cancelled_task_leaves_the_batch(engine: TransformersEngine) -> None:
    batcher = engine.batcher
    assert batcher is not None

    async def scenario() -> None:
        task = asyncio.create_task(consume(engine.chat_stream(chat(LONG, max_tokens=300), {})))
        await wait_for(lambda: batcher.running == 1, "the request to start decoding")
        task.cancel()  # what the replica does when the gateway cancels a request
        with pytest.raises(asyncio.CancelledError):
            await task
        await wait_for(lambda: batcher.running == 0, "the cancelled row to leave")

    _run(scenario)


def test_seeded_sampling_is_repeatable_under_batching(engine: TransformersEngine) -> None:
    def sampled(seed: int) -> ChatCompletionsRequest:
        return chat(QUESTIONS[1], temperature=1.0, top_p=0.95, seed=seed, max_tokens=32)

    alone = solo(engine, sampled(7))
    neighbours = [chat(LONG), sampled(8), chat(QUESTIONS[0], temperature=0.7), sampled(9)]

    async def together() -> list[tuple[str, str, dict[str, int]]]:
        return await asyncio.gather(*(answer(engine, r) for r in [*neighbours, sampled(7), sampled(7)]))

    results = _run(together)
    assert results[-1] == results[-2] == alone
    assert alone[0] not in {results[1][0], results[3][0]}  # other seeds sample other text


def test_penalties_apply_per_row(engine: TransformersEngine) -> None:
    plain = solo(engine, chat(LONG, max_tokens=40))
    penalised = solo(engine, chat(LONG, max_tokens=40, frequency_penalty=2.0, presence_penalty=1.0))
    assert penalised[0] != plain[0]

    async def together() -> list[tuple[str, str, dict[str, int]]]:
        requests = [
            chat(LONG, max_tokens=40),
            chat(LONG, max_tokens=40, frequency_penalty=2.0, presence_penalty=1.0),
        ]
        return await asyncio.gather(*(answer(engine, r) for r in requests))

    assert _run(together) == [plain, penalised]


def test_a_stop_string_in_a_batched_row(engine: TransformersEngine) -> None:
    full, finish, _ = solo(engine, chat(LONG, max_tokens=60))
    assert finish == "length"
    words = [m for m in re.finditer(r"[A-Za-z]{4,}", full) if m.start() > 10]
    stop = words[len(words) // 2].group()
    cut = full[: full.index(stop)]
    stopped = chat(LONG, max_tokens=60, stop=["never-there", stop])

    async def together() -> tuple[list[tuple[str, str, dict[str, int]]], Streamed]:
        answers = asyncio.gather(*(answer(engine, r) for r in [chat(QUESTIONS[1]), stopped, chat(LONG)]))
        streamed = consume(engine.chat_stream(stopped, {}))
        return await asyncio.gather(answers, streamed)  # type: ignore[return-value]

    answers, streamed = _run(together)
    text, finish, usage = answers[1]
    assert (text, finish) == (cut, "stop")
    assert usage["completion_tokens"] < 60
    assert (streamed.text, streamed.finish) == (cut, "stop")
    assert answers[0] == solo(engine, chat(QUESTIONS[1]))  # the neighbours are untouched


def test_a_request_joins_a_batch_in_flight(engine: TransformersEngine) -> None:
    first, second = chat(LONG, max_tokens=64), chat(QUESTIONS[1], max_tokens=30)
    alone = [solo(engine, first), solo(engine, second)]
    batcher = engine.batcher
    assert batcher is not None

    async def scenario() -> tuple[str, Streamed, Streamed]:
        stream = engine.chat_stream(first, {})
        async with aclosing(stream):  # type: ignore[type-var]
            head = [await anext(stream) for _ in range(4)]  # the role, then text: it is decoding
            await wait_for(lambda: batcher.running == 1, "only the first request to be decoding")
            joining = asyncio.create_task(consume(engine.chat_stream(second, {})))
            await wait_for(lambda: batcher.running == 2, "the second request to join the first")
            rest = await consume(stream)
        text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk, _ in head)
        return text, rest, await joining

    head, rest, joined = _run(scenario)
    assert (head + rest.text, rest.finish, rest.usage) == alone[0]
    assert (joined.text, joined.finish, joined.usage) == alone[1]


def test_max_batch_bounds_the_rows_and_the_rest_wait() -> None:
    bounded = TransformersEngine(_spec(maxBatch=2))
    requests = [chat(q, max_tokens=20) for q in QUESTIONS] + [chat(LONG, max_tokens=20)]

    async def scenario() -> tuple[
        list[tuple[str, str, dict[str, int]]], list[tuple[str, str, dict[str, int]]], int
    ]:
        await bounded.start()
        batcher = bounded.batcher
        assert batcher is not None and batcher.max_batch == 2
        try:
            alone = [await answer(bounded, r) for r in requests]
            seen = 0

            async def watch() -> None:
                nonlocal seen
                while True:
                    seen = max(seen, batcher.running)
                    await asyncio.sleep(0)

            watcher = asyncio.create_task(watch())
            together = await asyncio.gather(*(answer(bounded, r) for r in requests))
            watcher.cancel()
            return alone, together, seen
        finally:
            await bounded.close()

    alone, together, seen = _run(scenario)
    assert together == alone
    assert seen <= 2


@pytest.mark.parametrize("value", [0, -1, "many", 2.5, True])
def test_a_bad_max_batch_fails_the_load(value: Any) -> None:
    with pytest.raises(MaasError) as failed:
        _run(TransformersEngine(_spec(maxBatch=value)).start)
    assert "maxBatch" in failed.value.message


def test_closing_the_engine_fails_what_is_left() -> None:
    closing = TransformersEngine(_spec(maxBatch=1))

    async def scenario() -> tuple[BaseException | None, BaseException | None]:
        await closing.start()
        batcher = closing.batcher
        assert batcher is not None
        running = asyncio.create_task(consume(closing.chat_stream(chat(LONG, max_tokens=400), {})))
        waiting = asyncio.create_task(consume(closing.chat_stream(chat(LONG, max_tokens=400), {})))
        await wait_for(lambda: batcher.running == 1, "the first request to start decoding")
        await closing.close()
        outcomes = await asyncio.gather(running, waiting, return_exceptions=True)
        with pytest.raises(MaasError):
            await closing.chat(chat(LONG), {})
        return tuple(o if isinstance(o, BaseException) else None for o in outcomes)  # type: ignore[return-value]

    running, waiting = _run(scenario)
    assert isinstance(running, MaasError) and isinstance(waiting, MaasError)


def test_a_failed_step_fails_its_rows_and_the_engine_goes_on(
    engine: TransformersEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    batcher = engine.batcher
    assert batcher is not None
    before = solo(engine, chat(QUESTIONS[0]))

    class Broken:
        device = batcher.runner.device

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("out of memory, say")

    monkeypatch.setattr(batcher, "runner", Broken())

    async def together() -> list[tuple[str, str, dict[str, int]] | BaseException]:
        return await asyncio.gather(*(answer(engine, chat(q)) for q in QUESTIONS), return_exceptions=True)

    for outcome in _run(together):
        assert isinstance(outcome, MaasError) and outcome.code == "GenerationFailed"
        assert "out of memory, say" in outcome.message
    monkeypatch.undo()
    assert solo(engine, chat(QUESTIONS[0])) == before


def test_a_quiet_tenant_does_not_decode_inside_a_floods_batch(engine: TransformersEngine) -> None:
    """Rows of a tenant over its share are set aside while another tenant has rows here, and
    rejoin unchanged: every answer is still the solo greedy answer."""
    from maas.serving.engines import batcher as batcher_module
    from maas.serving.engines.base import TENANT

    flood_request, quiet_request = chat(LONG, max_tokens=64), chat(QUESTIONS[1], max_tokens=30)
    flood_alone, quiet_alone = solo(engine, flood_request), solo(engine, quiet_request)
    batcher = engine.batcher
    assert batcher is not None
    shared = batcher_module.SHARED_ROWS

    async def as_tenant(tenant: str, request: ChatCompletionsRequest) -> tuple[str, str, dict[str, int]]:
        TENANT.set(tenant)  # a task's own context, as each replica request has
        return await answer(engine, request)

    async def scenario() -> tuple[list[Any], Any, int, int]:
        flood = [asyncio.create_task(as_tenant("flood", flood_request)) for _ in range(10)]
        await wait_for(lambda: batcher.running == 10, "the flood decoding")
        quiet = asyncio.create_task(as_tenant("quiet", quiet_request))
        await wait_for(lambda: len(batcher._parked_rows) > 0, "the flood's extra rows set aside")
        running, parked = batcher.running, len(batcher._parked_rows)
        quiet_answer = await quiet
        flood_answers = await asyncio.gather(*flood)
        await wait_for(lambda: batcher.running == 0 and not batcher._parked_rows, "the batch emptied")
        return flood_answers, quiet_answer, running, parked

    flood_answers, quiet_answer, running, parked = _run(scenario)
    assert running == shared + 1 and parked == 10 - shared  # the quiet row and the flood's share
    assert quiet_answer == quiet_alone
    assert flood_answers == [flood_alone] * 10  # set aside and back: the same tokens
