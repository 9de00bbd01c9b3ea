"""Routes: accounts (`/subscriptions/{id}`), resource groups and the generic resource listing."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from maas.controlplane.api.deps import (
    CallerDep,
    ServicesDep,
    call,
    deleted,
    json_body,
    listing,
    page_size,
    paged,
    put_response,
    read_body,
    skiptoken,
)
from maas.controlplane.services import accounts, resources
from maas.protocol.management.accounts import AccountBody, ResourceGroupBody

router = APIRouter()
SUB = "/subscriptions/{sub}"
RG = SUB + "/resourceGroups/{rg}"


@router.get("/subscriptions")
async def list_accounts(services: ServicesDep, caller: CallerDep) -> Response:
    return listing(await call(accounts.list_accounts, services, caller))


@router.put(SUB, openapi_extra=json_body(AccountBody))
async def put_account(request: Request, sub: str, services: ServicesDep, caller: CallerDep) -> Response:
    body = await read_body(request, AccountBody)
    return put_response(*await call(accounts.put_account, services, caller, sub, body))


@router.get(SUB)
async def get_account(sub: str, services: ServicesDep, caller: CallerDep) -> Response:
    return put_response(await call(accounts.get_account, services, caller, sub), False)


@router.delete(SUB)
async def delete_account(sub: str, services: ServicesDep, caller: CallerDep) -> Response:
    await call(accounts.delete_account, services, caller, sub)
    return deleted()


@router.get(SUB + "/resourceGroups")
async def list_groups(sub: str, services: ServicesDep, caller: CallerDep) -> Response:
    return listing(await call(accounts.list_resource_groups, services, caller, sub))


@router.put(RG, openapi_extra=json_body(ResourceGroupBody))
async def put_group(
    request: Request, sub: str, rg: str, services: ServicesDep, caller: CallerDep
) -> Response:
    body = await read_body(request, ResourceGroupBody)
    return put_response(*await call(accounts.put_resource_group, services, caller, sub, rg, body))


@router.get(RG)
async def get_group(sub: str, rg: str, services: ServicesDep, caller: CallerDep) -> Response:
    return put_response(await call(accounts.get_resource_group, services, caller, sub, rg), False)


@router.delete(RG)
async def delete_group(sub: str, rg: str, services: ServicesDep, caller: CallerDep) -> Response:
    await call(accounts.delete_resource_group, services, caller, sub, rg)
    return deleted()


@router.get(SUB + "/resources")
async def list_in_account(request: Request, sub: str, services: ServicesDep, caller: CallerDep) -> Response:
    page = await call(
        resources.list_resources,
        services,
        caller,
        sub,
        None,
        request.query_params.get("$filter"),
        skiptoken(request),
        page_size(request),
    )
    return paged(request, page)


@router.get(RG + "/resources")
async def list_in_group(
    request: Request, sub: str, rg: str, services: ServicesDep, caller: CallerDep
) -> Response:
    page = await call(
        resources.list_resources,
        services,
        caller,
        sub,
        rg,
        request.query_params.get("$filter"),
        skiptoken(request),
        page_size(request),
    )
    return paged(request, page)
