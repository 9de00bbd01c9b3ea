"""Routes: principals, role definitions and role assignments at any scope.

Scopes are `/` (written as the empty prefix), an account, a resource group or a workspace, e.g.
`PUT /subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/{guid}`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from maas.controlplane.api.deps import (
    CallerDep,
    Ctx,
    arm,
    deleted,
    json_body,
    listing,
    put_response,
    read_body,
)
from maas.controlplane.services import access
from maas.core.errors import NotFound
from maas.protocol.management.access import PrincipalBody, RoleAssignmentBody

router = APIRouter()
RA = "/providers/Microsoft.Authorization/roleAssignments"
RD = "/providers/Microsoft.Authorization/roleDefinitions"


def _scope(scope: str) -> str:
    return "/" + scope.strip("/") if scope.strip("/") else "/"


@router.put("/providers/Microsoft.MaaS/principals/{name}", openapi_extra=json_body(PrincipalBody))
async def put_principal(request: Request, name: str, ctx: Ctx) -> Response:
    body = await read_body(request, PrincipalBody)
    return put_response(*await ctx.call(access.put_principal, name, body))


@router.get("/providers/Microsoft.MaaS/principals/{name}")
async def get_principal(name: str, ctx: Ctx) -> Response:
    return arm(await ctx.call(access.get_principal, name))


@router.get(RD)
@router.get("/{scope:path}" + RD)
async def list_role_definitions(_caller: CallerDep, scope: str = "") -> Response:
    return listing(access.role_definitions())


@router.get(RD + "/{guid}")
@router.get("/{scope:path}" + RD + "/{guid}")
async def get_role_definition(guid: str, _caller: CallerDep, scope: str = "") -> Response:
    for role in access.role_definitions():
        if role["name"].lower() == guid.lower():
            return arm(role)
    raise NotFound(f"The role definition '{guid}' does not exist.", code="RoleDefinitionDoesNotExist")


@router.get(RA)
@router.get("/{scope:path}" + RA)
async def list_assignments(ctx: Ctx, scope: str = "") -> Response:
    return listing(await ctx.call(access.list_role_assignments, _scope(scope)))


@router.put(RA + "/{name}", openapi_extra=json_body(RoleAssignmentBody))
@router.put("/{scope:path}" + RA + "/{name}", openapi_extra=json_body(RoleAssignmentBody))
async def put_assignment(request: Request, name: str, ctx: Ctx, scope: str = "") -> Response:
    body = await read_body(request, RoleAssignmentBody)
    return put_response(*await ctx.call(access.put_role_assignment, _scope(scope), name, body))


@router.get(RA + "/{name}")
@router.get("/{scope:path}" + RA + "/{name}")
async def get_assignment(name: str, ctx: Ctx, scope: str = "") -> Response:
    return arm(await ctx.call(access.get_role_assignment, _scope(scope), name))


@router.delete(RA + "/{name}")
@router.delete("/{scope:path}" + RA + "/{name}")
async def delete_assignment(name: str, ctx: Ctx, scope: str = "") -> Response:
    await ctx.call(access.delete_role_assignment, _scope(scope), name)
    return deleted()
