"""The server log's query redaction and levels (`maas.server.logs`)."""

from __future__ import annotations

import logging

import pytest

from maas.server import logs


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/health", "/health"),
        ("/subscriptions?api-version=2024-01-01-preview", "/subscriptions?api-version=2024-01-01-preview"),
        ("/x/logout?id_token_hint=eyJ.a.b&state=s", "/x/logout?id_token_hint=[redacted]&state=s"),
        ("/e/chat/completions?api-key=abc123", "/e/chat/completions?api-key=[redacted]"),
        ("/cb?code=xyz&state=1&Client_Secret=s3", "/cb?code=[redacted]&state=1&Client_Secret=[redacted]"),
        (
            "/a?access_token=t&refresh_token=r&password=p",
            "/a?access_token=[redacted]&refresh_token=[redacted]&password=[redacted]",
        ),
        ("/a?flag&sig", "/a?flag&sig"),  # names with no value stay as they are
    ],
)
def test_credential_like_query_values_are_redacted(target: str, expected: str) -> None:
    assert logs.redact_target(target) == expected


def test_the_access_log_filter_rewrites_the_request_line_only() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/e?api-key=k3y", "1.1", 401),
        None,
    )
    assert logs.RedactQuery().filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "GET /e?api-key=[redacted] HTTP/1.1" 401'
    config = logs.uvicorn_log_config()
    assert config["handlers"]["access"]["filters"] == ["redact_query"]


def test_the_level_applies_to_maas_and_uvicorn_loggers_only() -> None:
    saved = {name: logging.getLogger(name).level for name in (*logs.OWN_LOGGERS, "sqlalchemy", "")}
    try:
        logs.configure("debug")
        assert logging.getLogger("maas.api").getEffectiveLevel() == logging.DEBUG
        assert logging.getLogger("uvicorn.access").level == logging.DEBUG
        assert logging.getLogger("sqlalchemy.engine").getEffectiveLevel() >= logging.WARNING
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
