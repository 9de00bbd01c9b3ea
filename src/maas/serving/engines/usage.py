"""Token usage as engines report it to the gateway's metering: the public names metering needs.

A streamed answer is a series of `(chunk, usage)` pairs (`StreamChunk`): the OpenAI chunk the
client gets, and the tokens used up to and including it where the engine counts them (None where
it does not, as for a relayed upstream). Metering bills a stream cut short — by the client or by a
failure — for what the engine says it generated until then; the usage never travels inside a chunk,
so nothing has to be stripped before a chunk is relayed. The last chunk also carries OpenAI's own
`usage` field, which is what a stream that ends normally is billed for.
"""

from __future__ import annotations

from typing import Any, NamedTuple

# The completion tokens an engine generates for a request that sets no max_tokens (metering
# reserves quota for as many).
DEFAULT_MAX_TOKENS = 256


class Usage(NamedTuple):
    """Tokens used so far: the prompt's, and the completion's generated until now."""

    prompt_tokens: int
    completion_tokens: int


StreamChunk = tuple[dict[str, Any], Usage | None]
