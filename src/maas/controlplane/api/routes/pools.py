"""Routes: the operator's view of the serverless pools this process runs, and Prometheus metrics.

    GET  /providers/Microsoft.MaaS/pools                    every pool (replicas, queue, cold starts)
    GET  /providers/Microsoft.MaaS/pools/{name}
    POST /providers/Microsoft.MaaS/pools/{name}/restart     stop its replicas and clear a failure
    GET  /metrics                                           Prometheus text format, no token needed

Pools are per process (each API process runs its own with the local backend; with Ray they are
cluster-wide). Reading pools needs `Microsoft.MaaS/pools/read` at the root scope, restarting
`Microsoft.MaaS/pools/restart/action`: operators, not workspace users.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from maas.controlplane.api.deps import CallerDep, arm, listing, process_of
from maas.core.errors import NotFound
from maas.serving.pool.base import Pools
from maas.serving.pool.metrics import render
from maas.serving.pool.view import PoolView

router = APIRouter()
POOLS = "/providers/Microsoft.MaaS/pools"


def _pools(request: Request) -> Pools:
    pools = process_of(request).pools()
    if pools is None:
        raise NotFound("This process serves no models (it runs the control plane only).", code="NoPools")
    return pools


def resource(view: PoolView) -> dict[str, Any]:
    return {
        "id": f"{POOLS}/{view.name}",
        "name": view.name,
        "type": "Microsoft.MaaS/pools",
        "properties": view.as_dict(),
    }


def _find(pools: Pools, name: str) -> PoolView:
    for view in pools.views():
        if view.name == name.lower():
            return view
    raise NotFound(f"There is no model pool '{name}' in this process.", code="PoolNotFound")


@router.get(POOLS)
async def list_pools(request: Request, caller: CallerDep) -> JSONResponse:
    caller.require("Microsoft.MaaS/pools/read", "/")
    return listing([resource(v) for v in _pools(request).views()])


@router.get(POOLS + "/{name}")
async def get_pool(request: Request, name: str, caller: CallerDep) -> JSONResponse:
    caller.require("Microsoft.MaaS/pools/read", f"{POOLS}/{name}")
    return arm(resource(_find(_pools(request), name)))


@router.post(POOLS + "/{name}/restart")
async def restart_pool(request: Request, name: str, caller: CallerDep) -> JSONResponse:
    caller.require("Microsoft.MaaS/pools/restart/action", f"{POOLS}/{name}")
    pools = _pools(request)
    _find(pools, name)
    return arm(resource(await pools.restart(name)))


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> PlainTextResponse:
    pools = process_of(request).pools()
    views = pools.views() if pools is not None else []
    return PlainTextResponse(render(views), media_type="text/plain; version=0.0.4; charset=utf-8")
