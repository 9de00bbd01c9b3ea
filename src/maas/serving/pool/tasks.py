"""The background tasks of one serving backend: kept alive until they end, failures logged.

The event loop holds only weak references to tasks, so a task nobody references can be destroyed
mid-flight; each backend keeps its own (`Background`, made with the backend, never a module-level
set) so that two backends in one process, or one per test, do not share state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("maas.pool")


class Background:
    """Tasks a backend starts and does not wait for (starting a replica, stopping an idle pool)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `work` as a task that is kept alive until it ends and whose failure is logged."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, finished: asyncio.Task[Any]) -> None:
        self._tasks.discard(finished)
        if not finished.cancelled() and finished.exception() is not None:
            log.error("background pool task failed", exc_info=finished.exception())


async def cancel(task: asyncio.Task[Any] | None) -> None:
    """Cancel a backend's own long-running task and wait until it has stopped."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
