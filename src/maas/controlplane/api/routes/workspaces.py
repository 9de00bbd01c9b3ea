"""Routes: workspaces, their discovery document and their connections."""

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
async def list_in_account(sub: str, services: ServicesDep, caller: CallerDep) -> Response:
    return rendered_list(await call(workspaces.list_workspaces, services, caller, sub, None))


@router.get(
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/" + ML + "/workspaces",
    openapi_extra=returns(ArmResourceList),
)
async def list_in_group(sub: str, rg: str, services: ServicesDep, caller: CallerDep) -> Response:
    return rendered_list(await call(workspaces.list_workspaces, services, caller, sub, rg))


@router.put(WS, openapi_extra=json_body(WorkspaceBody) | returns(ArmResource))
async def put_workspace(
    request: Request, sub: str, rg: str, ws: str, services: ServicesDep, caller: CallerDep
) -> Response:
    body = await read_body(request, WorkspaceBody)
    return saved(await call(workspaces.put_workspace, services, caller, sub, rg, ws, body))


@router.get(WS, openapi_extra=returns(ArmResource))
async def get_workspace(sub: str, rg: str, ws: str, services: ServicesDep, caller: CallerDep) -> Response:
    return rendered(await call(workspaces.get_workspace, services, caller, sub, rg, ws))


@router.delete(WS)
async def delete_workspace(sub: str, rg: str, ws: str, services: ServicesDep, caller: CallerDep) -> Response:
    await call(workspaces.delete_workspace, services, caller, sub, rg, ws)
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
async def list_secrets(
    sub: str, rg: str, ws: str, name: str, services: ServicesDep, caller: CallerDep
) -> Response:
    found = await call(connections.list_secrets, services, caller, sub, rg, ws, name)
    body = arm_body(found.resource)
    body["properties"]["credentials"] = {"key": found.key}
    return arm(body)
