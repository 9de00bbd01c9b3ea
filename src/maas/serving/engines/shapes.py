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


def chat_response(cid: str, model: str, text: str, finish: str, prompt: int, completion: int) -> Json:
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish,
                "logprobs": None,
            }
        ],
        "usage": usage(prompt, completion),
    }


def chat_chunk(cid: str, created: int, model: str, delta: Json, finish: str | None = None) -> Json:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


def text_chunk(cid: str, created: int, model: str, text: str, finish: str | None = None) -> Json:
    return {
        "id": cid,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "text": text, "finish_reason": finish, "logprobs": None}],
    }


def text_response(cid: str, model: str, text: str, finish: str, prompt: int, completion: int) -> Json:
    """A whole text completion: one final chunk (OpenAI gives both the same object) with its usage."""
    return {**text_chunk(cid, int(time.time()), model, text, finish), "usage": usage(prompt, completion)}
