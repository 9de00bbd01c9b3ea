"""Target URI parsing (path-based and host-based), key extraction, and endpoint states."""

from __future__ import annotations

import pytest

from maas.core.errors import Forbidden, Unavailable
from maas.gateway.app import _credential, split_target
from maas.gateway.directory import Directory
from maas.gateway.http import Exchange
from maas.gateway.keyless import looks_like_jwt
from maas.gateway.readmodel import EndpointView
from maas.serving.engines.base import ModelSpec


@pytest.mark.parametrize(
    ("path", "host", "domain", "expected"),
    [
        ("/endpoints/eastus2/phi/chat/completions", None, None, ("eastus2", "phi", "chat/completions")),
        ("/endpoints/eastus2/phi/v1/models", "x", None, ("eastus2", "phi", "v1/models")),
        ("/endpoints/eastus2/phi", None, None, ("eastus2", "phi", "")),
        ("/endpoints/eastus2/phi/", None, None, ("eastus2", "phi", "")),
        ("/endpoints/eastus2", None, None, None),
        ("/endpoints//phi/info", None, None, None),
        ("/endpoints/", None, None, None),
        ("/subscriptions/x", None, None, None),
        ("/info", "phi.eastus2.models.test", None, None),  # no domain configured
        ("/info", "phi.eastus2.models.test", "models.test", ("eastus2", "phi", "info")),
        (
            "/v1/chat/completions/",
            "phi.eastus2.models.test:8443",
            "models.test",
            ("eastus2", "phi", "v1/chat/completions"),
        ),
        ("/", "Phi.EastUS2.Models.Test", "models.test", ("eastus2", "phi", "")),
        ("/info", "eastus2.models.test", "models.test", None),  # one label: not an endpoint
        ("/info", "a.phi.eastus2.models.test", "models.test", None),  # three labels
        ("/info", "phi.eastus2.models.test.evil", "models.test", None),
        ("/info", "phi.eastus2.xmodels.test", "models.test", None),
        ("/info", "127.0.0.1:8000", "models.test", None),  # the control plane
        # with a domain configured the path-based form still works on any other host
        ("/endpoints/eastus2/phi/info", "127.0.0.1:8000", "models.test", ("eastus2", "phi", "info")),
    ],
)
def test_split_target(
    path: str, host: str | None, domain: str | None, expected: tuple[str, str, str] | None
) -> None:
    assert split_target(path, host, domain) == expected


def _exchange(*headers: tuple[bytes, bytes]) -> Exchange:
    async def receive() -> dict[str, object]:
        raise AssertionError("not used")

    async def send(message: object) -> None:
        raise AssertionError("not used")

    return Exchange({"headers": list(headers), "method": "GET", "path": "/"}, receive, send)


@pytest.mark.parametrize(
    ("headers", "key", "bearer"),
    [
        ([(b"api-key", b"k1")], "k1", False),
        ([(b"api-key", b"  k1 ")], "k1", False),
        ([(b"authorization", b"Bearer k2")], "k2", True),
        ([(b"authorization", b"bearer k2")], "k2", True),
        ([(b"authorization", b"BEARER   k2  ")], "k2", True),
        ([(b"Authorization", b"Bearer k2")], "k2", True),  # header names are case-insensitive
        ([(b"api-key", b"k1"), (b"authorization", b"Bearer k2")], "k1", False),  # api-key first
        ([(b"api-key", b""), (b"authorization", b"Bearer k2")], "k2", True),
        ([(b"authorization", b"Basic k2")], None, False),
        ([(b"authorization", b"Bearerk2")], None, False),
        ([], None, False),
    ],
)
def test_key_from_headers(headers: list[tuple[bytes, bytes]], key: str | None, bearer: bool) -> None:
    """The credential sent, and whether it came as a bearer (a key, or maybe an access token)."""
    found, as_bearer = _credential(_exchange(*headers))
    assert (found or None, as_bearer) == (key, bearer)


@pytest.mark.parametrize(
    ("credential", "is_token"),
    [
        ("eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiJ4In0.c2ln", True),
        ("0123456789abcdef" * 4, False),  # a generated key: 64 hex characters
        ("eyJ" + "A" * 61, False),  # a chosen key may start like a JWT; it never holds a dot
        ("eyJa.b", False),
        ("a.b.c", False),
    ],
)
def test_tokens_are_told_from_keys_by_shape(credential: str, is_token: bool) -> None:
    assert looks_like_jwt(credential) is is_token


def _view(provisioning: str = "Succeeded", state: str = "Online", model: bool = True) -> EndpointView:
    view_model = ModelSpec("v", "m", "chat-completion", "p", {}, None, None, {}) if model else None
    return EndpointView("id", "phi", "eastus2", provisioning, state, "d1", "d2", view_model)


def test_endpoint_states() -> None:
    Directory.check_state(_view())
    with pytest.raises(Forbidden) as unhealthy:
        Directory.check_state(_view(state="Unhealthy"))
    assert unhealthy.value.code == "endpoint_unhealthy"
    assert "subscription" in unhealthy.value.message
    with pytest.raises(Forbidden) as suspended:
        Directory.check_state(_view(state="Suspended"))
    assert suspended.value.code == "endpoint_suspended" and suspended.value.status == 403
    for view in (
        _view(provisioning="Creating", state="Creating"),
        _view(provisioning="Failed"),
        _view(model=False),
    ):
        with pytest.raises(Unavailable) as not_ready:
            Directory.check_state(view)
        assert not_ready.value.code == "endpoint_not_ready"
