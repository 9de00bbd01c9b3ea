"""The endpoint page's Playground: a chat with the model (or, for an embeddings endpoint, texts in
and a similarity table out) through the endpoint's Target URI.

POST /studio/endpoints/{name}/playground
        system, temperature, max_tokens, message, and the conversation so far as repeated
        turn_role / turn_content / turn_note fields. With `X-Playground-Stream: 1` (static/
        endpoint.js) the answer streams back as server-sent events (`delta` {text}, then `done`
        {note} or `error` {message}); without it (no JavaScript) the page comes back with the
        whole answer in the conversation.
POST /studio/endpoints/{name}/playground/embeddings
        texts (one per line): the vectors' dimensions and their cosine similarities (a fragment for
        htmx, else the page).

The call is the gateway's, made in-process (`maas.web.dataplane`) with the person's own
credential (`services.playground.credential`: a keyless token, else the endpoint's key when they
may list keys), so it is authenticated, quota-checked and metered like any client's call. The
browser never holds the key or the token. Each turn shows its tokens and cost, priced from the
offer's meters exactly (never rounded).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse
from starlette.types import ASGIApp

from maas.billing.meters import PriceList, price_list
from maas.controlplane.services import playground
from maas.controlplane.services.playground import EndpointFacts
from maas.core.errors import MaasError
from maas.protocol.management.naming import ResourceKind, validate_name
from maas.web import render
from maas.web.context import Studio, StudioFormDep, in_words
from maas.web.dataplane import Relayed, relay
from maas.web.playground import (
    STREAM_HEADER,
    BadInput,
    ChatSettings,
    Embedded,
    Turn,
    chat_request,
    conversation,
    cosine,
    inference_error,
    read_settings,
    read_texts,
    turn_note,
)
from maas.web.routes.endpoint import base_url, endpoint_page, where

router = APIRouter(include_in_schema=False)


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _frames(buffer: bytes) -> tuple[list[bytes], bytes]:
    """The complete `data:` payloads in `buffer`, and what is left of it."""
    out: list[bytes] = []
    while b"\n\n" in buffer:
        frame, buffer = buffer.split(b"\n\n", 1)
        for line in frame.split(b"\n"):
            if line.startswith(b"data:"):
                out.append(line[5:].strip())
    return out, buffer


async def _stream_events(
    open_call: Callable[[], Awaitable[Relayed]], prices: PriceList, failure: str | None = None
) -> AsyncIterator[bytes]:
    if failure is not None:
        yield _event("error", {"message": failure})
        return
    try:
        relayed = await open_call()
    except MaasError as error:
        yield _event("error", {"message": in_words(error)})
        return
    if relayed.status != 200:
        yield _event("error", {"message": inference_error(relayed.status, await relayed.read())})
        return
    usage: dict[str, Any] | None = None
    buffer = b""
    try:
        async for chunk in relayed.chunks():
            payloads, buffer = _frames(buffer + chunk)
            for payload in payloads:
                if payload == b"[DONE]":
                    continue
                data = json.loads(payload)
                if "error" in data:
                    yield _event("error", {"message": inference_error(500, payload)})
                    return
                usage = data.get("usage") or usage
                for choice in data.get("choices") or []:
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        yield _event("delta", {"text": text})
    finally:  # the browser left, or the stream ended: the gateway learns it now, not at GC
        await relayed.aclose()
    yield _event("done", {"note": turn_note(usage, prices)})


# -- routes -------------------------------------------------------------------------------------
def _data_plane(studio: Studio) -> ASGIApp | None:
    return getattr(studio.request.app.state, "studio_data_plane", None)


NO_DATA_PLANE = (
    "The data plane does not run in this process, so the playground cannot call the endpoint here."
)


def _client(studio: Studio) -> tuple[str, int] | None:
    client = studio.request.client
    return (client.host, client.port) if client is not None else None


@router.post("/studio/endpoints/{name}/playground")
async def chat(name: str, studio: StudioFormDep) -> Response:
    validate_name(ResourceKind.SERVERLESS_ENDPOINT, name)
    streaming = studio.request.headers.get(STREAM_HEADER) == "1"
    form = await studio.form()
    place = where(studio)
    found = await studio.call(playground.facts, *place.args, name)
    settings = read_settings(form, found)
    prices = price_list(found.meters)
    history: list[Turn] = []
    failure: str | None = None
    body: dict[str, Any] = {}
    try:
        history = conversation(form)
        body = chat_request(settings, history, found)
        if found.is_embeddings:
            raise BadInput("This endpoint serves embeddings: use the texts form of its playground.")
    except BadInput as error:
        failure = str(error)
    app = _data_plane(studio)
    if failure is None and app is None:
        failure = NO_DATA_PLANE

    async def open_call() -> Relayed:
        assert app is not None
        credential = await studio.call(playground.credential, *place.args, name)
        payload = dict(body)
        if streaming:
            payload |= {"stream": True, "stream_options": {"include_usage": True}}
        headers = {**credential.headers, "content-type": "application/json"}
        url = f"{found.target_uri}/chat/completions"
        return await relay(app, url, json.dumps(payload).encode(), headers, _client(studio))

    if streaming:
        return StreamingResponse(
            _stream_events(open_call, prices, failure),
            status_code=400 if failure is not None else 200,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
    answer: Turn | None = None
    status = 400
    if failure is None:
        try:
            relayed = await open_call()
            raw = await relayed.read()
        except MaasError as error:
            failure, status = in_words(error), error.status
        else:
            if relayed.status != 200:
                failure, status = inference_error(relayed.status, raw), relayed.status
            else:
                result = json.loads(raw)
                choices = result.get("choices") or [{}]
                text = str((choices[0].get("message") or {}).get("content") or "")
                answer = Turn("assistant", text, turn_note(result.get("usage"), prices))
    turns = history
    if answer is not None:
        turns = [*history, Turn("user", settings.message.strip()), answer]
        settings.message = ""
    return await endpoint_page(
        studio,
        name,
        "playground",
        status=200 if failure is None else status,
        conversation=turns,
        settings=settings,
        playground_error=failure or "",
    )


async def _embed(studio: Studio, name: str, found: EndpointFacts, settings: ChatSettings) -> Embedded:
    try:
        texts = read_texts(settings)
    except BadInput as error:
        return Embedded(error=str(error))
    app = _data_plane(studio)
    if app is None:
        return Embedded(texts, error=NO_DATA_PLANE)
    place = where(studio)
    try:
        credential = await studio.call(playground.credential, *place.args, name)
    except MaasError as error:
        return Embedded(texts, error=in_words(error))
    headers = {**credential.headers, "content-type": "application/json"}
    body = json.dumps({"input": texts}).encode()
    relayed = await relay(app, f"{found.target_uri}/embeddings", body, headers, _client(studio))
    raw = await relayed.read()
    if relayed.status != 200:
        return Embedded(texts, error=inference_error(relayed.status, raw))
    result = json.loads(raw)
    vectors = [[float(x) for x in item.get("embedding") or []] for item in result.get("data") or []]
    if len(vectors) != len(texts):
        return Embedded(
            texts, error="The endpoint answered with a different number of vectors than texts sent."
        )
    return Embedded(
        texts,
        dimensions=[len(v) for v in vectors],
        similarity=[[cosine(a, b) for b in vectors] for a in vectors],
        note=turn_note(result.get("usage"), price_list(found.meters), output=False),
    )


@router.post("/studio/endpoints/{name}/playground/embeddings")
async def embeddings(name: str, studio: StudioFormDep) -> Response:
    validate_name(ResourceKind.SERVERLESS_ENDPOINT, name)
    form = await studio.form()
    found = await studio.call(playground.facts, *where(studio).args, name)
    settings = read_settings(form, found)
    embedded = await _embed(studio, name, found, settings)
    status = 400 if embedded.error else 200
    if studio.request.headers.get("HX-Request") == "true":
        return render.fragment(studio, "endpoint/embeddings.html", embedded=embedded, base=base_url(name))
    return await endpoint_page(
        studio, name, "playground", status=status, settings=settings, embedded=embedded
    )
