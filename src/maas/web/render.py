"""Studio's Jinja2 environment and the helpers pages answer with.

- `page(studio, template, nav=..., crumbs=[...], **values)`: a page in the layout
  (`templates/base.html`: sidebar, breadcrumbs, the signed-in user, the workspace);
- `bare(request, template, **values)`: a page for someone not signed in (sign-in errors);
- `fragment(studio, template, **values)`: a piece of a page, for htmx to swap in;
- `redirect(url)`: 303 after a form post, 302 otherwise; an htmx request gets `HX-Redirect`.

Templates are autoescaped (every `{{ }}` is HTML-escaped unless marked safe), and the undefined
is strict: a missing value is an error in tests, not an empty string on the page. What every
layout page sees: `studio`, `user`, `nav`, `active`, `crumbs`, `csrf`, `workspace`, `can(action,
scope)`, `static(path)`, and the filters `price` (exact, never rounded: 0.0003 USD is $0.0003)
and `when` (a UTC time).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from maas.web.context import CSRF_FIELD, CSRF_HEADER, Studio
from maas.web.nav import items_for

__all__ = [
    "STATIC_DIR",
    "TEMPLATES_DIR",
    "bare",
    "environment",
    "exact_price",
    "fragment",
    "page",
    "redirect",
]

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
STATIC_URL = "/studio/static"
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

Crumbs = list[tuple[str, str | None]]


def exact_price(value: float | str | Decimal, currency: str = "USD") -> str:
    """A price as it was set, never rounded: 0.0003 USD is "$0.0003", 2 USD "$2.00", and a
    currency without a symbol is written before the amount ("CHF 0.12")."""
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    text = format(amount.normalize(), "f") if amount else "0"
    whole, _, fraction = text.partition(".")
    text = f"{whole}.{fraction.ljust(2, '0')}"
    symbol = SYMBOLS.get(currency.upper())
    return f"{symbol}{text}" if symbol else f"{currency.upper()} {text}"


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment is not None else ""


@cache
def _static_version(path: str) -> str:
    try:
        return hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:12]
    except OSError:
        return "0"


def static_url(path: str) -> str:
    """A static file's URL, with its content's hash so a changed file is never served stale."""
    return f"{STATIC_URL}/{path}?v={_static_version(path)}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["price"] = exact_price
    env.filters["when"] = _when
    env.globals["static"] = static_url
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    env.globals["CSRF_HEADER"] = CSRF_HEADER
    return env


def page(
    studio: Studio,
    template: str,
    *,
    nav: str = "",
    crumbs: Crumbs | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    """A page in Studio's layout, as the signed-in caller sees it."""
    context = {
        "studio": studio,
        "user": studio.user_name,
        "nav": items_for(studio.caller),
        "active": nav,
        "crumbs": crumbs or [],
        "csrf": studio.csrf,
        "workspace": studio.workspace,
        "can": studio.can,
        "signed_in": True,
        "path": studio.request.url.path,
        **values,
    }
    html = environment().get_template(template).render(context)
    return HTMLResponse(html, status_code=status, headers=headers)


def fragment(studio: Studio, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
    """A piece of a page (what an htmx request swaps in): the values a layout page sees, without
    the layout."""
    context = {
        "studio": studio,
        "user": studio.user_name,
        "csrf": studio.csrf,
        "workspace": studio.workspace,
        "can": studio.can,
        "signed_in": True,
        "path": studio.request.url.path,
        **values,
    }
    html = environment().get_template(template).render(context)
    return HTMLResponse(html, status_code=status)


def bare(request: Request, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
    """A page for a browser that is not signed in to Studio (no sidebar, no user)."""
    context = {
        "signed_in": False,
        "crumbs": [],
        "nav": [],
        "active": "",
        "path": request.url.path,
        **values,
    }
    html = environment().get_template(template).render(context)
    return HTMLResponse(html, status_code=status)


def redirect(request: Request, url: str) -> Response:
    """Go to `url`: 303 after a POST (the browser GETs it), 302 for a GET; an htmx request gets
    `HX-Redirect`, which htmx follows with a full page load."""
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303 if request.method == "POST" else 302)
