"""Routes: a deployment's quota, as an extension resource of the serverless endpoint.

`GET|PUT {endpoint id}/providers/Microsoft.MaaS/quotas/default` with
`{"properties": {"tokensPerMinute": N, "requestsPerMinute": M, "reason": "…"}}`; PUT is for
operators only (`Microsoft.MaaS/quotas/write` at `/`), GET for anyone who may read the endpoint.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from maas.controlplane.api.deps import Ctx, arm, json_body, read_body
from maas.controlplane.api.openapi import returns
from maas.controlplane.api.render import quota_body
from maas.controlplane.api.routes.endpoints import EP
from maas.controlplane.services import quotas
from maas.protocol.management.quotas import QuotaBody
from maas.protocol.management.resources import QuotaResource

router = APIRouter()
QUOTA = EP + "/providers/Microsoft.MaaS/quotas/default"


@router.get(QUOTA, openapi_extra=returns(QuotaResource))
async def get_quota(sub: str, rg: str, ws: str, name: str, ctx: Ctx) -> Response:
    return arm(quota_body(await ctx.call(quotas.get_quota, sub, rg, ws, name)))


@router.put(QUOTA, openapi_extra=json_body(QuotaBody) | returns(QuotaResource))
async def set_quota(request: Request, sub: str, rg: str, ws: str, name: str, ctx: Ctx) -> Response:
    body = await read_body(request, QuotaBody)
    return arm(quota_body(await ctx.call(quotas.set_quota, sub, rg, ws, name, body)))
