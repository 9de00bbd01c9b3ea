"""The Model catalog: cards with search and filters, and a model's Details and Pricing and terms.

GET /studio/catalog?q=&task=&provider=&pricing=free|paid&region=&page=
    a GET form (works without JavaScript; htmx swaps only the results and pushes the URL)
GET /studio/catalog/{registry}/{model}?tab=details|pricing
    the model's Details (Model ID with a copy button, description, versions, license, context
    length) or its Pricing and terms (meters at their exact price, terms, regions), and
    Deploy → Serverless API (the deploy wizard, /studio/deploy?model=<id>)
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from maas.controlplane.services import catalog_browse
from maas.core.ids import ENDPOINT_TYPE
from maas.web import render
from maas.web.context import StudioDep

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 24
DEPLOY_ACTION = f"{ENDPOINT_TYPE}/write"
PRICING = {"": "Any", catalog_browse.FREE: "Free", catalog_browse.PAID: "Paid"}


def _page_number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and 0 < int(value) < 100_000 else 1


@router.get("/studio/catalog")
async def catalog(studio: StudioDep) -> Response:
    params = studio.request.query_params
    filters = {
        "q": params.get("q", "").strip()[: catalog_browse.MAX_TEXT],
        "task": params.get("task", "")[:128],
        "provider": params.get("provider", "")[:128],
        "pricing": params.get("pricing", "") if params.get("pricing", "") in PRICING else "",
        "region": params.get("region", "").strip().lower()[:64],
    }
    number = _page_number(params.get("page"))
    listing = await studio.read(
        catalog_browse.browse,
        text=filters["q"],
        task=filters["task"],
        provider=filters["provider"],
        pricing=filters["pricing"],
        region=filters["region"],
        offset=(number - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    kept = {k: v for k, v in filters.items() if v}
    workspace_region = (studio.workspace.location or "") if studio.workspace is not None else ""
    regions = sorted(set(listing.regions) | ({workspace_region} if workspace_region else set()))
    return render.page(
        studio,
        "catalog/list.html",
        nav="catalog",
        crumbs=[("Model catalog", None)],
        listing=listing,
        filters=filters,
        pricing_choices=PRICING,
        regions=regions,
        workspace_region=workspace_region,
        page_number=number,
        previous_url=f"/studio/catalog?{urlencode(kept | {'page': number - 1})}" if number > 1 else None,
        next_url=f"/studio/catalog?{urlencode(kept | {'page': number + 1})}" if listing.has_next else None,
        filtered=bool(kept),
    )


@router.get("/studio/catalog/{registry}/{model}")
async def model_details(registry: str, model: str, studio: StudioDep) -> Response:
    found = await studio.read(catalog_browse.details, registry, model)
    tab = "pricing" if studio.request.query_params.get("tab") == "pricing" else "details"
    entry = found.entry
    deploy_reason = ""
    if entry.offer is None:
        deploy_reason = "This model is not offered as a serverless API."
    elif studio.workspace is not None and not studio.can(DEPLOY_ACTION, studio.workspace.id):
        deploy_reason = f"You need {DEPLOY_ACTION} on the workspace {studio.workspace.name}."
    return render.page(
        studio,
        "catalog/details.html",
        nav="catalog",
        crumbs=[("Model catalog", "/studio/catalog"), (entry.display_name, None)],
        details=found,
        entry=entry,
        tab=tab,
        base=f"/studio/catalog/{entry.registry}/{entry.name}",
        deploy_url=f"/studio/deploy?{urlencode({'model': entry.model_id})}",
        deploy_reason=deploy_reason,
    )
