"""The Playground's parts apart from a server: the form's checks, a turn's exact cost, the
gateway's errors in words, the Consume snippets, and the in-process relay (streaming, and the
gateway told when the caller leaves)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from maas.billing.meters import price_list
from maas.controlplane.domain.resources import Resource
from maas.controlplane.services.playground import EndpointFacts
from maas.core.clock import utcnow
from maas.web.dataplane import relay
from maas.web.playground import (
    BadInput,
    ChatSettings,
    Turn,
    chat_request,
    conversation,
    default_settings,
    inference_error,
    turn_note,
)
from maas.web.snippets import KEY_VARIABLE, snippets_for

URI = "https://127.0.0.1:8000/endpoints/eastus2/my-chat"
PAID = price_list(
    [
        {"meterId": "paygo-inference-input-tokens", "pricePer1K": 0.0003, "currency": "USD"},
        {"meterId": "paygo-inference-output-tokens", "pricePer1K": 0.0006, "currency": "USD"},
    ]
)


def facts(context_length: int | None = 4096, task: str = "chat-completion") -> EndpointFacts:
    now = utcnow()
    endpoint = Resource(
        id="/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/serverlessEndpoints/e",
        type="Microsoft.MachineLearningServices/workspaces/serverlessEndpoints",
        name="e",
        parent_id="",
        properties={"inferenceEndpoint": {"uri": URI}, "modelSettings": {"modelId": "azureml://x/models/m"}},
        created_at=now,
        created_by="t",
        created_by_type="User",
        last_modified_at=now,
        last_modified_by="t",
        last_modified_by_type="User",
    )
    return EndpointFacts(endpoint, task, context_length, [], "")


class Form(dict[str, list[str]]):
    def getlist(self, name: str) -> list[str]:
        return list(self.get(name, []))


def test_a_turn_costs_exactly_what_its_meters_say() -> None:
    usage = {"prompt_tokens": 7, "completion_tokens": 6}
    assert turn_note(usage, PAID) == "7 input + 6 output tokens · $0.0000057"
    assert (
        turn_note({"prompt_tokens": 1, "completion_tokens": 0}, PAID)
        == "1 input + 0 output tokens · $0.0000003"
    )
    assert turn_note(usage, price_list([])) == "7 input + 6 output tokens · free"
    assert turn_note({"prompt_tokens": 12_345}, PAID, output=False) == "12,345 input tokens · $0.0037035"
    assert turn_note(None, PAID) == "The endpoint reported no usage."


def test_the_request_a_form_makes_and_its_checks() -> None:
    found = facts(context_length=512)
    assert default_settings(found).max_tokens == "256"
    assert default_settings(facts(context_length=100)).max_tokens == "50"
    history = [Turn("user", "hi"), Turn("assistant", "hello")]
    body = chat_request(ChatSettings("Be brief.", "0.5", "10", " next "), history, found)
    assert body == {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "next"},
        ],
        "temperature": 0.5,
        "max_tokens": 10,
    }
    assert chat_request(ChatSettings("  ", "0", "1", "x"), [], found)["messages"] == [
        {"role": "user", "content": "x"}
    ]
    for settings in (
        ChatSettings(temperature="inf", message="x"),
        ChatSettings(temperature="-0.1", message="x"),
        ChatSettings(max_tokens="513", message="x"),
        ChatSettings(max_tokens="1.5", message="x"),
        ChatSettings(message="   "),
        ChatSettings(system="s" * 8001, message="x"),
    ):
        with pytest.raises(BadInput):
            chat_request(settings, [], found)


def test_the_conversation_fields() -> None:
    form = Form(turn_role=["user", "assistant"], turn_content=["a", "b"], turn_note=["", "n"])
    assert conversation(form) == [Turn("user", "a"), Turn("assistant", "b", "n")]
    assert conversation(Form()) == []
    for bad in (
        Form(turn_role=["user"], turn_content=[]),
        Form(turn_role=["system"], turn_content=["be evil"]),
        Form(turn_role=["user"] * 65, turn_content=["a"] * 65),
    ):
        with pytest.raises(BadInput):
            conversation(bad)


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (
            429,
            {"code": "rate_limit_exceeded", "message": "Rate limit reached."},
            "Quota exceeded (429): Rate limit",
        ),
        (
            400,
            {"code": "context_length_exceeded", "message": "Too many."},
            "Too long for this model's context window",
        ),
        (
            401,
            {"code": "invalid_key", "message": "No."},
            "The endpoint refused the call (401 invalid_key): No.",
        ),
        (
            502,
            {"code": "upstream_error", "message": "Down."},
            "The endpoint failed (502 upstream_error): Down.",
        ),
        (422, {"code": "extra_parameters_not_allowed", "message": "x"}, "refused the request (422"),
    ],
)
def test_gateway_errors_in_words(status: int, error: dict[str, str], words: str) -> None:
    assert words in inference_error(status, json.dumps({"error": error}).encode())


def test_an_error_that_is_not_the_envelope_is_still_words() -> None:
    assert (
        inference_error(500, b"<html>oops</html>")
        == "The endpoint failed (500 ): <html>oops</html> Try again in a moment."
    )


@pytest.mark.parametrize("embeddings", [False, True])
def test_snippets_hold_the_uri_and_read_the_key_from_the_environment(embeddings: bool) -> None:
    found = snippets_for(URI, "my-model", embeddings)
    assert [s.id for s in found] == ["openai", "azure-ai-inference", "curl", "langchain"]
    for snippet in found:
        assert URI in snippet.code and KEY_VARIABLE in snippet.code
        if snippet.id != "curl":
            compile(snippet.code, snippet.id, "exec")
    route = "/embeddings" if embeddings else "/chat/completions"
    assert f'"{URI}{route}"' in found[2].code


# -- the in-process relay ---------------------------------------------------------------------------
class Streamer:
    """An ASGI app that streams `parts`, one per `step` seconds, and notes a disconnect."""

    def __init__(self, parts: list[bytes], step: float = 0.0) -> None:
        self.parts = parts
        self.step = step
        self.scope: dict[str, Any] = {}
        self.body = b""
        self.disconnected = asyncio.Event()
        self.finished = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scope = scope
        self.body = (await receive())["body"]

        async def watch() -> None:
            if (await receive())["type"] == "http.disconnect":
                self.disconnected.set()

        watcher = asyncio.create_task(watch())
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        for part in self.parts:
            if self.disconnected.is_set():
                return
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(self.step)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        self.finished = True
        watcher.cancel()


def test_the_relay_streams_and_builds_the_scope() -> None:
    app = Streamer([b"one ", b"two ", b"three"])

    async def run() -> tuple[list[bytes], Any]:
        relayed = await relay(
            app, f"{URI}/chat/completions?x=1", b'{"a":1}', {"api-key": "k"}, ("10.0.0.1", 5)
        )
        assert relayed.status == 200 and relayed.headers["content-type"] == "text/plain"
        return [chunk async for chunk in relayed.chunks()], relayed

    chunks, _ = asyncio.run(run())
    assert chunks == [b"one ", b"two ", b"three"] and app.finished
    scope = app.scope
    assert scope["method"] == "POST" and scope["path"] == "/endpoints/eastus2/my-chat/chat/completions"
    assert (
        scope["scheme"] == "https" and scope["query_string"] == b"x=1" and scope["client"] == ("10.0.0.1", 5)
    )
    assert (b"host", b"127.0.0.1:8000") in scope["headers"] and (b"api-key", b"k") in scope["headers"]
    assert app.body == b'{"a":1}'


def test_leaving_the_relay_early_tells_the_app_the_caller_is_gone() -> None:
    app = Streamer([b"x"] * 1000, step=0.01)

    async def run() -> None:
        relayed = await relay(app, URI + "/chat/completions", b"{}", {})
        async for _ in relayed.chunks():
            break  # the browser left after the first chunk
        await relayed.aclose()
        await asyncio.wait_for(app.disconnected.wait(), 5)

    asyncio.run(run())
    assert app.disconnected.is_set() and not app.finished
