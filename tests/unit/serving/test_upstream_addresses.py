"""The openai-upstream engine applies the address policy at connect time: redirects are never
followed (nor their bodies relayed), a name that resolves to a refused address fails closed before
any connection, and so does a refused literal address.

Nothing here connects outside 127.0.0.0/8: resolvers are injected, refused addresses that a broken
check would connect to are 0.0.0.0 (which Linux connects to the local host, so a broken check
shows as a request the local server records), and metadata addresses are only ever resolved."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from maas.core.errors import MaasError
from maas.protocol.inference.chat import ChatCompletionsRequest
from maas.serving.engines.base import ModelSpec
from maas.serving.engines.openai_upstream import CheckedResolver, OpenAIUpstreamEngine

CHAT = ChatCompletionsRequest.model_validate({"messages": [{"role": "user", "content": "hi"}]})
BODY = {"messages": [{"role": "user", "content": "hi"}]}
ANSWER = {"id": "x", "object": "chat.completion", "model": "up", "choices": []}
SECRET = "the body behind the redirect"


class FakeResolver(AbstractResolver):
    """Answers every name with `addresses`, as a DNS server the upstream's owner controls would."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = list(addresses)
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in self.addresses
        ]

    async def close(self) -> None:
        pass


@asynccontextmanager
async def server(host: str = "127.0.0.1", redirect: str = "") -> AsyncIterator[tuple[int, list[str]]]:
    """A local upstream: answers chat, or a 307 to `redirect`; yields its port and the paths it saw."""
    seen: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(request.path)
        if redirect:
            return web.json_response(
                {"error": {"message": SECRET}}, status=307, headers={"Location": redirect}
            )
        return web.json_response({**ANSWER, "secret": SECRET})

    app = web.Application()
    app.router.add_route("POST", "/v1/{route:.*}", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    try:
        yield site._server.sockets[0].getsockname()[1], seen  # type: ignore[union-attr]
    finally:
        await runner.cleanup()


@asynccontextmanager
async def engine(url: str, resolver: AbstractResolver | None = None) -> AsyncIterator[OpenAIUpstreamEngine]:
    spec = ModelSpec("v1", "ours", "chat-completion", "p", {"kind": "openai-upstream", "url": url})
    running = OpenAIUpstreamEngine(spec, resolver=resolver)
    await running.start()
    try:
        yield running
    finally:
        await running.close()


async def _call(running: OpenAIUpstreamEngine, stream: bool) -> Any:
    if stream:
        return [chunk async for chunk, _ in running.chat_stream(CHAT, BODY)]
    return await running.chat(CHAT, BODY)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("stream", [False, True])
def test_redirects_are_not_followed(status: int, stream: bool) -> None:
    async def run() -> tuple[MaasError, list[str], list[str]]:
        async with server("127.0.0.2") as (target_port, target_seen):
            target = f"http://127.0.0.2:{target_port}/v1/chat/completions"
            async with server(redirect=target) as (port, seen), engine(f"http://127.0.0.1:{port}/v1") as up:
                with pytest.raises(MaasError) as failed:
                    await _call(up, stream)
                return failed.value, seen, target_seen

    error, seen, target_seen = asyncio.run(run())
    assert (error.status, error.code) == (502, "UpstreamError")
    assert "redirect" in error.message and SECRET not in error.message
    assert seen == ["/v1/chat/completions"] and target_seen == []  # the redirect went nowhere


@pytest.mark.parametrize(
    "addresses",
    [
        ("169.254.169.254",),
        ("::ffff:169.254.169.254",),
        ("fd00:ec2::254",),
        ("100.100.100.200",),
        ("fe80::1",),
        ("127.0.0.1", "169.254.169.254"),  # one refused address refuses the name
        ("0.0.0.0",),
    ],
)
def test_the_resolver_refuses_names_that_resolve_to_refused_addresses(addresses: tuple[str, ...]) -> None:
    error = asyncio.run(_resolve(CheckedResolver(FakeResolver(*addresses)), "rebound.example"))
    assert isinstance(error, MaasError)
    assert (error.status, error.code) == (502, "upstream_address_not_allowed")
    assert "not allowed" in error.message
    assert not any(address in error.message for address in addresses)  # the address is logged only


def test_the_resolver_refuses_metadata_names_without_resolving_them() -> None:
    inner = FakeResolver("127.0.0.1")
    error = asyncio.run(_resolve(CheckedResolver(inner), "metadata.google.internal"))
    assert isinstance(error, MaasError) and error.code == "upstream_address_not_allowed"
    assert inner.asked == []


def test_the_resolver_passes_allowed_addresses() -> None:
    inner = FakeResolver("127.0.0.1", "10.0.0.1", "::1")
    result = asyncio.run(_resolve(CheckedResolver(inner), "vllm.internal"))
    assert [r["host"] for r in result] == ["127.0.0.1", "10.0.0.1", "::1"]  # type: ignore[union-attr]


async def _resolve(resolver: CheckedResolver, host: str) -> list[ResolveResult] | MaasError:
    try:
        return await resolver.resolve(host, 80)
    except MaasError as exc:
        return exc


@pytest.mark.parametrize("stream", [False, True])
def test_a_name_rebound_to_a_refused_address_fails_closed(stream: bool) -> None:
    """Registration saw an allowed address; at request time the name resolves to 0.0.0.0."""

    async def run() -> tuple[MaasError, list[str]]:
        async with (
            server() as (port, seen),
            engine(f"http://upstream.example:{port}/v1", FakeResolver("0.0.0.0")) as up,
        ):
            with pytest.raises(MaasError) as failed:
                await _call(up, stream)
            return failed.value, seen

    error, seen = asyncio.run(run())
    assert (error.status, error.code) == (502, "upstream_address_not_allowed")
    assert seen == []


def test_an_allowed_name_is_relayed() -> None:
    async def run() -> Any:
        async with (
            server() as (port, _),
            engine(f"http://upstream.example:{port}/v1", FakeResolver("127.0.0.1")) as up,
        ):
            return await up.chat(CHAT, BODY)

    assert asyncio.run(run())["secret"] == SECRET


def test_the_system_resolver_is_checked_too() -> None:
    async def run() -> Any:
        async with server() as (port, _), engine(f"http://localhost:{port}/v1") as up:
            assert isinstance(up.session.connector._resolver, CheckedResolver)  # type: ignore[union-attr]
            return await up.chat(CHAT, BODY)

    assert asyncio.run(run())["secret"] == SECRET


@pytest.mark.parametrize("host", ["0.0.0.0", "[::ffff:0.0.0.0]", "[::]", "metadata.google.internal"])
def test_refused_literal_hosts_fail_before_connecting(host: str) -> None:
    """aiohttp never asks the resolver about a literal address, so the engine checks the URL."""

    async def run() -> tuple[MaasError, list[str]]:
        async with (
            server() as (port, seen),
            engine(f"http://{host}:{port}/v1", FakeResolver("127.0.0.1")) as up,
        ):
            with pytest.raises(MaasError) as failed:
                await up.chat(CHAT, BODY)
            return failed.value, seen

    error, seen = asyncio.run(run())
    assert (error.status, error.code) == (502, "upstream_address_not_allowed")
    assert seen == []


class Unresolvable(FakeResolver):
    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def test_a_name_that_stops_resolving_is_unreachable() -> None:
    async def run() -> MaasError:
        async with engine("http://gone.example:8000/v1", Unresolvable()) as up:
            with pytest.raises(MaasError) as failed:
                await up.chat(CHAT, BODY)
            return failed.value

    error = asyncio.run(run())
    assert (error.status, error.code) == (503, "upstream_unreachable")
