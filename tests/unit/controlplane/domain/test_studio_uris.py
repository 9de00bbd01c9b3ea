"""Studio's redirect URIs: the public base URL's, and every loopback name of a loopback base."""

from __future__ import annotations

from maas.controlplane.domain.signin import STUDIO_CALLBACK, STUDIO_HOME, studio_uris


def test_a_public_base_has_one_uri() -> None:
    assert studio_uris("https://maas.contoso.example/", STUDIO_CALLBACK) == {
        "https://maas.contoso.example/studio/auth/callback"
    }


def test_a_loopback_base_has_each_loopback_name_on_its_port() -> None:
    assert studio_uris("http://127.0.0.1:8000", STUDIO_HOME) == {
        "http://127.0.0.1:8000/studio",
        "http://localhost:8000/studio",
        "http://[::1]:8000/studio",
    }
    assert "http://localhost:9000/studio" not in studio_uris("http://127.0.0.1:8000", STUDIO_HOME)
    assert studio_uris("https://localhost:8443", STUDIO_HOME) == {"https://localhost:8443/studio"}
