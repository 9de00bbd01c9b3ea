"""Driving Studio as a browser without JavaScript would: follow its redirects one by one, fill in
the sign-in page, and read what a page offers (forms, links, alerts, the anti-forgery token).

`sign_in(client, user, password)` goes from a Studio URL through `/studio/signin`, the server's
own `/authorize` page and `/studio/auth/callback`, checking each hop, and returns the page it
lands on. Cookies live in the TestClient's jar, as in a browser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
from fastapi.testclient import TestClient

from support.signin_page import read_page

__all__ = ["Hop", "Page", "csrf_of", "follow", "parse", "sign_in", "start_sign_in"]


@dataclass
class Hop:
    status: int
    url: str
    location: str


def _local(url: str) -> str:
    """A redirect's target as the TestClient requests it (absolute http://testserver URLs too)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def follow(client: TestClient, url: str, limit: int = 10) -> tuple[httpx.Response, list[Hop]]:
    """GET `url` and follow redirects one at a time; the last response and the hops taken."""
    hops: list[Hop] = []
    response = client.get(url, follow_redirects=False)
    while response.status_code in (301, 302, 303, 307) and len(hops) < limit:
        location = response.headers["location"]
        hops.append(Hop(response.status_code, url, location))
        url = _local(location)
        response = client.get(url, follow_redirects=False)
    return response, hops


def start_sign_in(client: TestClient, url: str = "/studio") -> tuple[httpx.Response, list[Hop]]:
    """Open a Studio URL signed out: it ends on the sign-in (authorize) page."""
    page, hops = follow(client, url)
    assert page.status_code == 200, page.text
    assert "/oauth2/v2.0/authorize" in hops[-1].location, hops
    return page, hops


def sign_in(client: TestClient, user: str, password: str, url: str = "/studio") -> httpx.Response:
    page, _ = start_sign_in(client, url)
    form = read_page(page.text)
    assert form.method == "post" and "password" in form.fields, page.text
    answer = client.post(
        form.action, data=form.fields | {"username": user, "password": password}, follow_redirects=False
    )
    assert answer.status_code == 302, answer.text
    assert "/studio/auth/callback?" in answer.headers["location"], answer.headers["location"]
    landed, hops = follow(client, _local(answer.headers["location"]))
    assert landed.status_code == 200, (hops, landed.text)
    return landed


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "the page has no anti-forgery field"
    return found.group(1)


@dataclass
class Page:
    """What a page offers a person: links (text → href), forms, alerts, disabled buttons and
    the reasons shown with them, scripts and inline styles (for the CSP rules)."""

    links: dict[str, str] = field(default_factory=dict)
    forms: list[dict[str, str]] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    scripts: list[dict[str, str]] = field(default_factory=list)
    inline_styles: int = 0
    style_tags: int = 0
    text: str = ""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.page = Page()
        self._stack: list[tuple[str, str]] = []  # (what, collected text) of an open element
        self._texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if "style" in found:
            self.page.inline_styles += 1
        if tag == "style":
            self.page.style_tags += 1
        if tag == "script":
            self.page.scripts.append(found)
        if tag == "form":
            self.page.forms.append({"action": found.get("action", ""), "method": found.get("method", "get")})
        what = ""
        if tag == "a" and "href" in found:
            what = "a:" + found["href"]
        elif found.get("role") == "alert":
            what = "alert"
        elif tag == "button" and "disabled" in found:
            what = "disabled"
        elif "reason" in found.get("class", "").split():
            what = "reason"
        self._stack.append((tag, what))
        self._texts.append("")

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            open_tag, what = self._stack.pop()
            text = " ".join(self._texts.pop().split())
            if self._texts:
                self._texts[-1] += " " + text
            if what.startswith("a:"):
                self.page.links.setdefault(text, what[2:])
            elif what == "alert":
                self.page.alerts.append(text)
            elif what == "disabled":
                self.page.disabled.append(text)
            elif what == "reason":
                self.page.reasons.append(text)
            if open_tag == tag:
                break

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._stack.pop()
        self._texts.pop()

    def handle_data(self, data: str) -> None:
        self.page.text += data
        if self._texts:
            self._texts[-1] += data


def parse(html: str) -> Page:
    reader = _Reader()
    # Void elements never close: make them self-closing so the reader's stack stays balanced.
    reader.feed(re.sub(r"<(input|meta|link|br|img|hr)\b([^>]*?)/?>", r"<\1\2/>", html))
    reader.page.text = " ".join(reader.page.text.split())
    return reader.page
