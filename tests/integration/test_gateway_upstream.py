"""The openai-upstream engine behind a Target URI: what reaches the upstream under each
extra-parameters mode, fields relayed untouched (tools), the upstream's own key, upstream
failures mapped to our envelope, upstream embeddings, and the upstream address policy (redirects
never followed, metadata and unresolvable upstreams refused at registration, a name rebound to a
refused address refused at connect time).

Names are resolved by the `dns` fixture, never by a DNS server, and nothing connects outside
127.0.0.0/8: the rebound address is 0.0.0.0, which a broken check would connect to locally."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from maas.core.netpolicy import parse_address
from maas.server.app import create_server_app
from maas.server.bootstrap import prepare
from support.api import Api
from support.fake_upstream import REDIRECT_BODY, FakeUpstream, fake_upstream
from support.gateway import (
    ADMIN_TOKEN,
    UPSTREAM_EMBED_MODEL,
    UPSTREAM_MODEL,
    Deployed,
    deploy,
    free_port,
    put_model,
    settings_for,
    upstream_artifact,
)

UNREACHABLE_MODEL = "azureml://registries/local/models/unreachable"
KEYED_MODEL = "azureml://registries/local/models/keyed-upstream"
REBOUND_MODEL = "azureml://registries/local/models/rebound-upstream"
CATALOG_VERSION = "/registries/local/models/address-policy/versions/1"
MESSAGES = [{"role": "user", "content": "hi"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream() as running:
        yield running


@pytest.fixture
def endpoints(api: Api, upstream: FakeUpstream) -> dict[str, Deployed]:
    world = api.world()
    put_model(api, UPSTREAM_MODEL, upstream_artifact(upstream.url))
    put_model(api, UPSTREAM_EMBED_MODEL, upstream_artifact(upstream.url), task="embeddings")
    put_model(api, KEYED_MODEL, upstream_artifact(upstream.url, apiKey="sk-upstream-secret"))
    put_model(api, UNREACHABLE_MODEL, upstream_artifact(f"http://127.0.0.1:{free_port()}/v1"))
    return {
        "chat": deploy(api, world, "chat", UPSTREAM_MODEL),
        "embed": deploy(api, world, "embed", UPSTREAM_EMBED_MODEL),
        "keyed": deploy(api, world, "keyed", KEYED_MODEL),
        "down": deploy(api, world, "down", UNREACHABLE_MODEL),
    }


def _post(
    api: Api, endpoint: Deployed, body: Any, route: str = "/chat/completions", **headers: str
) -> httpx.Response:
    return api.client.post(endpoint.route + route, json=body, headers=endpoint.headers(**headers))


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["x-ms-error-code"] == code
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["status"] == status
    return error


def test_the_relayed_body(api: Api, endpoints: dict[str, Deployed], upstream: FakeUpstream) -> None:
    body = {
        "messages": MESSAGES,
        "model": "whatever-the-client-says",
        "temperature": 0.2,
        "max_tokens": 5,
        "seed": 3,
    }
    response = _post(api, endpoints["chat"], body)
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "fake-upstream-chat"  # our name, not the upstream's
    sent = upstream.requests[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"] == {
        "messages": MESSAGES,
        "model": "up-model",
        "temperature": 0.2,
        "max_tokens": 5,
        "seed": 3,
        "stream": False,
    }


def test_extra_parameters_modes(api: Api, endpoints: dict[str, Deployed], upstream: FakeUpstream) -> None:
    chat = endpoints["chat"]
    body = {"messages": MESSAGES, "safe_prompt": True, "top_k": 5}
    before = len(upstream.requests)
    for headers in ({}, {"extra-parameters": "error"}, {"extra-parameters": "ERROR"}):
        error = _error(_post(api, chat, body, **headers), 422, "extra_parameters_not_allowed")
        assert error["param"] in ("safe_prompt", "top_k")
        assert "safe_prompt" in error["message"] and "top_k" in error["message"]
    assert len(upstream.requests) == before  # refused before the upstream saw anything

    for mode in ("pass-through", "allow", " Pass-Through "):
        assert _post(api, chat, body, **{"extra-parameters": mode}).status_code == 200, mode
        sent = upstream.requests[-1]["body"]
        assert sent["safe_prompt"] is True and sent["top_k"] == 5
    for mode in ("drop", "ignore"):
        assert _post(api, chat, body, **{"extra-parameters": mode}).status_code == 200, mode
        sent = upstream.requests[-1]["body"]
        assert "safe_prompt" not in sent and "top_k" not in sent
        assert sent["messages"] == MESSAGES
    # extras inside a message are the message's own business, not top-level extra parameters
    nested = {"messages": [{"role": "user", "content": "hi", "cache_control": {"type": "ephemeral"}}]}
    assert _post(api, chat, nested).status_code == 200
    bad = _error(_post(api, chat, body, **{"extra-parameters": "sometimes"}), 400, "invalid_header")
    assert bad["param"] == "extra-parameters"


def test_streams_are_relayed_with_extras(
    api: Api, endpoints: dict[str, Deployed], upstream: FakeUpstream
) -> None:
    body = {"messages": MESSAGES, "stream": True, "top_k": 5, "stream_options": {"include_usage": False}}
    response = _post(api, endpoints["chat"], body, **{"extra-parameters": "pass-through"})
    assert response.status_code == 200
    assert response.text.endswith("data: [DONE]\n\n")
    sent = upstream.requests[-1]["body"]
    assert sent["top_k"] == 5 and sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}  # every stream is metered


def test_tools_and_response_format_reach_the_upstream(
    api: Api, endpoints: dict[str, Deployed], upstream: FakeUpstream
) -> None:
    body = {
        "messages": MESSAGES,
        "tools": TOOLS,
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "response_format": {"type": "json_object"},
        "n": 2,
        "logprobs": True,
        "top_logprobs": 2,
    }
    response = _post(api, endpoints["chat"], body)
    assert response.status_code == 200, response.text
    sent = upstream.requests[-1]["body"]
    for field in (
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "n",
        "logprobs",
        "top_logprobs",
    ):
        assert sent[field] == body[field], field


def test_the_upstream_key_is_sent_and_the_endpoint_key_is_not(
    api: Api, endpoints: dict[str, Deployed], upstream: FakeUpstream
) -> None:
    keyed, chat = endpoints["keyed"], endpoints["chat"]
    assert _post(api, keyed, {"messages": MESSAGES}).status_code == 200
    headers = {k.lower(): v for k, v in upstream.requests[-1]["headers"].items()}
    assert headers["authorization"] == "Bearer sk-upstream-secret"
    assert "api-key" not in headers
    assert keyed.key not in str(upstream.requests[-1])
    response = api.client.post(
        chat.route + "/chat/completions",
        json={"messages": MESSAGES},
        headers={"Authorization": f"Bearer {chat.key}"},
    )
    assert response.status_code == 200
    headers = {k.lower(): v for k, v in upstream.requests[-1]["headers"].items()}
    assert "authorization" not in headers and "api-key" not in headers
    # the upstream key never shows in the catalog
    model = api.ok(api.get(KEYED_MODEL.removeprefix("azureml:/") + "/versions/1"), 200)
    assert "sk-upstream-secret" not in str(model)


def test_upstream_failures_in_our_envelope(api: Api, endpoints: dict[str, Deployed]) -> None:
    chat = endpoints["chat"]
    failed = _error(
        _post(api, chat, {"messages": [{"role": "user", "content": "FAIL500"}]}), 502, "UpstreamError"
    )
    assert "500" in failed["message"] and "upstream exploded" in failed["message"]
    rejected = _error(
        _post(api, chat, {"messages": [{"role": "user", "content": "FAIL400"}]}), 400, "upstream_rejected"
    )
    assert "bad upstream request" in rejected["message"]
    for body in ({"messages": MESSAGES}, {"messages": MESSAGES, "stream": True}):
        down = _post(api, endpoints["down"], body)
        _error(down, 503, "upstream_unreachable")
        assert down.headers["retry-after"]
    down = _post(api, endpoints["down"], {"prompt": "hi"}, "/completions")
    _error(down, 503, "upstream_unreachable")
    # and the endpoint that works still works
    assert _post(api, chat, {"messages": MESSAGES}).status_code == 200


def test_upstream_embeddings(api: Api, endpoints: dict[str, Deployed], upstream: FakeUpstream) -> None:
    body = {"input": ["a", "b"], "dimensions": 3, "encoding_format": "float", "input_type": "query"}
    response = _post(api, endpoints["embed"], body, "/v1/embeddings")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model"] == "fake-upstream-embed"
    assert [d["index"] for d in answer["data"]] == [0, 1]
    sent = upstream.requests[-1]
    assert sent["path"] == "/v1/embeddings"
    assert sent["body"] == {**body, "model": "up-model"}  # no `stream`: embeddings do not stream


# -- the upstream address policy -------------------------------------------------------------
@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """name → address for the names the tests use; any other name does not resolve, so no test
    asks a DNS server. Literal addresses and localhost still go to the system resolver."""
    names: dict[str, str] = {}
    system = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in names:
            address = names[name]
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, int(port or 0), 0, 0) if ":" in address else (address, int(port or 0))
            return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]
        if parse_address(name) is not None or name == "localhost":
            return system(host, port, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


def _arm_error(response: httpx.Response, code: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    assert error["target"] == "properties.artifact.url"
    return error


def _register(api: Api, url: str) -> httpx.Response:
    return api.put(CATALOG_VERSION, {"properties": {"artifact": upstream_artifact(url)}})


@pytest.mark.parametrize("stream", [False, True])
def test_redirects_are_not_followed(
    api: Api, endpoints: dict[str, Deployed], upstream: FakeUpstream, stream: bool
) -> None:
    """A 307 from the upstream to another local server: the tenant gets a 502, not that server's
    answer, and the redirect's own body is not relayed either."""
    with fake_upstream("127.0.0.2") as elsewhere:
        upstream.redirect = elsewhere.url + "/chat/completions"
        body = {"messages": [{"role": "user", "content": "REDIRECT"}], "stream": stream}
        response = _post(api, endpoints["chat"], body)
        error = _error(response, 502, "UpstreamError")
        assert "redirect" in error["message"]
        assert REDIRECT_BODY not in response.text and "Hello" not in response.text
        assert elsewhere.requests == []
    assert upstream.requests[-1]["body"]["messages"][0]["content"] == "REDIRECT"


