"""Routes: workspaces, their discovery document and their connections."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from maas.controlplane.api.deps import (
    Ctx,
    ServicesDep,
    arm,
    deleted,
    json_body,
    read_body,
    rendered,
    rendered_list,
    saved,
)
from maas.controlplane.api.openapi import returns
from maas.controlplane.api.render import arm_body
from maas.controlplane.api.routes.children import ChildService, add_child_routes
from maas.controlplane.services import connections, workspaces
from maas.protocol.management import kinds
from maas.protocol.management.resources import ArmResource, ArmResourceList
from maas.protocol.management.workspaces import WorkspaceBody

router = APIRouter()
ML = "Microsoft.MachineLearningServices"
WS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/" + ML + "/workspaces/{ws}"


@router.get(workspaces.DISCOVERY_PATH)
async def discovery(services: ServicesDep) -> Response:
    """The document every workspace's `discoveryUrl` points at (public, as Azure's is)."""
    return arm(workspaces.discovery_document(services))


@router.get("/subscriptions/{sub}/providers/" + ML + "/workspaces", openapi_extra=returns(ArmResourceList))
async def list_in_account(sub: str, ctx: Ctx) -> Response:
    return rendered_list(await ctx.call(workspaces.list_workspaces, sub, None))


@router.get(
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/" + ML + "/workspaces",
    openapi_extra=returns(ArmResourceList),
)
async def list_in_group(sub: str, rg: str, ctx: Ctx) -> Response:
    return rendered_list(await ctx.call(workspaces.list_workspaces, sub, rg))


@router.put(WS, openapi_extra=json_body(WorkspaceBody) | returns(ArmResource))
async def put_workspace(request: Request, sub: str, rg: str, ws: str, ctx: Ctx) -> Response:
    body = await read_body(request, WorkspaceBody)
    return saved(await ctx.call(workspaces.put_workspace, sub, rg, ws, body))


@router.get(WS, openapi_extra=returns(ArmResource))
async def get_workspace(sub: str, rg: str, ws: str, ctx: Ctx) -> Response:
    return rendered(await ctx.call(workspaces.get_workspace, sub, rg, ws))


@router.delete(WS)
async def delete_workspace(sub: str, rg: str, ws: str, ctx: Ctx) -> Response:
    await ctx.call(workspaces.delete_workspace, sub, rg, ws)
    return deleted()


CONN = add_child_routes(
    router,
    ChildService(
        kinds.CONNECTION,
        list=connections.list_connections,
        get=connections.get_connection,
        put=connections.put_connection,
        delete=connections.delete_connection,
    ),
)


@router.post(CONN + "/listsecrets")
async def list_secrets(sub: str, rg: str, ws: str, name: str, ctx: Ctx) -> Response:
    found = await ctx.call(connections.list_secrets, sub, rg, ws, name)
    body = arm_body(found.resource)
    body["properties"]["credentials"] = {"key": found.key}
    return arm(body)
