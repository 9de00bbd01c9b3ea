"""The reconciler: drives resources from their desired state (written by the API) to it.

The API writes `provisioningState` Creating/Updating/Deleting and bumps `generation`; this loop
finds such resources, runs the handler for their type *outside* any transaction (a step may take
time: later, starting model replicas), then commits the outcome in a short transaction that
re-reads the resource and applies the outcome only if `generation` has not moved meanwhile.
Steps are idempotent, so two API processes reconciling the same store are safe.

Handlers raise `TemporaryError(delay)` to be retried later, `PermanentError` to fail the resource.
The loop wakes at once when the API calls `wake()` after a commit, and polls every second anyway
(which also picks up work left by a process that died). Between passes it prunes the activity
log to its retention (`MAAS_ACTIVITY_RETENTION_DAYS`), once an hour.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from maas.controlplane.domain.resources import ProvisioningState, Resource
from maas.controlplane.services import activity
from maas.controlplane.services.context import Services
from maas.controlplane.store.repository import Repository

log = logging.getLogger("maas.reconciler")


class TemporaryError(Exception):
    def __init__(self, message: str, delay: float = 1.0) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentError(Exception):
    def __init__(self, message: str, code: str = "ProvisioningFailed") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Outcome:
    """What a handler observed; `apply` writes it in the committing transaction."""

    apply: Callable[[Repository, Resource], None]


class Handler(Protocol):
    def reconcile(self, services: Services, resource: Resource) -> Outcome: ...

    def fail(self, repo: Repository, resource: Resource, error: PermanentError) -> None: ...


class Reconciler:
    def __init__(
        self,
        services: Services,
        handlers: Mapping[str, Handler],
        poll_seconds: float = 1.0,
        prune_seconds: float = 3600.0,
    ) -> None:
        self._services = services
        self._prune_every = prune_seconds
        self._next_prune = 0.0
        self._handlers = {k.lower(): v for k, v in handlers.items()}
        self._poll = poll_seconds
        self._event = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._not_before: dict[str, float] = {}

    def wake(self) -> None:
        self._event.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="maas-reconciler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._event.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._event.wait(self._poll)
            self._event.clear()
            try:
                while self.run_once() and not self._stop.is_set():
                    pass
            except Exception:  # the loop must survive a bad step; the resource is retried
                log.exception("reconcile pass failed")
            self.prune_if_due()

    def prune_if_due(self) -> int:
        """Drop activity-log events past their retention, at most once per `prune_seconds`."""
        now = time.monotonic()
        if now < self._next_prune:
            return 0
        self._next_prune = now + self._prune_every
        try:
            pruned = activity.prune(self._services)
        except Exception:  # retried at the next interval
            log.exception("activity log prune failed")
            return 0
        if pruned:
            log.info("pruned %d activity-log events past retention", pruned)
        return pruned

    def run_once(self) -> int:
        """One pass over pending resources. Returns how many it settled."""
        with self._services.db.read() as connection:
            pending = Repository(connection).pending()
        settled = 0
        now = time.monotonic()
        for resource in pending:
            handler = self._handlers.get(resource.type.lower())
            if handler is None or self._not_before.get(resource.key, 0) > now:
                continue
            settled += self._reconcile(handler, resource)
        return settled

    def _reconcile(self, handler: Handler, resource: Resource) -> int:
        try:
            outcome = handler.reconcile(self._services, resource)
            apply = outcome.apply
        except TemporaryError as exc:
            log.info("reconcile %s: retry in %.1fs: %s", resource.id, exc.delay, exc)
            self._not_before[resource.key] = time.monotonic() + exc.delay
            return 0
        except PermanentError as exc:
            log.warning("reconcile %s failed: %s", resource.id, exc)
            error = exc

            def apply(repo: Repository, current: Resource) -> None:
                handler.fail(repo, current, error)

        with self._services.db.write() as connection:
            repo = Repository(connection)
            current = repo.get(resource.id, for_update=True)
            if current is None or current.generation != resource.generation:
                return 0  # changed meanwhile: the next pass sees the new spec
            if current.provisioning_state.is_terminal:
                return 0
            apply(repo, current)
        self._not_before.pop(resource.key, None)
        self._services.endpoints_changed()
        return 1


def settle(resource: Resource) -> None:
    resource.provisioning_state = ProvisioningState.SUCCEEDED
    resource.observed_generation = resource.generation
