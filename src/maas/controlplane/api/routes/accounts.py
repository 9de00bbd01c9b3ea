"""Routes: accounts (`/subscriptions/{id}`), resource groups and the generic resource listing."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from maas.controlplane.api.deps import (
    Context,
    Ctx,
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
async def list_accounts(ctx: Ctx) -> Response:
    return rendered_list(await ctx.call(accounts.list_accounts), account_body)


@router.put(SUB, openapi_extra=json_body(AccountBody) | returns(AccountResource))
async def put_account(request: Request, sub: str, ctx: Ctx) -> Response:
    body = await read_body(request, AccountBody)
    return saved(await ctx.call(accounts.put_account, sub, body), account_body)


@router.get(SUB, openapi_extra=returns(AccountResource))
async def get_account(sub: str, ctx: Ctx) -> Response:
    return rendered(await ctx.call(accounts.get_account, sub), account_body)


@router.delete(SUB)
async def delete_account(sub: str, ctx: Ctx) -> Response:
    await ctx.call(accounts.delete_account, sub)
    return deleted()


@router.get(SUB + "/resourceGroups", openapi_extra=returns(ArmResourceList))
async def list_groups(sub: str, ctx: Ctx) -> Response:
    return rendered_list(await ctx.call(accounts.list_resource_groups, sub))


@router.put(RG, openapi_extra=json_body(ResourceGroupBody) | returns(ArmResource))
async def put_group(request: Request, sub: str, rg: str, ctx: Ctx) -> Response:
    body = await read_body(request, ResourceGroupBody)
    return saved(await ctx.call(accounts.put_resource_group, sub, rg, body))


@router.get(RG, openapi_extra=returns(ArmResource))
async def get_group(sub: str, rg: str, ctx: Ctx) -> Response:
    return rendered(await ctx.call(accounts.get_resource_group, sub, rg))


@router.delete(RG)
async def delete_group(sub: str, rg: str, ctx: Ctx) -> Response:
    await ctx.call(accounts.delete_resource_group, sub, rg)
    return deleted()


async def _resources(request: Request, ctx: Context, sub: str, rg: str | None) -> Response:
    """One page of everything in the account or group the caller may read (ARM's `$filter`)."""
    query = request.query_params.get("$filter"), skiptoken(request), page_size(request)
    page = await ctx.call(resources.list_resources, sub, rg, *query)
    return paged(request, page, generic_body)


@router.get(SUB + "/resources", openapi_extra=returns(GenericResourceList))
async def list_in_account(request: Request, sub: str, ctx: Ctx) -> Response:
    return await _resources(request, ctx, sub, None)


@router.get(RG + "/resources", openapi_extra=returns(GenericResourceList))
async def list_in_group(request: Request, sub: str, rg: str, ctx: Ctx) -> Response:
    return await _resources(request, ctx, sub, rg)