@pytest.mark.parametrize(
    "url",
    [
        "http://metadata.google.internal/computeMetadata/v1",
        "http://169.254.169.254.nip.io/v1",
        "http://[fd00:ec2::254]/v1",
        "http://100.100.100.200/v1",
        "http://[::ffff:169.254.169.254]/v1",
        "http://[64:ff9b::a9fe:a9fe]/v1",
        "http://[fe80::1%25eth0]:8000/v1",
        "http://0.0.0.0:8000/v1",
    ],
)
def test_metadata_upstreams_are_refused(api: Api, dns: dict[str, str], url: str) -> None:
    dns["169.254.169.254.nip.io"] = "169.254.169.254"
    dns["metadata.google.internal"] = "169.254.169.254"
    error = _arm_error(_register(api, url), "UpstreamAddressNotAllowed")
    assert "link-local or metadata address" in error["message"]
    assert api.get(CATALOG_VERSION).status_code == 404


def test_a_name_that_does_not_resolve_is_refused(api: Api, dns: dict[str, str]) -> None:
    for url in ("http://169.254.169.254.nip.io/v1", "http://vllm.does-not-resolve.test:8000/v1"):
        error = _arm_error(_register(api, url), "UpstreamHostNotResolved")
        assert "does not resolve" in error["message"] and "MAAS_ALLOW_PRIVATE_UPSTREAMS" in error["message"]
    # metadata.google.internal is refused by name, resolved or not
    _arm_error(_register(api, "http://metadata.google.internal/v1"), "UpstreamAddressNotAllowed")
    assert api.get(CATALOG_VERSION).status_code == 404


