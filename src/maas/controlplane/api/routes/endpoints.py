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
    read_body,
    rendered,
    saved,
    skiptoken,
)
from maas.controlplane.api.openapi import returns
from maas.controlplane.services import endpoints, marketplace
from maas.protocol.management.endpoints import EndpointBody, RegenerateKeysBody
from maas.protocol.management.marketplace import MarketplaceSubscriptionBody
from maas.protocol.management.resources import ArmResource, ArmResourceList

router = APIRouter()
WS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws}"
MP = WS + "/marketplaceSubscriptions"
EP = WS + "/serverlessEndpoints"


@router.get(MP, openapi_extra=returns(ArmResourceList))
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


@router.put(MP + "/{name}", openapi_extra=json_body(MarketplaceSubscriptionBody) | returns(ArmResource))
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
    return saved(await call(marketplace.put_subscription, services, caller, sub, rg, ws, name, body))


@router.get(MP + "/{name}", openapi_extra=returns(ArmResource))
async def get_subscription(
    sub: str, rg: str, ws: str, name: str, services: ServicesDep, caller: CallerDep
) -> Response:
    return rendered(await call(marketplace.get_subscription, services, caller, sub, rg, ws, name))


@router.delete(MP + "/{name}")
async def delete_subscription(
    sub: str, rg: str, ws: str, name: str, services: ServicesDep, caller: CallerDep
) -> Response:
    await call(marketplace.delete_subscription, services, caller, sub, rg, ws, name)
    return deleted()


@router.get(EP, openapi_extra=returns(ArmResourceList))
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


@router.put(EP + "/{name}", openapi_extra=json_body(EndpointBody) | returns(ArmResource))
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
    result = await call(endpoints.put_endpoint, services, caller, sub, rg, ws, name, body)
    location = result.resource.location or ""
    operation = result.operation
    return saved(result, headers=operation_headers(request, sub, location, operation) if operation else None)


@router.get(EP + "/{name}", openapi_extra=returns(ArmResource))
async def get_endpoint(
    sub: str, rg: str, ws: str, name: str, services: ServicesDep, caller: CallerDep
) -> Response:
    return rendered(await call(endpoints.get_endpoint, services, caller, sub, rg, ws, name))


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
