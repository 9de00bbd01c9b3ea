"""The SDK's errors as the CLI reports them: one line on stderr and an exit code.

    HttpResponseError    the server refused   ERROR: (Code) message [target: t]; (Inner) detail …   1
    ServiceRequestError  no answer            ERROR: cannot reach MaaS at URL: why                  1
    other MaasClientError (a bad file, a bad  ERROR: what was wrong, naming the file and field      2
    argument), found before any request

An answer that was not an ARM error envelope (a proxy's 502 page, say) prints as
`(HTTP 502) its text`. `@connected` commands get this mapping around their whole body.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from maas.cli.output import fail
from maas.sdk import HttpResponseError, MaasClientError, ServiceRequestError


def _where(target: str | None) -> str:
    return f" [target: {target}]" if target else ""


def error_line(error: HttpResponseError) -> str:
    """`(Code) message`, with the error's target and its details' codes, messages and targets."""
    if error.code == f"Http{error.status_code}":  # the SDK's name for an answer without envelope
        return f"(HTTP {error.status_code}) {error.message}".rstrip()
    line = f"({error.code}) {error.message}{_where(error.target)}"
    for detail in error.details:
        line += f"; ({detail.code}) {detail.message}{_where(detail.target)}"
    return line


@contextmanager
def sdk_errors(about: str | None = None) -> Iterator[None]:
    """SDK errors raised inside become the CLI's error line (prefixed with `about`, e.g. the
    file the request came from, when the server refused) and exit code."""
    try:
        yield
    except HttpResponseError as exc:
        fail(f"{about}: {error_line(exc)}" if about else error_line(exc))
    except ServiceRequestError as exc:
        fail(str(exc))
    except MaasClientError as exc:
        fail(str(exc), 2)