def test_private_upstreams_allow_unresolved_names_but_never_metadata(
    tmp_path: Path, dns: dict[str, str]
) -> None:
    settings = settings_for(tmp_path, allow_private_upstreams=True)
    prepare(settings)
    with TestClient(create_server_app(settings), raise_server_exceptions=False) as client:
        api = Api(client, ADMIN_TOKEN)
        api.ok(_register(api, "http://vllm.only-resolves-in-the-cluster.test:8000/v1"))
        dns["169.254.169.254.nip.io"] = "169.254.169.254"
        for url in (
            "http://169.254.169.254/v1",
            "http://169.254.169.254.nip.io/v1",
            "http://metadata.google.internal/v1",
            "http://[fd00:ec2::254]/v1",
        ):
            _arm_error(_register(api, url), "UpstreamAddressNotAllowed")


@pytest.mark.parametrize("stream", [False, True])
def test_a_name_rebound_after_registration_fails_closed(
    api: Api, upstream: FakeUpstream, dns: dict[str, str], stream: bool
) -> None:
    """DNS rebinding: the name resolved to loopback when it was registered, and to a refused
    address when the gateway connects; the gateway refuses to connect."""
    port = upstream.url.rsplit(":", 1)[1].split("/", 1)[0]
    dns["rebound.test"] = "127.0.0.1"
    put_model(api, REBOUND_MODEL, upstream_artifact(f"http://rebound.test:{port}/v1"))
    rebound = deploy(api, api.world(), "rebound", REBOUND_MODEL)
    dns["rebound.test"] = "0.0.0.0"
    response = _post(api, rebound, {"messages": MESSAGES, "stream": stream})
    error = _error(response, 502, "upstream_address_not_allowed")
    assert "0.0.0.0" not in error["message"]  # the operator's log has the address, not the tenant
    assert upstream.requests == []
