"""`LROPoller`: a long-running operation, read the way azure-core's `LROPoller` is read.

    poller = client.serverless_endpoints.begin_create_or_update(endpoint)
    poller.done()      # polls once if not finished; True when Succeeded, Failed or Canceled
    poller.status()    # "InProgress" | "Succeeded" | "Failed" | "Canceled" (polls once likewise)
    poller.wait(60)    # polls until finished or 60 s passed; returns None, never raises on timeout
    poller.result()    # waits, then the value; HttpResponseError if the operation failed

Unlike azure-core there is no background thread: polling happens in the calling thread, only
inside these methods. An operation the server finished in its first answer (a PUT that
returned 200/201 without `Azure-AsyncOperation`, a DELETE 204) is a poller that is already
done. The status URL is read from `Azure-AsyncOperation`; each poll honours `Retry-After`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from maas.sdk.errors import ErrorDetail, HttpResponseError, MaasClientError

__all__ = ["LROPoller"]

T = TypeVar("T")
TERMINAL = frozenset({"Succeeded", "Failed", "Canceled"})
#: One poll: the operation's status body (`{"status", "error"}`) and the seconds to wait next.
PollStep = Callable[[], tuple[dict[str, Any], float]]


class LROPoller(Generic[T]):
    """A long-running operation; `resolve` makes the final value once it has Succeeded."""

    def __init__(
        self,
        resolve: Callable[[], T],
        *,
        poll: PollStep | None = None,
        interval: float = 1.0,
        max_interval: float | None = None,
    ) -> None:
        self._resolve = resolve
        self._poll = poll
        self._status = "InProgress" if poll is not None else "Succeeded"
        self._error: HttpResponseError | None = None
        self._max_interval = max_interval
        self._interval = self._bounded(interval)
        self._value: T | None = None
        self._resolved = False

    @classmethod
    def finished(cls, value: T) -> LROPoller[T]:
        """An operation the server completed in its first answer."""
        return cls(lambda: value)

    def _bounded(self, seconds: float) -> float:
        seconds = max(0.0, seconds)
        return seconds if self._max_interval is None else min(seconds, self._max_interval)

    def _refresh(self) -> None:
        if self._status in TERMINAL or self._poll is None:
            return
        body, retry_after = self._poll()
        status = str(body.get("status") or "InProgress")
        self._status = status if status in TERMINAL else "InProgress"
        self._interval = self._bounded(retry_after)
        if self._status in ("Failed", "Canceled"):
            error = ErrorDetail._from_wire(
                body.get("error") or {},
                code=f"Operation{self._status}",
                message=f"The operation ended {self._status}.",
            )
            self._error = HttpResponseError.from_error(error, status_code=200)

    def status(self) -> str:
        """The operation's status, after one poll when it was still in progress."""
        self._refresh()
        return self._status

    def done(self) -> bool:
        """Whether the operation has finished (in any way), after one poll when it had not."""
        self._refresh()
        return self._status in TERMINAL

    def wait(self, timeout: float | None = None) -> None:
        """Poll until the operation finishes, or `timeout` seconds pass (None: no limit)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._refresh()
        while self._status not in TERMINAL:
            pause = self._interval
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                pause = min(pause, left)
            time.sleep(pause)
            self._refresh()

    def result(self, timeout: float | None = None) -> T:
        """Wait, then the operation's value; raises when it failed or is still running."""
        self.wait(timeout)
        if self._error is not None:
            raise self._error
        if self._status not in TERMINAL:
            raise MaasClientError(f"The operation is still in progress after {timeout:g} s.")
        if not self._resolved:
            self._value, self._resolved = self._resolve(), True
        return self._value  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"<LROPoller status={self._status}>"
