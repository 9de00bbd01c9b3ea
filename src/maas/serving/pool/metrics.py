"""Prometheus text exposition of the pools' figures (no client library needed for a few gauges,
counters and histograms)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from maas.serving.pool.stats import BUCKETS, Histogram
from maas.serving.pool.view import PoolView


def _labels(view: PoolView) -> str:
    def esc(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return (
        f'pool="{esc(view.name)}",model="{esc(view.model)}",region="{esc(view.region)}",'
        f'backend="{esc(view.backend)}"'
    )


def _series(
    lines: list[str],
    name: str,
    kind: str,
    help_text: str,
    views: Iterable[PoolView],
    value: Callable[[PoolView], float],
) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")
    for view in views:
        lines.append(f"{name}{{{_labels(view)}}} {value(view):g}")


def _histogram(
    lines: list[str],
    name: str,
    help_text: str,
    views: Iterable[PoolView],
    pick: Callable[[PoolView], Histogram],
) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} histogram")
    for view in views:
        histogram = pick(view)
        labels = _labels(view)
        running = 0
        for bound, count in zip(BUCKETS, histogram.counts, strict=False):
            running += count
            lines.append(f'{name}_bucket{{{labels},le="{bound:g}"}} {running}')
        lines.append(f'{name}_bucket{{{labels},le="+Inf"}} {histogram.count}')
        lines.append(f"{name}_sum{{{labels}}} {histogram.sum:g}")
        lines.append(f"{name}_count{{{labels}}} {histogram.count}")


def render(views: list[PoolView]) -> str:
    lines: list[str] = []
    _series(
        lines,
        "maas_pool_replicas",
        "gauge",
        "Ready replicas per pool.",
        views,
        lambda v: sum(1 for r in v.replicas if r.state == "Ready"),
    )
    _series(
        lines,
        "maas_pool_queue_depth",
        "gauge",
        "Requests waiting for a replica.",
        views,
        lambda v: v.queue_depth,
    )
    _series(lines, "maas_pool_in_flight", "gauge", "Requests being served.", views, lambda v: v.in_flight)
    _series(
        lines,
        "maas_pool_failed",
        "gauge",
        "1 when the pool's model failed to load.",
        views,
        lambda v: 1 if v.state == "Failed" else 0,
    )
    _series(
        lines,
        "maas_pool_cold_starts_total",
        "counter",
        "Replicas started from zero.",
        views,
        lambda v: v.stats.cold_starts,
    )
    _series(
        lines,
        "maas_pool_replica_restarts_total",
        "counter",
        "Replicas that exited unexpectedly.",
        views,
        lambda v: v.stats.restarts,
    )
    _series(
        lines,
        "maas_pool_requests_total",
        "counter",
        "Requests served (or failed) by the pool.",
        views,
        lambda v: v.stats.requests,
    )
    _series(
        lines,
        "maas_generated_tokens_total",
        "counter",
        "Completion tokens generated.",
        views,
        lambda v: v.stats.tokens,
    )
    _series(
        lines,
        "maas_tokens_per_second",
        "gauge",
        "Completion tokens per second over the last 10 s.",
        views,
        lambda v: v.stats.tokens_per_second(),
    )
    _histogram(
        lines,
        "maas_pool_cold_start_seconds",
        "Seconds from a cold start to a ready replica.",
        views,
        lambda v: v.stats.cold_start_seconds,
    )
    _histogram(
        lines,
        "maas_time_to_first_token_seconds",
        "Seconds from admission to the first chunk (or the whole answer when not streaming).",
        views,
        lambda v: v.stats.ttft_seconds,
    )
    return "\n".join(lines) + "\n"
