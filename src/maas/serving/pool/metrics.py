"""Prometheus text exposition of the pools' figures (no client library needed for a few gauges,
counters and histograms)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from maas.serving.pool.stats import BUCKETS, Histogram
from maas.serving.pool.view import PoolView


def _labels(view: PoolView) -> str:
    def esc(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return (
        f'pool="{esc(view.name)}",model="{esc(view.model)}",region="{esc(view.region)}",'
        f'backend="{esc(view.backend)}"'
    )


# (name, type, help, the value of one pool)
_SERIES: tuple[tuple[str, str, str, Callable[[PoolView], float]], ...] = (
    (
        "maas_pool_replicas",
        "gauge",
        "Ready replicas per pool.",
        lambda v: sum(1 for r in v.replicas if r.state == "Ready"),
    ),
    ("maas_pool_queue_depth", "gauge", "Requests waiting for a replica.", lambda v: v.queue_depth),
    ("maas_pool_in_flight", "gauge", "Requests being served.", lambda v: v.in_flight),
    (
        "maas_pool_failed",
        "gauge",
        "1 when the pool's model failed to load.",
        lambda v: 1 if v.state == "Failed" else 0,
    ),
    ("maas_pool_cold_starts_total", "counter", "Replicas started from zero.", lambda v: v.stats.cold_starts),
    (
        "maas_pool_replica_restarts_total",
        "counter",
        "Replicas that exited unexpectedly.",
        lambda v: v.stats.restarts,
    ),
    (
        "maas_pool_requests_total",
        "counter",
        "Requests served (or failed) by the pool.",
        lambda v: v.stats.requests,
    ),
    ("maas_generated_tokens_total", "counter", "Completion tokens generated.", lambda v: v.stats.tokens),
    (
        "maas_tokens_per_second",
        "gauge",
        "Completion tokens per second over the last 10 s.",
        lambda v: v.stats.tokens_per_second(),
    ),
)
# (name, help, the histogram of one pool)
_HISTOGRAMS: tuple[tuple[str, str, Callable[[PoolView], Histogram]], ...] = (
    (
        "maas_pool_cold_start_seconds",
        "Seconds from a cold start to a ready replica.",
        lambda v: v.stats.cold_start_seconds,
    ),
    (
        "maas_time_to_first_token_seconds",
        "Seconds from admission to the first chunk (or the whole answer when not streaming).",
        lambda v: v.stats.ttft_seconds,
    ),
)


def _buckets(name: str, labels: str, histogram: Histogram) -> Iterator[str]:
    running = 0
    for bound, count in zip(BUCKETS, histogram.counts, strict=False):
        running += count
        yield f'{name}_bucket{{{labels},le="{bound:g}"}} {running}'
    yield f'{name}_bucket{{{labels},le="+Inf"}} {histogram.count}'
    yield f"{name}_sum{{{labels}}} {histogram.sum:g}"
    yield f"{name}_count{{{labels}}} {histogram.count}"


def render(views: list[PoolView]) -> str:
    lines: list[str] = []
    for name, kind, help_text, value in _SERIES:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        lines += [f"{name}{{{_labels(view)}}} {value(view):g}" for view in views]
    for name, help_text, pick in _HISTOGRAMS:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        for view in views:
            lines += _buckets(name, _labels(view), pick(view))
    return "\n".join(lines) + "\n"
