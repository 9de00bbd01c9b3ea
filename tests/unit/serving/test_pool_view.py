"""The operator's view of a pool: its API shape, the CLI's table row and the Prometheus text."""

from __future__ import annotations

from maas.cli.operator import _pool_row
from maas.controlplane.api.routes.pools import resource
from maas.serving.pool.metrics import render
from maas.serving.pool.stats import PoolStats
from maas.serving.pool.view import PoolView, ReplicaView


def _view() -> PoolView:
    stats = PoolStats(requests=5, cold_starts=2, restarts=1)
    stats.add_tokens(40)
    stats.cold_start_seconds.observe(0.2)
    stats.ttft_seconds.observe(0.03)
    stats.last_cold_start = {"at": "2026-11-24T21:00:00Z", "seconds": 0.2, "loadSeconds": 0.15}
    replica = ReplicaView("r1", "Ready", 1234, 1, 300.0, 0.0, 0.15, 5)
    return PoolView(
        name="chat-v1-eastus",
        model='tiny "chat"',
        version_id="/registries/r/models/chat/versions/1",
        region="eastus",
        backend="local",
        state="Ready",
        replicas=[replica],
        queue_depth=3,
        in_flight=1,
        keep_alive="pinned",
        max_replicas=2,
        max_concurrency=16,
        error=None,
        stats=stats,
    )


def test_resource_shape() -> None:
    body = resource(_view())
    props = body["properties"]
    assert body["id"] == "/providers/Microsoft.MaaS/pools/chat-v1-eastus"
    assert props["replicaCount"] == 1 and props["queueDepth"] == 3 and props["keepAlive"] == "pinned"
    assert props["replicas"][0] == {
        "id": "r1",
        "state": "Ready",
        "pid": 1234,
        "inFlight": 1,
        "rssMB": 300.0,
        "startedAt": "1970-01-01T00:00:00Z",
        "loadSeconds": 0.15,
        "served": 5,
    }
    assert props["coldStarts"] == 2 and props["replicaRestarts"] == 1 and props["generatedTokens"] == 40
    assert props["timeToFirstTokenP50"] == 0.03 and props["tokensPerSecond"] == 4.0


def test_cli_row() -> None:
    row = _pool_row(resource(_view()))
    assert row.split() == ["chat-v1-eastus", "local", "Ready", "1/2", "3", "1", "pinned", "2", "0.2", "s"]


def test_prometheus_text() -> None:
    text = render([_view()])
    labels = 'pool="chat-v1-eastus",model="tiny \\"chat\\"",region="eastus",backend="local"'
    assert f"maas_pool_replicas{{{labels}}} 1" in text
    assert f"maas_pool_queue_depth{{{labels}}} 3" in text
    assert f"maas_pool_cold_starts_total{{{labels}}} 2" in text
    assert f"maas_generated_tokens_total{{{labels}}} 40" in text
    assert f'maas_pool_cold_start_seconds_bucket{{{labels},le="0.25"}} 1' in text
    assert f'maas_pool_cold_start_seconds_bucket{{{labels},le="0.1"}} 0' in text
    assert f'maas_time_to_first_token_seconds_bucket{{{labels},le="+Inf"}} 1' in text
    assert "# TYPE maas_pool_cold_start_seconds histogram" in text
    assert text.endswith("\n")
