"""What the Ray backend asks of Ray and Ray Serve: join or start Ray, deploy a pool's application,
read `serve.status()`, delete an application. Every function here blocks: callers run them with
`asyncio.to_thread`. Ray is imported inside them, so this module imports without Ray.

A pool's application has one deployment of `ServeReplica` whose name carries a fingerprint of
what its replicas run and how Serve scales them (`deployment_name`): a process that finds the
application deployed with the same fingerprint (by another gateway on the cluster, or by its own
previous life) uses it rather than deploying it again, which would restart its replicas.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from maas.serving.engines.base import ModelSpec
from maas.serving.pool.backends.ray.replica import ModelLoadFailed, ServeReplica, load_message
from maas.serving.pool.config import PoolConfig, runtime_fields

# Serve's autoscaler averages load over LOOK_BACK_SECONDS, fed by handles and replicas every
# METRICS_SECONDS (its defaults, 30 s and 10 s, keep an idle pool up ~40 s past its keep-alive).
LOOK_BACK_SECONDS = 2.0
METRICS_SECONDS = 1.0
OBJECT_STORE_BYTES = 128 * 1024 * 1024


@dataclass(frozen=True)
class AppState:
    """One application's entry in `serve.status()`, as plain values."""

    status: str
    deployment: str | None = None
    deployment_status: str = ""
    trigger: str = ""
    replicas: dict[str, int] = field(default_factory=dict)  # Serve's replica state → count
    message: str = ""

    @property
    def startup_failed(self) -> bool:
        return self.trigger == "REPLICA_STARTUP_FAILED" and self.deployment_status in (
            "UNHEALTHY",
            "DEPLOY_FAILED",
        )


def _value(item: Any) -> str:
    return str(getattr(item, "value", item))


def statuses() -> dict[str, AppState]:
    from ray import serve

    states: dict[str, AppState] = {}
    for name, app in serve.status().applications.items():
        state = AppState(status=_value(app.status), message=app.message or "")
        for deployment, info in app.deployments.items():
            state = AppState(
                status=state.status,
                deployment=deployment,
                deployment_status=_value(info.status),
                trigger=_value(info.status_trigger),
                replicas={_value(k): int(v) for k, v in info.replica_states.items()},
                message=info.message or "",
            )
        states[name] = state
    return states


def deployment_options(config: PoolConfig, threads: int | None) -> dict[str, Any]:
    autoscaling: dict[str, Any] = {
        "min_replicas": 1 if config.keep_alive is None else 0,
        "initial_replicas": 1,  # an application is deployed for a request that is waiting
        "max_replicas": config.max_replicas,
        # scale up when the replicas' slots are full and requests queue, as the local backend does
        "target_ongoing_requests": config.max_concurrency,
        "upscale_delay_s": config.scale_up_after,
        "downscale_delay_s": config.scale_down_after,
        "metrics_interval_s": METRICS_SECONDS,
        "look_back_period_s": LOOK_BACK_SECONDS,
    }
    if config.keep_alive is not None:
        autoscaling["downscale_to_zero_delay_s"] = config.keep_alive
    return {
        "autoscaling_config": autoscaling,
        "max_ongoing_requests": config.max_concurrency,
        "max_queued_requests": config.max_queue,
        "max_constructor_retry_count": 1,  # a model that does not load will not load next time
        "ray_actor_options": {"num_cpus": threads or 1},
    }


def deployment_name(spec: ModelSpec, options: dict[str, Any]) -> str:
    """`replica-<fingerprint>` of what the replicas run and how Serve runs them."""
    what = json.dumps([repr(runtime_fields(spec)), options], sort_keys=True, default=repr).encode()
    return "replica-" + hashlib.sha256(what).hexdigest()[:12]


def deploy(name: str, spec: ModelSpec, config: PoolConfig, threads: int | None) -> tuple[Any, Any]:
    """Deploy (or find deployed) a pool's application; returns its (call, stream) handles once a
    replica runs. Raises ModelLoadFailed, with the loader's message, when it cannot start."""
    from ray import serve

    options = deployment_options(config, threads)
    wanted = deployment_name(spec, options)
    found = statuses().get(name)
    if found is None or found.deployment != wanted or found.status in ("DEPLOY_FAILED", "UNHEALTHY"):
        app = serve.deployment(ServeReplica).options(name=wanted, **options)
        try:
            handle = serve.run(app.bind(spec, threads), name=name, route_prefix=None)
        except Exception as exc:
            state = statuses().get(name)
            detail = state.message if state is not None and state.startup_failed else str(exc)
            with contextlib.suppress(Exception):
                serve.delete(name)  # no retries: the pool stays Failed until restarted or changed
            raise ModelLoadFailed(load_message(detail)) from None
    else:
        handle = serve.get_app_handle(name)
    return handle.options(method_name="call"), handle.options(method_name="stream", stream=True)


def delete(name: str) -> None:
    from ray import serve

    serve.delete(name)


def connect(address: str | None) -> bool:
    """Join the Ray cluster at `address`, or start a local instance; start Serve without HTTP
    proxies (the gateway calls handles). True if this process connected to Ray itself."""
    import ray
    from ray import serve

    started = False
    if not ray.is_initialized():
        if address is None:
            ray.init(
                address="local",  # a new instance, never one found by RAY_ADDRESS or `ray start`
                include_dashboard=False,
                # logical CPUs: a replica asks for one, and replicas of a local instance share the
                # machine's cores (as local replica processes do) rather than wait for a free one
                num_cpus=max(8, os.cpu_count() or 1),
                object_store_memory=OBJECT_STORE_BYTES,
                logging_level=logging.WARNING,
            )
        else:
            ray.init(address=address, logging_level=logging.WARNING)
        started = True
    serve.start(proxy_location="Disabled")
    return started


def disconnect(started: bool, local: bool) -> None:
    """Stop Serve if Ray is this process's own local instance, then leave (or stop) Ray."""
    import ray
    from ray import serve

    if local:
        with contextlib.suppress(Exception):
            serve.shutdown()
    if started:
        ray.shutdown()
