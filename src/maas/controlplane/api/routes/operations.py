"""Routes: long-running operation status and results, and the SaaS resources and marketplace
agreements of subscriptions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from maas.controlplane.api.deps import (
    Ctx,
    arm,
    deleted,
    rendered,
    rendered_list,
)
from maas.controlplane.api.errors import arm_error
from maas.controlplane.api.openapi import returns
from maas.controlplane.api.render import operation_body
from maas.controlplane.services import marketplace, operations, saas
from maas.protocol.management.resources import ArmResource, ArmResourceList, OperationStatus

router = APIRouter()
LOC = "/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/locations/{location}"


@router.get(LOC + "/mfeOperationsStatus/{operation}", openapi_extra=returns(OperationStatus))
async def operation_status(sub: str, location: str, operation: str, ctx: Ctx) -> Response:
    record = await ctx.call(operations.get_operation, operation)
    # Without Retry-After, azure-core waits 30 s before polling again.
    return arm(
        operation_body(record), headers={"Retry-After": "1"} if record.status == "InProgress" else None
    )


@router.get(LOC + "/mfeOperationResults/{operation}")
async def operation_result(
    request: Request,
    sub: str,
    location: str,
    operation: str,
    ctx: Ctx,
) -> Response:
    record = await ctx.call(operations.get_operation, operation)
    if record.status == "InProgress":
        return Response(status_code=202, headers={"Location": str(request.url), "Retry-After": "1"})
    if record.status == "Succeeded":
        return Response(status_code=204)
    error = record.error or {}
    return arm_error(400, error.get("code", "OperationFailed"), error.get("message", "The operation failed."))


@router.get(
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.SaaS/resources",
    openapi_extra=returns(ArmResourceList),
)
async def list_saas(sub: str, rg: str, ctx: Ctx) -> Response:
    return rendered_list(await ctx.call(saas.list_saas, sub, rg))


@router.get(
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.SaaS/resources/{name}",
    openapi_extra=returns(ArmResource),
)
async def get_saas(sub: str, rg: str, name: str, ctx: Ctx) -> Response:
    return rendered(await ctx.call(saas.get_saas, sub, rg, name))


@router.delete("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.SaaS/resources/{name}")
async def delete_saas(sub: str, rg: str, name: str, ctx: Ctx) -> Response:
    await ctx.call(saas.delete_saas, sub, rg, name)
    return deleted()


AGREEMENTS = "/subscriptions/{sub}/providers/Microsoft.MarketplaceOrdering/agreements"


@router.get(AGREEMENTS, openapi_extra=returns(ArmResourceList))
async def list_agreements(sub: str, ctx: Ctx) -> Response:
    return rendered_list(await ctx.call(marketplace.list_agreements, sub))


@router.get(
    AGREEMENTS + "/{publisher}/offers/{offer}/plans/{plan}",
    openapi_extra=returns(ArmResource),
)
async def get_agreement(sub: str, publisher: str, offer: str, plan: str, ctx: Ctx) -> Response:
    return rendered(await ctx.call(marketplace.get_agreement, sub, publisher, offer, plan))
