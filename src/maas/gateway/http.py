"""Raw ASGI request and response plumbing for the data plane's hot path.

The gateway is a bare ASGI app rather than a framework app: per request it reads one body, looks
up one endpoint and writes one response, and every microsecond here is overhead on every token
bill. `Exchange` carries what one request needs; errors are rendered by `errors.py`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import orjson
from starlette.types import Receive, Scope, Send

from maas.core import jsontext
from maas.core.errors import PayloadTooLarge

JSON = b"application/json"


@dataclass
class Exchange:
    scope: Scope
    receive: Receive
    send: Send
    started: float = field(default_factory=time.perf_counter)
    engine_seconds: float = 0.0
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    headers: dict[bytes, bytes] = field(default_factory=dict)
    # the deployment's x-ratelimit-* headers, once its quota was consulted (see metering.py)
    rate_headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.headers = {k.lower(): v for k, v in self.scope["headers"]}

    def header(self, name: bytes) -> str | None:
        value = self.headers.get(name)
        return value.decode("latin-1") if value is not None else None

    @property
    def method(self) -> str:
        return str(self.scope["method"])

    async def body(self, limit: int) -> bytes:
        declared = self.headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.", code="request_too_large")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(
                    f"The request body is larger than {limit} bytes.", code="request_too_large"
                )
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def overhead_ms(self) -> str:
        return f"{(time.perf_counter() - self.started - self.engine_seconds) * 1000:.3f}"

    def response_headers(
        self, content_type: bytes = JSON, extra: list[tuple[bytes, bytes]] | None = None
    ) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"content-type", content_type),
            (b"x-request-id", self.request_id.encode()),
            (b"x-maas-overhead-ms", self.overhead_ms().encode()),
        ]
        client_id = self.headers.get(b"x-ms-client-request-id")
        if client_id is not None:
            headers.append((b"x-ms-client-request-id", client_id))
        if self.rate_headers:
            headers.extend(self.rate_headers)
        if extra:
            headers.extend(extra)
        return headers

    async def json(self, status: int, body: object, extra: list[tuple[bytes, bytes]] | None = None) -> None:
        try:
            payload = orjson.dumps(body)
        except orjson.JSONEncodeError:  # text UTF-8 cannot encode: rendering must not fail
            payload = jsontext.dumps(body)
        headers = self.response_headers(JSON, extra)
        headers.append((b"content-length", str(len(payload)).encode()))
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": payload})
