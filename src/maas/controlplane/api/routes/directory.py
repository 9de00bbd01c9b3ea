"""Routes: the directory's users and service principals, and ARM's tenant listing.

PUT|GET|DELETE /providers/Microsoft.MaaS/users/{userPrincipalName}     GET .../users
PUT|GET|DELETE /providers/Microsoft.MaaS/servicePrincipals/{appId}     GET .../servicePrincipals
POST /providers/Microsoft.MaaS/servicePrincipals/{appId}/addPassword   (the secret, once)
GET /tenants                                                           (this installation's one)
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from maas.controlplane.api.deps import Ctx, arm, deleted, json_body, listing, read_body
from maas.controlplane.api.openapi import returns
from maas.controlplane.api.render import (
    added_password_body,
    service_principal_body,
    tenant_body,
    user_body,
)
from maas.controlplane.services import directory
from maas.protocol.management.directory import AddPasswordBody, ServicePrincipalBody, UserBody
from maas.protocol.management.resources import (
    PasswordCredential,
    ServicePrincipalList,
    ServicePrincipalResource,
    TenantList,
    UserList,
    UserResource,
)

router = APIRouter()
USERS = "/providers/Microsoft.MaaS/users"
SPS = "/providers/Microsoft.MaaS/servicePrincipals"


@router.get("/tenants", openapi_extra=returns(TenantList))
async def list_tenants(ctx: Ctx) -> Response:
    return listing([tenant_body(await ctx.read(directory.tenant_id))])


@router.get(USERS, openapi_extra=returns(UserList))
async def list_users(ctx: Ctx) -> Response:
    return listing([user_body(u) for u in await ctx.call(directory.list_users)])


@router.put(USERS + "/{upn}", openapi_extra=json_body(UserBody) | returns(UserResource))
async def put_user(request: Request, upn: str, ctx: Ctx) -> Response:
    body = await read_body(request, UserBody)
    result = await ctx.call(directory.put_user, upn, body)
    return arm(user_body(result.resource), 201 if result.created else 200)


@router.get(USERS + "/{upn}", openapi_extra=returns(UserResource))
async def get_user(upn: str, ctx: Ctx) -> Response:
    return arm(user_body(await ctx.call(directory.get_user, upn)))


@router.delete(USERS + "/{upn}")
async def delete_user(upn: str, ctx: Ctx) -> Response:
    await ctx.call(directory.delete_user, upn)
    return deleted()


@router.get(SPS, openapi_extra=returns(ServicePrincipalList))
async def list_service_principals(ctx: Ctx) -> Response:
    tenant = await ctx.read(directory.tenant_id)
    found = await ctx.call(directory.list_service_principals)
    return listing([service_principal_body(sp, tenant) for sp in found])


@router.put(
    SPS + "/{app_id}", openapi_extra=json_body(ServicePrincipalBody) | returns(ServicePrincipalResource)
)
async def put_service_principal(request: Request, app_id: str, ctx: Ctx) -> Response:
    body = await read_body(request, ServicePrincipalBody)
    result = await ctx.call(directory.put_service_principal, app_id, body)
    tenant = await ctx.read(directory.tenant_id)
    return arm(service_principal_body(result.resource, tenant), 201 if result.created else 200)


@router.get(SPS + "/{app_id}", openapi_extra=returns(ServicePrincipalResource))
async def get_service_principal(app_id: str, ctx: Ctx) -> Response:
    found = await ctx.call(directory.get_service_principal, app_id)
    return arm(service_principal_body(found, await ctx.read(directory.tenant_id)))


@router.delete(SPS + "/{app_id}")
async def delete_service_principal(app_id: str, ctx: Ctx) -> Response:
    await ctx.call(directory.delete_service_principal, app_id)
    return deleted()


@router.post(
    SPS + "/{app_id}/addPassword", openapi_extra=json_body(AddPasswordBody) | returns(PasswordCredential)
)
async def add_password(request: Request, app_id: str, ctx: Ctx) -> Response:
    body = await read_body(request, AddPasswordBody)
    return arm(added_password_body(await ctx.call(directory.add_password, app_id, body)))
