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
    page_size,
    paged,
    read_body,
    rendered,
    rendered_list,
    saved,
    skiptoken,
)
from maas.controlplane.api.openapi import returns
from maas.controlplane.api.render import arm_body
from maas.controlplane.services import connections, workspaces
from maas.protocol.management.resources import ArmResource, ArmResourceList
from maas.protocol.management.workspaces import ConnectionBody, WorkspaceBody

router = APIRouter()
ML = "Microsoft.MachineLearningServices"
WS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/" + ML + "/workspaces/{ws}"
CONN = WS + "/connections/{name}"


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


@router.get(WS + "/connections", openapi_extra=returns(ArmResourceList))
async def list_connections(
    request: Request, sub: str, rg: str, ws: str, services: ServicesDep, caller: CallerDep
) -> Response:
    page = await call(
        connections.list_connections,
        services,
        caller,
        sub,
        rg,
        ws,
        skiptoken(request),
        page_size(request),
    )
    return paged(request, page)


@router.put(CONN, openapi_extra=json_body(ConnectionBody) | returns(ArmResource))
async def put_connection(
    request: Request,
    sub: str,
    rg: str,
    ws: str,
    name: str,
    services: ServicesDep,
    caller: CallerDep,
) -> Response:
    body = await read_body(request, ConnectionBody)
    return saved(await call(connections.put_connection, services, caller, sub, rg, ws, name, body))


@router.get(CONN, openapi_extra=returns(ArmResource))
async def get_connection(
    sub: str, rg: str, ws: str, name: str, services: ServicesDep, caller: CallerDep
) -> Response:
    return rendered(await call(connections.get_connection, services, caller, sub, rg, ws, name))


@router.post(CONN + "/listsecrets")
async def list_secrets(
    sub: str, rg: str, ws: str, name: str, services: ServicesDep, caller: CallerDep
) -> Response:
    found = await call(connections.list_secrets, services, caller, sub, rg, ws, name)
    body = arm_body(found.resource)
    body["properties"]["credentials"] = {"key": found.key}
    return arm(body)


@router.delete(CONN)
async def delete_connection(
    sub: str, rg: str, ws: str, name: str, services: ServicesDep, caller: CallerDep
) -> Response:
    await call(connections.delete_connection, services, caller, sub, rg, ws, name)
    return deleted()
