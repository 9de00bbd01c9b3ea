"""The server log's configuration, and what keeps credentials out of it.

`maas serve --log-level` sets MaaS's own loggers (`maas.*`) and uvicorn's; other libraries log
warnings and up (at debug some would print request details). No code here or elsewhere logs a
token, password, secret, code, key or cookie value; the one place a client's request could put
one into the log is the access log's request line (`--access-log`), whose query string is kept
but with the value of every parameter whose name looks like a credential (`code`, `*token*`,
`*key*`, `*secret*`, `*password*`, `sig`, `*hint*`, `assertion`, ...) replaced by `[redacted]`:
a client may send `id_token_hint` to the sign-out URL, or a key in a query string the server
ignores, and the log must not keep it.

`tests/e2e/test_no_secrets_in_logs.py` runs a whole flow against `maas serve --log-level debug
--access-log` and looks for every secret it saw in the log.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

__all__ = ["RedactQuery", "configure", "redact_target", "uvicorn_log_config"]

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"
_SENSITIVE = re.compile(
    r"code|token|key|secret|passw|pwd|sig|hint|assertion|credential|session|cookie|auth", re.IGNORECASE
)
# The loggers --log-level applies to; the rest stay at WARNING so a debug log holds only ours.
OWN_LOGGERS = ("maas", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def redact_target(target: str) -> str:
    """A request target (`/path?query`) with the values of credential-like parameters replaced."""
    path, sep, query = target.partition("?")
    if not sep:
        return target
    pairs = []
    for pair in query.split("&"):
        name, eq, _ = pair.partition("=")
        pairs.append(f"{name}={REDACTED}" if eq and _SENSITIVE.search(name) else pair)
    return f"{path}?{'&'.join(pairs)}"


class RedactQuery(logging.Filter):
    """For uvicorn's access log records: `'%s - "%s %s HTTP/%s" %d'` with (client, method,
    target, version, status); the target's credential-like query values are replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_target(args[2]), *args[3:])
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration, with `RedactQuery` on the access log's handler."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_query"] = {"()": RedactQuery}
    config["handlers"]["access"]["filters"] = ["redact_query"]
    return config


def configure(level: str) -> None:
    """The root handler (warnings and up from any library) and `level` for MaaS's loggers."""
    logging.basicConfig(level=logging.WARNING, format=FORMAT)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level.upper())
