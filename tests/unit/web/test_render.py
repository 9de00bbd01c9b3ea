"""Studio's rendering helpers: exact prices, the RBAC-guarded control, the safe `next`."""

from __future__ import annotations

from decimal import Decimal

import pytest

from maas.web.render import environment, exact_price
from maas.web.routes.auth import safe_next


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        (0.0003, "USD", "$0.0003"),
        (0.00003, "USD", "$0.00003"),
        (3e-07, "USD", "$0.0000003"),
        (0.0006, "usd", "$0.0006"),
        (2, "USD", "$2.00"),
        (2.5, "USD", "$2.50"),
        (0, "USD", "$0.00"),
        (1234.5678, "EUR", "€1234.5678"),
        (0.12, "CHF", "CHF 0.12"),
        (Decimal("0.000100"), "USD", "$0.0001"),
        ("0.0015", "GBP", "£0.0015"),
    ],
)
def test_prices_are_shown_exactly_as_set(value: float | str | Decimal, currency: str, shown: str) -> None:
    assert exact_price(value, currency) == shown


def _guarded(allowed: bool, **extra: str) -> str:
    template = environment().from_string(
        '{% import "macros.html" as ui with context %}'
        '{{ ui.guarded("Delete", "Microsoft.X/things/delete", "/s/1", "the workspace ws1", "delete",'
        " **extra) }}"
    )
    return template.render(can=lambda action, scope: allowed, csrf="t", extra=extra)


def test_a_guarded_control_is_disabled_with_the_missing_action() -> None:
    html = _guarded(False)
    assert "disabled" in html and 'aria-describedby="delete-why"' in html
    assert "You need Microsoft.X/things/delete on the workspace ws1." in html
    allowed = _guarded(True, href="/studio/things/1")
    assert "disabled" not in allowed and 'href="/studio/things/1"' in allowed
    assert '<button type="submit"' in _guarded(True)
    assert "Not yet." in _guarded(True, reason="Not yet.")  # another reason turns it off too


def test_templates_escape_what_they_show() -> None:
    html = environment().from_string("{{ value }}").render(value="<script>x</script>")
    assert html == "&lt;script&gt;x&lt;/script&gt;"


@pytest.mark.parametrize(
    ("asked", "goes"),
    [
        ("/studio/catalog?q=a", "/studio/catalog?q=a"),
        ("/studio", "/studio"),
        (None, "/studio"),
        ("https://evil.example/studio", "/studio"),
        ("//evil.example", "/studio"),
        ("/studio//evil.example", "/studio"),
        ("/studio\\evil", "/studio"),
        ("/studiox", "/studio"),
        ("/docs", "/studio"),
        ("/studio/signin?next=/studio", "/studio"),
        ("/studio/auth/callback", "/studio"),
        ("/studio/a\r\nSet-Cookie: x", "/studio"),
        ("/studio/" + "a" * 2000, "/studio"),
    ],
)
def test_next_is_only_ever_a_studio_path(asked: str | None, goes: str) -> None:
    assert safe_next(asked) == goes
