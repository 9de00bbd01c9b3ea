"""OpenAI response and chunk dicts, built the same way by every local engine."""

from __future__ import annotations

import time
import uuid
from typing import Any

Json = dict[str, Any]


def completion_id(prefix: str = "chatcmpl") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def usage(prompt: int, completion: int) -> Json:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _completion(cid: str, kind: str, created: int, model: str, choice: Json, finish: str | None) -> Json:
    """The envelope every completion object shares, around its one choice (`message`, `delta` or
    `text`)."""
    return {
        "id": cid,
        "object": kind,
        "created": created,
        "model": model,
        "choices": [{"index": 0, **choice, "finish_reason": finish, "logprobs": None}],
    }


def chat_response(cid: str, model: str, text: str, finish: str, prompt: int, completion: int) -> Json:
    message = {"role": "assistant", "content": text}
    answer = _completion(cid, "chat.completion", int(time.time()), model, {"message": message}, finish)
    return {**answer, "usage": usage(prompt, completion)}


def chat_chunk(cid: str, created: int, model: str, delta: Json, finish: str | None = None) -> Json:
    return _completion(cid, "chat.completion.chunk", created, model, {"delta": delta}, finish)


def text_chunk(cid: str, created: int, model: str, text: str, finish: str | None = None) -> Json:
    return _completion(cid, "text_completion", created, model, {"text": text}, finish)


def text_response(cid: str, model: str, text: str, finish: str, prompt: int, completion: int) -> Json:
    """A whole text completion: one final chunk (OpenAI gives both the same object) with its usage."""
    return {**text_chunk(cid, int(time.time()), model, text, finish), "usage": usage(prompt, completion)}
