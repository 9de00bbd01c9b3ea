"""Routes: principals, role definitions and role assignments at any scope.

Scopes are `/` (written as the empty prefix), an account, a resource group or a workspace, e.g.
`PUT /subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/{guid}`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from maas.controlplane.api.deps import (
    Ctx,
    arm,
    deleted,
    json_body,
    listing,
    read_body,
    saved,
)
from maas.controlplane.api.openapi import returns
from maas.controlplane.api.render import assignment_body, issued_body, principal_body, role_definition_body
from maas.controlplane.services import access, role_definitions
from maas.protocol.management.access import PrincipalBody, RoleAssignmentBody, RoleDefinitionBody
from maas.protocol.management.resources import (
    PrincipalResource,
    RoleAssignmentList,
    RoleAssignmentResource,
    RoleDefinitionList,
    RoleDefinitionResource,
)

router = APIRouter()
RA = "/providers/Microsoft.Authorization/roleAssignments"
RD = "/providers/Microsoft.Authorization/roleDefinitions"


def _scope(scope: str) -> str:
    return "/" + scope.strip("/") if scope.strip("/") else "/"


PRINCIPAL = "/providers/Microsoft.MaaS/principals/{name}"


@router.put(PRINCIPAL, openapi_extra=json_body(PrincipalBody) | returns(PrincipalResource))
async def put_principal(request: Request, name: str, ctx: Ctx) -> Response:
    body = await read_body(request, PrincipalBody)
    issued = await ctx.call(access.put_principal, name, body)
    return arm(issued_body(issued), 201 if issued.created else 200)


@router.get(PRINCIPAL, openapi_extra=returns(PrincipalResource))
async def get_principal(name: str, ctx: Ctx) -> Response:
    return arm(principal_body(await ctx.call(access.get_principal, name)))


@router.get(RD, openapi_extra=returns(RoleDefinitionList))
@router.get("/{scope:path}" + RD, openapi_extra=returns(RoleDefinitionList))
async def list_role_definitions(ctx: Ctx, scope: str = "") -> Response:
    roles = await ctx.call(role_definitions.list_role_definitions, _scope(scope))
    return listing([role_definition_body(role) for role in roles])


@router.get(RD + "/{guid}", openapi_extra=returns(RoleDefinitionResource))
@router.get("/{scope:path}" + RD + "/{guid}", openapi_extra=returns(RoleDefinitionResource))
async def get_role_definition(guid: str, ctx: Ctx, scope: str = "") -> Response:
    return arm(
        role_definition_body(await ctx.call(role_definitions.get_role_definition, _scope(scope), guid))
    )


DEFINITION_PUT = json_body(RoleDefinitionBody) | returns(RoleDefinitionResource)


@router.put(RD + "/{guid}", openapi_extra=DEFINITION_PUT)
@router.put("/{scope:path}" + RD + "/{guid}", openapi_extra=DEFINITION_PUT)
async def put_role_definition(request: Request, guid: str, ctx: Ctx, scope: str = "") -> Response:
    """ARM answers 201 to every successful PUT of a role definition, update included."""
    body = await read_body(request, RoleDefinitionBody)
    result = await ctx.call(role_definitions.put_role_definition, _scope(scope), guid, body)
    return arm(role_definition_body(result.resource), 201)


@router.delete(RD + "/{guid}", openapi_extra=returns(RoleDefinitionResource))
@router.delete("/{scope:path}" + RD + "/{guid}", openapi_extra=returns(RoleDefinitionResource))
async def delete_role_definition(guid: str, ctx: Ctx, scope: str = "") -> Response:
    """200 with the deleted role, or 204 when there was none."""
    role = await ctx.call(role_definitions.delete_role_definition, _scope(scope), guid)
    return deleted() if role is None else arm(role_definition_body(role))


@router.get(RA, openapi_extra=returns(RoleAssignmentList))
@router.get("/{scope:path}" + RA, openapi_extra=returns(RoleAssignmentList))
async def list_assignments(ctx: Ctx, scope: str = "") -> Response:
    return listing([assignment_body(r) for r in await ctx.call(access.list_role_assignments, _scope(scope))])


ASSIGNMENT_PUT = json_body(RoleAssignmentBody) | returns(RoleAssignmentResource)


@router.put(RA + "/{name}", openapi_extra=ASSIGNMENT_PUT)
@router.put("/{scope:path}" + RA + "/{name}", openapi_extra=ASSIGNMENT_PUT)
async def put_assignment(request: Request, name: str, ctx: Ctx, scope: str = "") -> Response:
    body = await read_body(request, RoleAssignmentBody)
    return saved(await ctx.call(access.put_role_assignment, _scope(scope), name, body), assignment_body)


@router.get(RA + "/{name}", openapi_extra=returns(RoleAssignmentResource))
@router.get("/{scope:path}" + RA + "/{name}", openapi_extra=returns(RoleAssignmentResource))
async def get_assignment(name: str, ctx: Ctx, scope: str = "") -> Response:
    return arm(assignment_body(await ctx.call(access.get_role_assignment, _scope(scope), name)))


@router.delete(RA + "/{name}")
@router.delete("/{scope:path}" + RA + "/{name}")
async def delete_assignment(name: str, ctx: Ctx, scope: str = "") -> Response:
    await ctx.call(access.delete_role_assignment, _scope(scope), name)
    return deleted()
