"""The `openai-upstream` engine: relay to any OpenAI-compatible server (vLLM, Ollama, llama.cpp
server, TGI, another MaaS).

The hot path uses one `aiohttp.ClientSession` per model: FACTS.md measured an aiohttp relay at
0.2–0.45 ms of CPU per request against 1.6–2.4 ms for httpx. Bodies are relayed as the client sent
them (after `extra-parameters`), with `model` set to the upstream's model name, so tools and other
fields the upstream honours keep working. Streams ask the upstream for usage
(`stream_options.include_usage`) so that every stream can be metered. Upstream failures map to our
envelope: its verdicts on the request (400, 404, 413, 422) keep their status and message; 429
becomes 503, other failures (its 401/403 on our key, 5xx) 502, timeouts 504, and an unreachable
upstream 503. The catalog's task says which routes the model serves: an embeddings model answers
chat with 404 'modality not supported', and a chat model answers embeddings the same way.

Where the relay may connect is `maas.core.netpolicy`'s rule, applied here at connect time and not
only when the model was registered: the session's resolver refuses a name that resolves to a
refused address (so a name rebound to a metadata address after registration fails closed), a
literal address in the URL (which aiohttp never hands to a resolver) is checked when the engine is
built, redirects are never followed (a 3xx is a 502 whose body is not relayed), and no proxy from
the environment is used. A refused address is a 502 `upstream_address_not_allowed`; the address
itself goes to the log, not to the tenant.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator

import aiohttp
import orjson
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from maas.core.errors import (
    BadGateway,
    BadRequest,
    GatewayTimeout,
    MaasError,
    ModalityNotSupported,
    NotFound,
    PayloadTooLarge,
    Unavailable,
    Unprocessable,
)
from maas.core.netpolicy import parse_address, refused_address, refused_hostname
from maas.protocol.inference.chat import ChatCompletionsRequest, CompletionsRequest
from maas.protocol.inference.embeddings import EmbeddingsRequest
from maas.protocol.inference.info import ModelType
from maas.serving.engines.base import Json, ModelSpec
from maas.serving.engines.usage import StreamChunk

# The upstream's verdicts on the client's request keep their status; its 401/403 (our key for it)
# and other failures are ours, and become 502.
_CLIENT_ERRORS: dict[int, type[MaasError]] = {
    400: BadRequest,
    404: NotFound,
    413: PayloadTooLarge,
    422: Unprocessable,
}
log = logging.getLogger("maas.upstream")


def _address_refused(host: str, address: str, reason: str) -> BadGateway:
    """The tenant learns that the address is refused; the operator's log says which and why."""
    log.warning("Refused to connect to upstream host %s at %s: %s", host, address, reason)
    return BadGateway(
        "The upstream model server's address is not allowed (link-local, cloud metadata, "
        "unspecified, multicast or reserved); the operator must correct the model's upstream URL.",
        code="upstream_address_not_allowed",
    )


class CheckedResolver(AbstractResolver):
    """Resolves with `inner` (the system resolver by default) and refuses the whole name when any
    address it resolves to is refused by `maas.core.netpolicy`: the connector only ever connects
    to addresses that passed here."""

    def __init__(self, inner: AbstractResolver) -> None:
        self.inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        named = refused_hostname(host)
        if named is not None:
            raise _address_refused(host, host, named)
        resolved = await self.inner.resolve(host, port, family)
        for result in resolved:
            reason = refused_address(result["host"])
            if reason is not None:
                raise _address_refused(host, result["host"], reason)
        return resolved

    async def close(self) -> None:
        await self.inner.close()


def _literal_refusal(base: str) -> tuple[str, str] | None:
    """(host, why) for a URL whose host is itself a refused name or address; aiohttp connects to a
    literal address without asking the resolver, so it is checked here, once."""
    try:
        host = URL(base).raw_host or ""
    except ValueError:
        return None  # aiohttp refuses the URL itself, as an unreachable upstream
    reason = refused_hostname(host)
    if reason is None and parse_address(host) is not None:
        reason = refused_address(host)
    return None if reason is None else (host, reason)


