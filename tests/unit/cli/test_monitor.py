"""The options of `maas monitor activity-log list` become az's window and $filter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import typer

from maas.cli.monitor import event_filter, offset, window

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("6h", timedelta(hours=6)),
        ("1d", timedelta(days=1)),
        ("2d12h", timedelta(days=2, hours=12)),
        ("30m", timedelta(minutes=30)),
    ],
)
def test_offsets(text: str, span: timedelta) -> None:
    assert offset(text) == span


@pytest.mark.parametrize("text", ["", "h", "6", "1w", "-1h"])
def test_bad_offsets(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        offset(text)


def test_window_follows_az() -> None:
    assert window(None, None, "6h", NOW) == (NOW - timedelta(hours=6), NOW)
    assert window("2026-12-01T00:00:00Z", None, "1d", NOW) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2026, 12, 2, tzinfo=UTC),
    )
    assert window(None, "2026-12-02", "1d", NOW) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2026, 12, 2, tzinfo=UTC),
    )
    low, high = window("2026-12-01T00:00:00+01:00", "2026-12-03T00:00:00Z", "1h", NOW)
    assert (high - low) == timedelta(days=2, hours=1)


def test_filter_quotes_values() -> None:
    text = event_filter(
        NOW - timedelta(hours=1), NOW, {"resourceGroupName": "rg", "caller": "o'brien", "resourceUri": None}
    )
    assert text == (
        "eventTimestamp ge '2026-12-07T11:00:00.000000Z' and eventTimestamp le '2026-12-07T12:00:00.000000Z' "
        "and resourceGroupName eq 'rg' and caller eq 'o''brien'"
    )
