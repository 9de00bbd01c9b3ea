"""Routes: marketplace subscriptions and serverless endpoints (with listKeys/regenerateKeys).

Status codes follow what the real azure-ai-ml 1.35 accepts: PUT 200/201 (an endpoint create is
201 with `Azure-AsyncOperation`), DELETE 202 (with operation URLs) or 204, never 200.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from maas.controlplane.api.deps import (
    CallerDep,
    ServicesDep,
    arm,
    call,
    deleted,
    json_body,
    operation_headers,
    page_size,
    paged,
    put_response,
    read_body,
    skiptoken,
)
from maas.controlplane.services import endpoints, marketplace
from maas.protocol.management.endpoints import EndpointBody, RegenerateKeysBody
from maas.protocol.management.marketplace import MarketplaceSubscriptionBody

router = APIRouter()
WS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws}"
MP = WS + "/marketplaceSubscriptions"
EP = WS + "/serverlessEndpoints"


@router.get(MP)
async def list_subscriptions(
    request: Request, sub: str, rg: str, ws: str, services: ServicesDep, caller: CallerDep
) -> Response:
    page = await call(
        marketplace.list_subscriptions,
        services,
        caller,
        sub,
        rg,
        ws,
        skiptoken(request),
        page_size(request),
    )
    return paged(request, page)


@router.put(MP + "/{name}", openapi_extra=json_body(MarketplaceSubscriptionBody))
async def put_subscription(
    request: Request,
    sub: str,
    rg: str,
    ws: str,
    name: str,
    services: ServicesDep,
    caller: CallerDep,
) -> Response:
    body = await read_body(request, MarketplaceSubscriptionBody)
    return put_response(*await call(marketplace.put_subscription, services, caller, sub, rg, ws, name, body))


@router.get(MP + "/{name}")
async def get_subscription(
    sub: str, rg: str, ws: str, name: str, services: ServicesDep, caller: CallerDep
) -> Response:
    return arm(await call(marketplace.get_subscription, services, caller, sub, rg, ws, name))


@router.delete(MP + "/{name}")
async def delete_subscription(
    sub: str, rg: str, ws: str, name: str, services: ServicesDep, caller: CallerDep
) -> Response:
    await call(marketplace.delete_subscription, services, caller, sub, rg, ws, name)
    return deleted()


@router.get(EP)
async def list_endpoints(
    request: Request, sub: str, rg: str, ws: str, services: ServicesDep, caller: CallerDep
) -> Response:
    page = await call(
        endpoints.list_endpoints,
        services,
        caller,
        sub,
        rg,
        ws,
        skiptoken(request),
        page_size(request),
    )
    return paged(request, page)


@router.put(EP + "/{name}", openapi_extra=json_body(EndpointBody))
async def put_endpoint(
    request: Request,
    sub: str,
    rg: str,
    ws: str,
    name: str,
    services: ServicesDep,
    caller: CallerDep,
) -> Response:
    body = await read_body(request, EndpointBody)
    result, created, operation = await call(endpoints.put_endpoint, services, caller, sub, rg, ws, name, body)
    headers = operation_headers(request, sub, result["location"], operation) if operation else None
    return arm(result, 201 if created else 200, headers)


@router.get(EP + "/{name}")
async def get_endpoint(
    sub: str, rg: str, ws: str, name: str, services: ServicesDep, caller: CallerDep
) -> Response:
    return arm(await call(endpoints.get_endpoint, services, caller, sub, rg, ws, name))


@router.delete(EP + "/{name}")
async def delete_endpoint(
    request: Request,
    sub: str,
    rg: str,
    ws: str,
    name: str,
    services: ServicesDep,
    caller: CallerDep,
) -> Response:
    found = await call(endpoints.delete_endpoint, services, caller, sub, rg, ws, name)
    if found is None:
        return deleted()
    operation, location = found
    return Response(status_code=202, headers=operation_headers(request, sub, location, operation))


@router.post(EP + "/{name}/listKeys")
async def list_keys(
    sub: str, rg: str, ws: str, name: str, services: ServicesDep, caller: CallerDep
) -> Response:
    return arm(await call(endpoints.list_keys, services, caller, sub, rg, ws, name))


@router.post(EP + "/{name}/regenerateKeys", openapi_extra=json_body(RegenerateKeysBody))
async def regenerate_keys(
    request: Request,
    sub: str,
    rg: str,
    ws: str,
    name: str,
    services: ServicesDep,
    caller: CallerDep,
) -> Response:
    body = await read_body(request, RegenerateKeysBody)
    return arm(await call(endpoints.regenerate_keys, services, caller, sub, rg, ws, name, body))