class OpenAIUpstreamEngine:
    def __init__(self, spec: ModelSpec, resolver: AbstractResolver | None = None) -> None:
        """`resolver` replaces the system resolver under the address check (tests inject one)."""
        self.spec = spec
        self.base = str(spec.artifact["url"]).rstrip("/")
        self.refusal = _literal_refusal(self.base)
        self.resolver = resolver
        self.upstream_model = spec.artifact.get("upstreamModel")
        self.timeout = float(spec.options.get("timeout", 600))
        self.session: aiohttp.ClientSession | None = None
        self.headers = {"Content-Type": "application/json"}
        if spec.api_key:
            self.headers["Authorization"] = f"Bearer {spec.api_key}"

    async def start(self) -> None:
        resolver = CheckedResolver(self.resolver or aiohttp.ThreadedResolver())
        connector = aiohttp.TCPConnector(
            limit=1024, ttl_dns_cache=300, keepalive_timeout=30, resolver=resolver
        )
        timeout = aiohttp.ClientTimeout(total=None, connect=10, sock_read=self.timeout)
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            json_serialize=lambda o: orjson.dumps(o).decode(),
            trust_env=False,  # no proxy from the environment: the relay connects where the policy says
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    def _body(self, body: Json, stream: bool | None) -> bytes:
        """The body to relay; `stream` is None for routes that do not stream (embeddings), where a
        strict upstream would reject a `stream` field."""
        out = dict(body)
        if self.upstream_model:
            out["model"] = self.upstream_model
        if stream is not None:
            out["stream"] = stream
        if stream:
            options = dict(out.get("stream_options") or {})
            options["include_usage"] = True
            out["stream_options"] = options
        else:
            out.pop("stream_options", None)
        return orjson.dumps(out)

    async def _fail(self, response: aiohttp.ClientResponse) -> MaasError:
        raw = await response.read()
        message = raw[:500].decode(errors="replace")
        try:
            error = orjson.loads(raw).get("error", {})
            message = error.get("message", message) if isinstance(error, dict) else str(error)
        except (orjson.JSONDecodeError, AttributeError):
            pass
        status = response.status
        if status in _CLIENT_ERRORS:
            return _CLIENT_ERRORS[status](f"Upstream model server: {message}", code="upstream_rejected")
        if status == 429:
            return Unavailable(f"The upstream model server is at capacity: {message}", code="upstream_busy")
        return BadGateway(f"The upstream model server failed with HTTP {status}: {message}")

    async def _post(self, route: str, payload: bytes) -> aiohttp.ClientResponse:
        if self.session is None:
            raise Unavailable("The upstream engine is not started.", code="engine_not_ready")
        if self.refusal is not None:
            raise _address_refused(self.refusal[0], self.refusal[0], self.refusal[1])
        try:
            response = await self.session.post(
                f"{self.base}/{route}", data=payload, headers=self.headers, allow_redirects=False
            )
        except TimeoutError as exc:
            raise GatewayTimeout("The upstream model server did not answer in time.") from exc
        except aiohttp.ClientError as exc:
            raise Unavailable(
                f"The upstream model server cannot be reached: {exc}", code="upstream_unreachable"
            ) from exc
        if 300 <= response.status < 400:
            # never followed: a redirect could point anywhere, the policy's checks included; its
            # body and Location are not relayed either
            response.release()
            raise BadGateway(
                f"The upstream model server answered with a redirect (HTTP {response.status}), "
                "which is not followed; the operator must correct the model's upstream URL."
            )
        if response.status >= 400:
            error = await self._fail(response)
            response.release()
            raise error
        return response

    async def _once(self, route: str, body: Json, stream: bool | None = False) -> Json:
        response = await self._post(route, self._body(body, stream))
        try:
            result: Json = orjson.loads(await response.read())
        except TimeoutError as exc:
            raise GatewayTimeout("The upstream model server did not finish in time.") from exc
        except (orjson.JSONDecodeError, aiohttp.ClientError) as exc:
            raise BadGateway(f"The upstream model server sent an unreadable answer: {exc}") from exc
        finally:
            response.release()
        if isinstance(result, dict) and "model" in result:
            result["model"] = self.spec.name
        return result

    async def _stream(self, route: str, body: Json) -> AsyncIterator[StreamChunk]:
        response = await self._post(route, self._body(body, stream=True))
        try:
            async for line in response.content:
                if not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == b"[DONE]":
                    return
                try:
                    chunk = orjson.loads(data)
                except orjson.JSONDecodeError as exc:
                    raise BadGateway(f"The upstream model server sent an unreadable event: {exc}") from exc
                if isinstance(chunk, dict) and "error" in chunk:
                    raise BadGateway(f"The upstream model server failed mid-stream: {chunk['error']}")
                if isinstance(chunk, dict) and "model" in chunk:
                    chunk["model"] = self.spec.name
                yield chunk, None  # the upstream counts only in its last chunk's `usage`
        except TimeoutError as exc:
            raise GatewayTimeout("The upstream model server stopped sending.") from exc
        except aiohttp.ClientError as exc:
            raise BadGateway(f"The upstream stream broke: {exc}") from exc
        finally:
            response.close()  # closing (not releasing) tells the upstream to stop generating

    def _serves(self, embeddings: bool, what: str) -> None:
        """The catalog's task says what the upstream model is for; other routes are 404 modality."""
        if (self.spec.model_type is ModelType.EMBEDDINGS) != embeddings:
            raise ModalityNotSupported(
                f"The model '{self.spec.name}' does not support {what}; its type is '{self.spec.model_type}'."
            )

    async def chat(self, request: ChatCompletionsRequest, body: Json) -> Json:
        self._serves(False, "chat completions")
        return await self._once("chat/completions", body)

    def chat_stream(self, request: ChatCompletionsRequest, body: Json) -> AsyncIterator[StreamChunk]:
        self._serves(False, "chat completions")
        return self._stream("chat/completions", body)

    async def completion(self, request: CompletionsRequest, body: Json) -> Json:
        self._serves(False, "text completions")
        return await self._once("completions", body)

    def completion_stream(self, request: CompletionsRequest, body: Json) -> AsyncIterator[StreamChunk]:
        self._serves(False, "text completions")
        return self._stream("completions", body)

    async def embed(self, request: EmbeddingsRequest, body: Json) -> Json:
        self._serves(True, "embeddings")
        return await self._once("embeddings", body, stream=None)
