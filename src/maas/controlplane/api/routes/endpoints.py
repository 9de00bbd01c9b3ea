"""Routes: marketplace subscriptions and serverless endpoints (with listKeys/regenerateKeys); the
routes they have alike come from `children.add_child_routes`.

Status codes follow what the real azure-ai-ml 1.35 accepts: PUT 200/201 (an endpoint create is
201 with `Azure-AsyncOperation`), DELETE 202 (with operation URLs) or 204, never 200.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from maas.controlplane.api.deps import (
    Ctx,
    arm,
    deleted,
    json_body,
    operation_headers,
    read_body,
    saved,
)
from maas.controlplane.api.openapi import returns
from maas.controlplane.api.routes.children import ChildService, add_child_routes
from maas.controlplane.services import endpoints, marketplace
from maas.protocol.management import kinds
from maas.protocol.management.endpoints import EndpointBody, RegenerateKeysBody
from maas.protocol.management.resources import ArmResource

router = APIRouter()


add_child_routes(
    router,
    ChildService(
        kinds.MARKETPLACE_SUBSCRIPTION,
        list=marketplace.list_subscriptions,
        get=marketplace.get_subscription,
        put=marketplace.put_subscription,
        delete=marketplace.delete_subscription,
    ),
)
EP = add_child_routes(
    router, ChildService(kinds.SERVERLESS_ENDPOINT, list=endpoints.list_endpoints, get=endpoints.get_endpoint)
)


@router.put(EP, openapi_extra=json_body(EndpointBody) | returns(ArmResource))
async def put_endpoint(
    request: Request,
    sub: str,
    rg: str,
    ws: str,
    name: str,
    ctx: Ctx,
) -> Response:
    body = await read_body(request, EndpointBody)
    result = await ctx.call(endpoints.put_endpoint, sub, rg, ws, name, body)
    location = result.resource.location or ""
    operation = result.operation
    return saved(result, headers=operation_headers(request, sub, location, operation) if operation else None)


@router.delete(EP)
async def delete_endpoint(
    request: Request,
    sub: str,
    rg: str,
    ws: str,
    name: str,
    ctx: Ctx,
) -> Response:
    found = await ctx.call(endpoints.delete_endpoint, sub, rg, ws, name)
    if found is None:
        return deleted()
    operation, location = found
    return Response(status_code=202, headers=operation_headers(request, sub, location, operation))


@router.post(EP + "/listKeys")
async def list_keys(sub: str, rg: str, ws: str, name: str, ctx: Ctx) -> Response:
    return arm(await ctx.call(endpoints.list_keys, sub, rg, ws, name))


@router.post(EP + "/regenerateKeys", openapi_extra=json_body(RegenerateKeysBody))
async def regenerate_keys(
    request: Request,
    sub: str,
    rg: str,
    ws: str,
    name: str,
    ctx: Ctx,
) -> Response:
    body = await read_body(request, RegenerateKeysBody)
    return arm(await ctx.call(endpoints.regenerate_keys, sub, rg, ws, name, body))
