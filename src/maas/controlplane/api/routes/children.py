"""Routes every kind that lives in a workspace has alike, made from its entry in the kinds registry:
list (paged), get, and — where the kind's PUT and DELETE are plain — create-or-update and delete.

`/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/
workspaces/{ws}/{collection}[/{name}]`. A kind with more to say (an endpoint's PUT and DELETE
start long-running operations) writes those routes itself beside these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from maas.controlplane.api.deps import (
    Ctx,
    deleted,
    json_body,
    page_size,
    paged,
    read_body,
    rendered,
    saved,
    skiptoken,
)
from maas.controlplane.api.openapi import returns
from maas.protocol.management.kinds import Kind
from maas.protocol.management.resources import ArmResource, ArmResourceList

WS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws}"


@dataclass(frozen=True)
class ChildService:
    """A workspace child kind's service calls, all taking (services, caller, sub, rg, ws, …)."""

    kind: Kind
    list: Callable[..., Any]
    get: Callable[..., Any]
    put: Callable[..., Any] | None = None
    delete: Callable[..., Any] | None = None


def add_child_routes(router: APIRouter, service: ChildService) -> str:
    """Add the kind's routes to `router`; returns the path of one item (`…/{name}`)."""
    kind = service.kind
    collection = f"{WS}/{kind.collection}"
    item = collection + "/{name}"
    slug = kind.collection

    @router.get(collection, openapi_extra=returns(ArmResourceList), name=f"list_{slug}")
    async def list_children(request: Request, sub: str, rg: str, ws: str, ctx: Ctx) -> Response:
        after, limit = skiptoken(request), page_size(request)
        return paged(request, await ctx.call(service.list, sub, rg, ws, after, limit))

    @router.get(item, openapi_extra=returns(ArmResource), name=f"get_{slug}")
    async def get_child(sub: str, rg: str, ws: str, name: str, ctx: Ctx) -> Response:
        return rendered(await ctx.call(service.get, sub, rg, ws, name))

    put, delete, body_model = service.put, service.delete, kind.body
    if put is not None and body_model is not None:

        @router.put(item, openapi_extra=json_body(body_model) | returns(ArmResource), name=f"put_{slug}")
        async def put_child(request: Request, sub: str, rg: str, ws: str, name: str, ctx: Ctx) -> Response:
            body = await read_body(request, body_model)
            return saved(await ctx.call(put, sub, rg, ws, name, body))

    if delete is not None:

        @router.delete(item, name=f"delete_{slug}")
        async def delete_child(sub: str, rg: str, ws: str, name: str, ctx: Ctx) -> Response:
            await ctx.call(delete, sub, rg, ws, name)
            return deleted()

    return item
