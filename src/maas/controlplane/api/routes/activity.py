"""Routes: the activity log, as Azure Monitor's `eventtypes/management/values` listing."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from maas.controlplane.api.deps import Ctx, arm, page_size, services_of
from maas.controlplane.api.openapi import returns
from maas.controlplane.api.render import event_body
from maas.controlplane.domain.activity import EventQuery
from maas.controlplane.services import activity
from maas.core.clock import utcnow
from maas.core.errors import BadRequest
from maas.protocol.management.activity import parse_filter
from maas.protocol.management.resources import EventDataList

router = APIRouter()
FILTER_HELP = (
    "Required: eventTimestamp ge '<start>' [and eventTimestamp le '<end>'] (at most 90 days), and "
    "optionally resourceGroupName, resourceUri, correlationId or caller eq '<value>'."
)


def _before(request: Request) -> int | None:
    """The `seq` a page resumes below; tokens are ones this route wrote (base64 of `seq:N`)."""
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


@router.get(
    "/subscriptions/{sub}/providers/Microsoft.Insights/eventtypes/management/values",
    openapi_extra=returns(EventDataList),
)
async def list_activity_log(
    request: Request,
    sub: str,
    ctx: Ctx,
    filter_: Annotated[str | None, Query(alias="$filter", description=FILTER_HELP)] = None,
) -> Response:
    found = parse_filter(filter_, utcnow())
    query = EventQuery(
        sub,
        found.start,
        found.end,
        resource_group=found.resource_group,
        resource_id=found.resource_uri,
        correlation_id=found.correlation_id,
        caller=found.caller,
    )
    page = await ctx.call(activity.list_events, query, _before(request), page_size(request))
    body: dict[str, Any] = {"value": [event_body(e, page.tenant) for e in page.items]}
    if page.next_token is not None:
        params = {k: v for k, v in request.query_params.items() if k != "$skiptoken"}
        params["$skiptoken"] = (
            base64.urlsafe_b64encode(f"seq:{page.next_token}".encode()).decode().rstrip("=")
        )
        body["nextLink"] = f"{services_of(request).settings.base_url}{request.url.path}?{urlencode(params)}"
    return arm(body)
