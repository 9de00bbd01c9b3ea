"""Route: Azure Cost Management's query, `POST {scope}/providers/Microsoft.CostManagement/query`.

Any api-version is accepted (clients send 2019-11-01 to 2023-11-01; the body is the same). The
scope is an account, resource group, workspace, serverless endpoint or SaaS resource id; the
work, checks included, is `maas.billing.costs.query_costs`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from maas.billing import costs
from maas.controlplane.api.deps import Ctx, arm, json_body, read_body
from maas.protocol.management.costs import QueryDefinition

router = APIRouter()


@router.post(
    "/{scope:path}/providers/Microsoft.CostManagement/query", openapi_extra=json_body(QueryDefinition)
)
async def query(request: Request, scope: str, ctx: Ctx) -> Response:
    body = await read_body(request, QueryDefinition)
    return arm(await ctx.call(costs.query_costs, scope, body))
