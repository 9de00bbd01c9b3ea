"""Routes: template deployments at a resource group (`Microsoft.Resources/deployments`).

PUT answers 201 (new) or 200 (redeployed) once the deployment has run, with
`properties.provisioningState` Succeeded or Failed (and `properties.error`); a template that does
not validate is a 400 and records nothing. DELETE removes only the record (204).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from maas.controlplane.api.deps import (
    Ctx,
    arm,
    deleted,
    json_body,
    read_body,
    rendered,
    rendered_list,
    saved,
)
from maas.controlplane.api.openapi import returns
from maas.controlplane.services import deployments
from maas.protocol.management.deployments import DeploymentBody
from maas.protocol.management.resources import ArmResource, ArmResourceList

router = APIRouter()
DEPLOYMENTS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Resources/deployments"


@router.get(DEPLOYMENTS, openapi_extra=returns(ArmResourceList))
async def list_deployments(sub: str, rg: str, ctx: Ctx) -> Response:
    return rendered_list(await ctx.call(deployments.list_deployments, sub, rg))


@router.put(DEPLOYMENTS + "/{name}", openapi_extra=json_body(DeploymentBody) | returns(ArmResource))
async def put_deployment(request: Request, sub: str, rg: str, name: str, ctx: Ctx) -> Response:
    body = await read_body(request, DeploymentBody)
    return saved(await ctx.call(deployments.put_deployment, sub, rg, name, body))


@router.post(DEPLOYMENTS + "/{name}/validate", openapi_extra=json_body(DeploymentBody))
async def validate_deployment(request: Request, sub: str, rg: str, name: str, ctx: Ctx) -> Response:
    body = await read_body(request, DeploymentBody)
    return arm(await ctx.call(deployments.validate_deployment, sub, rg, name, body))


@router.get(DEPLOYMENTS + "/{name}", openapi_extra=returns(ArmResource))
async def get_deployment(sub: str, rg: str, name: str, ctx: Ctx) -> Response:
    return rendered(await ctx.call(deployments.get_deployment, sub, rg, name))


@router.delete(DEPLOYMENTS + "/{name}")
async def delete_deployment(sub: str, rg: str, name: str, ctx: Ctx) -> Response:
    await ctx.call(deployments.delete_deployment, sub, rg, name)
    return deleted()
