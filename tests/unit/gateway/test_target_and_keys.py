"""Target URI parsing (path-based and host-based), key extraction, and endpoint states."""

from __future__ import annotations

import pytest

from maas.core.errors import Forbidden, Unavailable
from maas.gateway.app import _key, split_target
from maas.gateway.directory import Directory
from maas.gateway.http import Exchange
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
    ("headers", "key"),
    [
        ([(b"api-key", b"k1")], "k1"),
        ([(b"api-key", b"  k1 ")], "k1"),
        ([(b"authorization", b"Bearer k2")], "k2"),
        ([(b"authorization", b"bearer k2")], "k2"),
        ([(b"authorization", b"BEARER   k2  ")], "k2"),
        ([(b"Authorization", b"Bearer k2")], "k2"),  # header names are case-insensitive
        ([(b"api-key", b"k1"), (b"authorization", b"Bearer k2")], "k1"),  # api-key first
        ([(b"api-key", b""), (b"authorization", b"Bearer k2")], "k2"),
        ([(b"authorization", b"Basic k2")], None),
        ([(b"authorization", b"Bearerk2")], None),
        ([], None),
    ],
)
def test_key_from_headers(headers: list[tuple[bytes, bytes]], key: str | None) -> None:
    assert (_key(_exchange(*headers)) or None) == key


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
