"""The figures a pool keeps for operators: counters, latency histograms, tokens per second.

Kept per pool and per gateway process, whatever the backend; `metrics.py` renders them for
Prometheus and `view.py` for the pools API. Recording a cold start is one method
(`PoolStats.cold_start`) so that every backend reports it the same way.
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from maas.serving.engines.base import Json

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
WINDOW_SECONDS = 10.0  # tokens per second is measured over this window


class Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.sum = 0.0
        self.count = 0
        self.recent: deque[float] = deque(maxlen=512)

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, value)] += 1
        self.sum += value
        self.count += 1
        self.recent.append(value)

    def p50(self) -> float | None:
        if not self.recent:
            return None
        ordered = sorted(self.recent)
        return ordered[len(ordered) // 2]


@dataclass
class PoolStats:
    requests: int = 0
    failures: int = 0
    cold_starts: int = 0
    restarts: int = 0
    tokens: int = 0
    cold_start_seconds: Histogram = field(default_factory=Histogram)
    ttft_seconds: Histogram = field(default_factory=Histogram)
    last_cold_start: dict[str, Any] | None = None
    _window: deque[tuple[float, int]] = field(default_factory=deque)

    def add_tokens(self, count: int) -> None:
        if count <= 0:
            return
        now = time.monotonic()
        self.tokens += count
        self._window.append((now, count))
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self._window and self._window[0][0] < now - WINDOW_SECONDS:
            self._window.popleft()

    def served(self, failed: bool) -> None:
        """A request left the pool, answered or failed."""
        self.requests += 1
        self.failures += int(failed)

    def cold_start(self, seconds: float, load_seconds: float | None = None) -> None:
        """A cold start ended `seconds` after it began (the model's own load took `load_seconds`,
        where the backend knows it)."""
        self.cold_start_seconds.observe(seconds)
        self.last_cold_start = {
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seconds": round(seconds, 3),
        }
        if load_seconds is not None:
            self.last_cold_start["loadSeconds"] = round(load_seconds, 3)

    def answered(self, seconds: float, answer: Json) -> None:
        """A whole answer, `seconds` after the request arrived."""
        self.ttft_seconds.observe(seconds)
        self.add_tokens(usage_tokens(answer))

    def streamed(self, chunk: Json, first_seconds: float | None) -> None:
        """A streamed chunk; `first_seconds` (since the request arrived) for the first one only."""
        if first_seconds is not None:
            self.ttft_seconds.observe(first_seconds)
        if chunk.get("usage"):
            self.add_tokens(usage_tokens(chunk))

    def tokens_per_second(self) -> float:
        now = time.monotonic()
        self._trim(now)
        return sum(n for _, n in self._window) / WINDOW_SECONDS


def usage_tokens(answer: Json) -> int:
    """The completion tokens an answer (or a stream's last chunk) reports."""
    usage = answer.get("usage") or {}
    return int(usage.get("completion_tokens") or 0)
