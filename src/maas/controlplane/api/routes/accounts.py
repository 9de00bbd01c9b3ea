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
    page_size,
    paged,
    read_body,
    rendered,
    rendered_list,
    saved,
    skiptoken,
)
from maas.controlplane.api.openapi import returns
from maas.controlplane.api.render import account_body, generic_body
from maas.controlplane.services import accounts, resources
from maas.controlplane.services.context import Caller, Services
from maas.protocol.management.accounts import AccountBody, ResourceGroupBody
from maas.protocol.management.resources import (
    AccountResource,
    AccountResourceList,
    ArmResource,
    ArmResourceList,
    GenericResourceList,
)

router = APIRouter()
SUB = "/subscriptions/{sub}"
RG = SUB + "/resourceGroups/{rg}"


@router.get("/subscriptions", openapi_extra=returns(AccountResourceList))
async def list_accounts(services: ServicesDep, caller: CallerDep) -> Response:
    return rendered_list(await call(accounts.list_accounts, services, caller), account_body)


@router.put(SUB, openapi_extra=json_body(AccountBody) | returns(AccountResource))
async def put_account(request: Request, sub: str, services: ServicesDep, caller: CallerDep) -> Response:
    body = await read_body(request, AccountBody)
    return saved(await call(accounts.put_account, services, caller, sub, body), account_body)


@router.get(SUB, openapi_extra=returns(AccountResource))
async def get_account(sub: str, services: ServicesDep, caller: CallerDep) -> Response:
    return rendered(await call(accounts.get_account, services, caller, sub), account_body)


@router.delete(SUB)
async def delete_account(sub: str, services: ServicesDep, caller: CallerDep) -> Response:
    await call(accounts.delete_account, services, caller, sub)
    return deleted()


@router.get(SUB + "/resourceGroups", openapi_extra=returns(ArmResourceList))
async def list_groups(sub: str, services: ServicesDep, caller: CallerDep) -> Response:
    return rendered_list(await call(accounts.list_resource_groups, services, caller, sub))


@router.put(RG, openapi_extra=json_body(ResourceGroupBody) | returns(ArmResource))
async def put_group(
    request: Request, sub: str, rg: str, services: ServicesDep, caller: CallerDep
) -> Response:
    body = await read_body(request, ResourceGroupBody)
    return saved(await call(accounts.put_resource_group, services, caller, sub, rg, body))


@router.get(RG, openapi_extra=returns(ArmResource))
async def get_group(sub: str, rg: str, services: ServicesDep, caller: CallerDep) -> Response:
    return rendered(await call(accounts.get_resource_group, services, caller, sub, rg))


@router.delete(RG)
async def delete_group(sub: str, rg: str, services: ServicesDep, caller: CallerDep) -> Response:
    await call(accounts.delete_resource_group, services, caller, sub, rg)
    return deleted()


async def _resources(
    request: Request, services: Services, caller: Caller, sub: str, rg: str | None
) -> Response:
    """One page of everything in the account or group the caller may read (ARM's `$filter`)."""
    query = request.query_params.get("$filter"), skiptoken(request), page_size(request)
    page = await call(resources.list_resources, services, caller, sub, rg, *query)
    return paged(request, page, generic_body)


@router.get(SUB + "/resources", openapi_extra=returns(GenericResourceList))
async def list_in_account(request: Request, sub: str, services: ServicesDep, caller: CallerDep) -> Response:
    return await _resources(request, services, caller, sub, None)


@router.get(RG + "/resources", openapi_extra=returns(GenericResourceList))
async def list_in_group(
    request: Request, sub: str, rg: str, services: ServicesDep, caller: CallerDep
) -> Response:
    return await _resources(request, services, caller, sub, rg)
