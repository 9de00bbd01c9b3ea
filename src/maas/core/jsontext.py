"""JSON text that can always be written: finding strings UTF-8 cannot encode, and rendering
without failing.

Python's `json` turns the escape `"\\ud800"` into a lone UTF-16 surrogate, a `str` that UTF-8 cannot
encode. Stored, such a value makes every later response that contains it fail to render. So:

* `unencodable_path` finds the first such string (object keys included) and says where it is, so
  the one place bodies are parsed can refuse it and the store can refuse to write it;
* `dumps` renders any JSON value to UTF-8 bytes and never raises on text: an unencodable
  character becomes U+FFFD, so an error renderer built on it cannot fail.
"""

from __future__ import annotations

import json
from typing import Any

REPLACEMENT = "\ufffd"


def encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unencodable_path(value: Any, path: str = "") -> str | None:
    """The JSON path of the first string (or object key) that UTF-8 cannot encode, else None."""
    if isinstance(value, str):
        return None if encodable(value) else (path or "(body)")
    if isinstance(value, dict):
        for key, item in value.items():
            key_text = str(key)
            where = f"{path}.{key_text}" if path else key_text
            if not encodable(key_text):
                return path or "(body)"
            found = unencodable_path(item, where)
            if found is not None:
                return found
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = unencodable_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def scrub(value: Any) -> Any:
    """`value` with every unencodable character replaced by U+FFFD (keys included)."""
    if isinstance(value, str):
        if encodable(value):
            return value
        return "".join(REPLACEMENT if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    if isinstance(value, dict):
        return {scrub(str(k)): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON; unencodable characters become U+FFFD instead of raising."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(
            scrub(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str
        ).encode("utf-8")
