"""Failed sign-ins counted per client id, so a client secret cannot be guessed at full speed.

Each client id may fail `limit` times in `window` seconds; past that, its sign-ins are refused
(without checking the secret) until the oldest failure leaves the window. A success does not
reset the count: a guesser who also holds one right secret gains nothing. In memory, per process,
at most `max_ids` ids (the least recently failed dropped first).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

__all__ = ["Lockout"]


@dataclass
class Lockout:
    limit: int = 10
    window: float = 60.0
    max_ids: int = 100_000
    _failures: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def retry_after(self, client_id: str, now: float | None = None) -> int | None:
        """Seconds until `client_id` may try again, or None if it may now."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            failures = self._failures.get(client_id)
            if failures is None:
                return None
            while failures and failures[0] <= moment - self.window:
                failures.popleft()
            if len(failures) < self.limit:
                return None
            return max(1, math.ceil(failures[0] + self.window - moment))

    def failed(self, client_id: str, now: float | None = None) -> None:
        moment = time.monotonic() if now is None else now
        with self._lock:
            failures = self._failures.pop(client_id, None) or deque(maxlen=self.limit)
            failures.append(moment)
            self._failures[client_id] = failures
            while len(self._failures) > self.max_ids:
                self._failures.popitem(last=False)
