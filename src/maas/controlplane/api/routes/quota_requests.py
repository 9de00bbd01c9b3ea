"""Routes: quota increase requests, extension resources of the serverless endpoint.

    PUT  {endpoint id}/providers/Microsoft.MaaS/quotaRequests/{name}          file one (201)
    GET  {endpoint id}/providers/Microsoft.MaaS/quotaRequests/{name}          its status and history
    POST {endpoint id}/providers/Microsoft.MaaS/quotaRequests/{name}/cancel   the requester's
    POST …/{name}/approve | …/{name}/deny                                     the operator's
    GET  {scope}/providers/Microsoft.MaaS/quotaRequests[?$filter=status eq 'Pending']

`{scope}` is the root (`/providers/…`: what the caller may read everywhere, so an operator's
queue), an account, a resource group, a workspace or an endpoint. Listings go newest first and
page with `$top` and `nextLink`. The rules are `maas.controlplane.services.quota_requests`'.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from maas.controlplane.api.deps import (
    Ctx,
    arm,
    json_body,
    page_size,
    read_body,
    read_optional_body,
    saved,
    services_of,
)
from maas.controlplane.api.openapi import returns
from maas.controlplane.api.render import quota_request_body
from maas.controlplane.api.routes.children import WS
from maas.controlplane.api.routes.endpoints import EP
from maas.controlplane.services import quota_requests as service
from maas.controlplane.services.quota_requests import RequestPage
from maas.controlplane.services.quotas import endpoint_id
from maas.controlplane.store.quota_requests import RequestScope
from maas.core.errors import BadRequest
from maas.protocol.management.quota_requests import (
    QuotaRequestActionBody,
    QuotaRequestBody,
    parse_status_filter,
)
from maas.protocol.management.resources import QuotaRequestList, QuotaRequestResource

router = APIRouter()
REQUESTS = "/providers/Microsoft.MaaS/quotaRequests"
ITEM = EP + REQUESTS + "/{request_name}"
FILTER_HELP = "Optional: status eq 'Pending' (or 'Approved', 'Denied', 'Cancelled')."
Filter = Annotated[str | None, Query(alias="$filter", description=FILTER_HELP)]


# -- one request ---------------------------------------------------------------------------------
@router.put(ITEM, openapi_extra=json_body(QuotaRequestBody) | returns(QuotaRequestResource))
async def put_request(
    request: Request, sub: str, rg: str, ws: str, name: str, request_name: str, ctx: Ctx
) -> Response:
    body = await read_body(request, QuotaRequestBody)
    result = await ctx.call(service.put_request, sub, rg, ws, name, request_name, body)
    return saved(result, quota_request_body)


@router.get(ITEM, openapi_extra=returns(QuotaRequestResource))
async def get_request(sub: str, rg: str, ws: str, name: str, request_name: str, ctx: Ctx) -> Response:
    return arm(quota_request_body(await ctx.call(service.get_request, sub, rg, ws, name, request_name)))


def _action(verb: str, call: Any) -> None:
    @router.post(
        f"{ITEM}/{verb}",
        openapi_extra=json_body(QuotaRequestActionBody, required=False) | returns(QuotaRequestResource),
        name=f"{verb}_quota_request",
    )
    async def act(
        request: Request, sub: str, rg: str, ws: str, name: str, request_name: str, ctx: Ctx
    ) -> Response:
        body = await read_optional_body(request, QuotaRequestActionBody)
        return arm(quota_request_body(await ctx.call(call, sub, rg, ws, name, request_name, body)))


_action("cancel", service.cancel_request)
_action("approve", service.approve_request)
_action("deny", service.deny_request)


# -- listings ------------------------------------------------------------------------------------
def _before(request: Request) -> int | None:
    """The `seq` a page resumes below; tokens are ones `_listing` wrote (base64 of `seq:N`)."""
    token = request.query_params.get("$skiptoken")
    if token is None:
        return None
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        text = ""
    prefix, _, seq = text.partition(":")
    if prefix != "seq" or not seq.isdigit() or len(seq) > 19:
        raise BadRequest("The $skiptoken is not valid; start the listing again.", target="$skiptoken")
    return int(seq)


async def _listing(request: Request, ctx: Ctx, scope: RequestScope, filter_: str | None) -> Response:
    status = parse_status_filter(filter_)
    page: RequestPage = await ctx.call(
        service.list_requests, scope, status, _before(request), page_size(request)
    )
    body: dict[str, Any] = {"value": [quota_request_body(r) for r in page.items]}
    if page.next_seq is not None:
        params = {k: v for k, v in request.query_params.items() if k != "$skiptoken"}
        params["$skiptoken"] = base64.urlsafe_b64encode(f"seq:{page.next_seq}".encode()).decode().rstrip("=")
        body["nextLink"] = f"{services_of(request).settings.base_url}{request.url.path}?{urlencode(params)}"
    return arm(body)


LISTED = returns(QuotaRequestList)


@router.get(REQUESTS, openapi_extra=LISTED)
async def list_everywhere(request: Request, ctx: Ctx, filter_: Filter = None) -> Response:
    return await _listing(request, ctx, RequestScope(), filter_)


@router.get("/subscriptions/{sub}" + REQUESTS, openapi_extra=LISTED)
async def list_in_account(request: Request, sub: str, ctx: Ctx, filter_: Filter = None) -> Response:
    return await _listing(request, ctx, RequestScope(sub), filter_)


@router.get("/subscriptions/{sub}/resourceGroups/{rg}" + REQUESTS, openapi_extra=LISTED)
async def list_in_group(request: Request, sub: str, rg: str, ctx: Ctx, filter_: Filter = None) -> Response:
    return await _listing(request, ctx, RequestScope(sub, rg), filter_)


@router.get(WS + REQUESTS, openapi_extra=LISTED)
async def list_in_workspace(
    request: Request, sub: str, rg: str, ws: str, ctx: Ctx, filter_: Filter = None
) -> Response:
    return await _listing(request, ctx, RequestScope(sub, rg, ws), filter_)


@router.get(EP + REQUESTS, openapi_extra=LISTED)
async def list_at_endpoint(
    request: Request, sub: str, rg: str, ws: str, name: str, ctx: Ctx, filter_: Filter = None
) -> Response:
    scope = RequestScope(sub, rg, ws, endpoint_id(sub, rg, ws, name))
    return await _listing(request, ctx, scope, filter_)
