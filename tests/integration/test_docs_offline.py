"""/docs works with no internet: Swagger UI's script, styles and icon come from the server itself
(vendored swagger-ui-dist, `maas/controlplane/api/static/swagger-ui`), never from a CDN."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from maas.controlplane.api.app import SWAGGER_UI_DIR


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """The docs do not depend on the store: SQLite only."""
    return f"sqlite:///{tmp_path / 'maas.db'}"


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.urls.append((tag, name, value))


EXPECTED_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


def test_docs_page_and_its_assets_are_served_by_the_server(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "://" not in html, "the page names an absolute URL (another host)"

    links = Links()
    links.feed(html)
    assert {(tag, attribute) for tag, attribute, _ in links.urls} == {
        ("link", "href"),
        ("script", "src"),
    }
    assert len(links.urls) == 3  # styles, icon, script
    for _, _, url in links.urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, url  # same origin, not even //host/...
        assert url.startswith("/docs/assets/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        suffix = Path(parts.path).suffix
        assert EXPECTED_TYPES[suffix] in asset.headers["content-type"], (url, asset.headers)
        # the file shipped in the package, whole
        shipped = (SWAGGER_UI_DIR / Path(parts.path).name).read_bytes()
        assert asset.content == shipped
        assert len(asset.content) > (100_000 if suffix in (".js", ".css") else 100), url
    script = client.get(next(url for tag, _, url in links.urls if tag == "script")).text
    assert "SwaggerUIBundle" in script

    # the spec the page loads, and the OAuth2 redirect page it names
    spec_url = re.search(r"url: '([^']+)'", html)
    assert spec_url is not None
    assert urlsplit(spec_url.group(1)).netloc == ""
    spec = client.get(spec_url.group(1))
    assert spec.status_code == 200
    assert spec.json()["info"]["title"] == "MaaS control plane"
    redirect = re.search(r"oauth2RedirectUrl: window\.location\.origin \+ '([^']+)'", html)
    assert redirect is not None
    answer = client.get(redirect.group(1))
    assert answer.status_code == 200
    assert "://" not in answer.text


def test_docs_assets_that_do_not_exist_are_404(client: TestClient) -> None:
    assert client.get("/docs/assets/nothing.js").status_code == 404
    climbing = client.get("/docs/assets/..%2F..%2Fapp.py")  # '..' segments: refused before any route
    assert climbing.status_code == 400 and climbing.json()["error"]["code"] == "InvalidRequestUri"
    assert client.get("/docs/assets/app..py").status_code == 404  # dots inside a name are a name


def test_the_vendored_swagger_ui_says_what_it_is() -> None:
    readme = (SWAGGER_UI_DIR / "README.md").read_text()
    assert "swagger-ui-dist" in readme
    assert re.search(r"swagger-ui-dist` \d+\.\d+\.\d+", readme)
    assert "Apache License" in (SWAGGER_UI_DIR / "LICENSE").read_text()
