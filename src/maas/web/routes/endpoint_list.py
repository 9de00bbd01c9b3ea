"""Endpoints (left sidebar), tab Serverless endpoints: the workspace's serverless API endpoints.

GET /studio/endpoints?skiptoken=&top=
    name (a link to the endpoint's page /studio/endpoints/{name}), model, state (Succeeded, or the
    endpoint's own state when it says more: Unhealthy once its marketplace subscription is
    deleted, Suspended, CreationFailed), created. One page at a time through the endpoints
    service's keyed listing (`top` rows after the `skiptoken` key, the API's $skiptoken/$top),
    so a workspace with thousands of endpoints costs one page's query; an empty workspace says
    where to start (the Model catalog).
"""

from __future__ import annotations

import base64
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from maas.controlplane.domain.resources import Resource
from maas.controlplane.services import endpoints
from maas.core.errors import MaasError
from maas.web import render
from maas.web.context import StudioDep, in_words
from maas.web.routes.deploy import shown_state, workspace_place

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
MAX_PAGE = 500
BAD_TOKEN = "That page link is no longer valid (or was changed by hand): this is the first page again."


def encode_token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_token(token: str) -> str | None:
    """The resource key a page resumes after, from a token `encode_token` wrote; None if it is
    not one (the same rule as the API's $skiptoken: a lower-case resource key)."""
    try:
        padded = token.encode("ascii") + b"=" * (-len(token) % 4)
        key = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeError):
        return None
    if not key.startswith("/") or not key.isprintable() or key != key.lower():
        return None
    return key


def _top(value: str | None) -> int:
    return int(value) if value and value.isdigit() and 1 <= int(value) <= MAX_PAGE else PAGE_SIZE


def _model(resource: Resource) -> str:
    return str(resource.properties.get("modelSettings", {}).get("modelId", ""))


@router.get("/studio/endpoints")
async def serverless_endpoints(studio: StudioDep) -> Response:
    workspace = studio.need_workspace()
    place = workspace_place(workspace)
    params = studio.request.query_params
    top = _top(params.get("top"))
    token = params.get("skiptoken", "")[:2048]
    after = decode_token(token) if token else None
    alert = BAD_TOKEN if token and after is None else ""
    rows: list[Resource] = []
    next_url = None
    try:
        page = await studio.call(endpoints.list_endpoints, place.sub, place.rg, place.ws, after, top)
    except MaasError as error:
        alert = in_words(error)
    else:
        rows = page.items
        if page.next_token is not None:
            kept = {"top": str(top)} if top != PAGE_SIZE else {}
            next_url = f"/studio/endpoints?{urlencode(kept | {'skiptoken': encode_token(page.next_token)})}"
    first_url = "/studio/endpoints" + (f"?{urlencode({'top': top})}" if top != PAGE_SIZE else "")
    return render.page(
        studio,
        "endpoint_list/list.html",
        nav="endpoints",
        crumbs=[("Endpoints", None)],
        rows=[(r, _model(r), shown_state(r)) for r in rows],
        alert=alert,
        place=place,
        paged=after is not None,
        first_url=first_url,
        next_url=next_url,
    )
