"""An endpoint's page (Endpoints → a serverless endpoint), in the chosen workspace.

GET  /studio/endpoints/{name}?tab=details|consume|playground
        Details: name, model, state, created; the Target URI (copy button) and the Key (hidden
        until shown); live quota (tokens and requests left this minute, refreshed by htmx); usage
        of the last 24 hours (a uPlot chart, and the same numbers as a table). Consume: snippets
        (openai, azure-ai-inference, curl, LangChain) with the Target URI filled in and the key
        read from an environment variable. Playground: routes/playground.py.
POST /studio/endpoints/{name}/keys          listKeys as the signed-in person: the keys section
                                            (htmx) or the page with the keys shown (no JS)
POST /studio/endpoints/{name}/regenerate    key_type=primary|secondary; without confirmed=yes the
                                            confirm page (no JS), with it the regenerated keys
POST /studio/endpoints/{name}/delete        the same confirm step, then back to /studio/endpoints
GET  /studio/endpoints/{name}/quota         the live quota fragment htmx polls

Every action is the API's service as the signed-in caller; a control the caller may not use is
disabled with the action it needs, and a refusal inside a page is an alert in words.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from maas.billing import costs
from maas.controlplane.domain.resources import Resource
from maas.controlplane.services import endpoints, playground, quotas
from maas.controlplane.services.context import LiveQuota
from maas.controlplane.services.playground import EndpointFacts
from maas.core.clock import utcnow
from maas.core.errors import MaasError
from maas.protocol.management.costs import QueryDefinition
from maas.protocol.management.endpoints import KeyType, RegenerateKeysBody
from maas.protocol.management.naming import ResourceKind, validate_name
from maas.web import render
from maas.web.context import Studio, StudioDep, StudioFormDep, in_words
from maas.web.playground import default_settings, form_text, max_tokens_limit
from maas.web.snippets import snippets_for

router = APIRouter(include_in_schema=False)

TABS = ("details", "consume", "playground")
ACTION = endpoints.ACTION
LIST_KEYS = f"{ACTION}/listKeys/action"
REGENERATE = f"{ACTION}/regenerateKeys/action"
DELETE = f"{ACTION}/delete"
QUOTA_REFRESH_SECONDS = 5
USAGE_HOURS = 24
KEY_TYPES = {"primary": KeyType.PRIMARY, "secondary": KeyType.SECONDARY}


@dataclass(frozen=True)
class Where:
    sub: str
    rg: str
    ws: str

    @property
    def args(self) -> tuple[str, str, str]:
        return self.sub, self.rg, self.ws


def where(studio: Studio) -> Where:
    parts = studio.need_workspace().id.strip("/").split("/")
    return Where(parts[1], parts[3], parts[7])


def base_url(name: str) -> str:
    return f"/studio/endpoints/{quote(name, safe='')}"


# -- quota --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuotaView:
    tokens_per_minute: int
    requests_per_minute: int
    default: bool
    live: LiveQuota | None


async def quota_view(studio: Studio, place: Where, name: str) -> QuotaView:
    state = await studio.call(quotas.get_quota, *place.args, name)
    live = await quotas.live_quota(studio.services, state)
    return QuotaView(state.tokens_per_minute, state.requests_per_minute, state.default, live)


# -- usage of the last 24 hours ------------------------------------------------------------------
@dataclass
class UsageHour:
    at: int  # unix seconds of the hour's start
    label: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = Decimal(0)


@dataclass
class UsageView:
    hours: list[UsageHour] = field(default_factory=list)
    currency: str = "USD"
    reason: str = ""  # why it is not shown

    @property
    def total_tokens(self) -> int:
        return sum(h.input_tokens + h.output_tokens for h in self.hours)

    @property
    def total_cost(self) -> Decimal:
        return sum((h.cost for h in self.hours), Decimal(0))

    @property
    def chart(self) -> str:
        """What static/endpoint.js draws: hours (unix seconds) and tokens in and out per hour."""
        return json.dumps(
            {
                "x": [h.at for h in self.hours],
                "input": [h.input_tokens for h in self.hours],
                "output": [h.output_tokens for h in self.hours],
            },
            separators=(",", ":"),
        )


async def usage_view(studio: Studio, endpoint: Resource) -> UsageView:
    """Tokens per hour of the last 24 hours (this hour included), from the Cost Management query
    the API answers (hourly running totals of the metered usage), grouped by meter."""
    if not studio.can(costs.QUERY_ACTION, endpoint.id):
        return UsageView(reason=f"You need {costs.QUERY_ACTION} on this endpoint to see its usage.")
    now = utcnow()
    first = (now - timedelta(hours=USAGE_HOURS - 1)).replace(minute=0, second=0, microsecond=0)
    body = QueryDefinition.model_validate(
        {
            "type": "Usage",
            "timeframe": "Custom",
            "timePeriod": {"from": first.isoformat(), "to": now.isoformat()},
            "dataset": {
                "granularity": "Hourly",
                "aggregation": {
                    "totalCost": {"name": "PreTaxCost", "function": "Sum"},
                    "quantity": {"name": "UsageQuantity", "function": "Sum"},
                },
                "grouping": [{"type": "Dimension", "name": "MeterId"}],
            },
        }
    )
    try:
        result = await studio.call(costs.query_costs, endpoint.id, body)
    except MaasError as error:
        return UsageView(reason=in_words(error))
    hours = [
        UsageHour(int((first + timedelta(hours=i)).timestamp()), f"{first + timedelta(hours=i):%H:00}")
        for i in range(USAGE_HOURS)
    ]
    by_label = {f"{(first + timedelta(hours=i)):%Y-%m-%dT%H:00:00Z}": hours[i] for i in range(USAGE_HOURS)}
    names = [c["name"] for c in result["properties"]["columns"]]
    view = UsageView(hours)
    for row in result["properties"]["rows"]:
        values = dict(zip(names, row, strict=True))
        hour = by_label.get(str(values.get("UsageHour")))
        if hour is None:
            continue
        quantity = int(values.get("UsageQuantity") or 0)
        if "output" in str(values.get("MeterId", "")).lower():
            hour.output_tokens += quantity
        else:
            hour.input_tokens += quantity
        hour.cost += Decimal(repr(float(values.get("PreTaxCost") or 0)))
        view.currency = str(values.get("Currency") or view.currency)
    return view


# -- the page -----------------------------------------------------------------------------------
def _state(endpoint: Resource) -> str:
    endpoint_state = str(endpoint.properties.get("endpointState") or "")
    if endpoint_state in ("Unhealthy", "Suspended", "CreationFailed", "Deleting"):
        return endpoint_state
    return str(endpoint.provisioning_state)


async def endpoint_page(
    studio: Studio,
    name: str,
    tab: str,
    *,
    status: int = 200,
    keys: dict[str, str] | None = None,
    alert: str = "",
    alert_kind: str = "error",
    **values: Any,
) -> HTMLResponse:
    """The endpoint's page on `tab`, as the signed-in caller may see it."""
    validate_name(ResourceKind.SERVERLESS_ENDPOINT, name)
    place = where(studio)
    found: EndpointFacts = await studio.call(playground.facts, *place.args, name)
    endpoint = found.endpoint
    rid = endpoint.id
    quota = await quota_view(studio, place, name) if tab == "details" else None
    usage = await usage_view(studio, endpoint) if tab == "details" else None
    model_name = found.model_id.rsplit("/", 1)[-1]
    values.setdefault("conversation", [])
    values.setdefault("settings", default_settings(found))
    values.setdefault("embedded", None)
    values.setdefault("playground_error", "")
    return render.page(
        studio,
        "endpoint/page.html",
        nav="endpoints",
        status=status,
        crumbs=[("Endpoints", "/studio/endpoints"), (endpoint.name, None)],
        ep=endpoint,
        facts=found,
        state=_state(endpoint),
        tab=tab,
        base=base_url(endpoint.name),
        keys=keys,
        alert=alert,
        alert_kind=alert_kind,
        quota=quota,
        refresh=QUOTA_REFRESH_SECONDS,
        usage=usage,
        snippets=snippets_for(found.target_uri, model_name, found.is_embeddings) if tab == "consume" else [],
        model_name=model_name,
        max_tokens_limit=max_tokens_limit(found),
        show_reason="" if studio.can(LIST_KEYS, rid) else f"You need {LIST_KEYS} on this endpoint.",
        regenerate_reason="" if studio.can(REGENERATE, rid) else f"You need {REGENERATE} on this endpoint.",
        delete_reason="" if studio.can(DELETE, rid) else f"You need {DELETE} on this endpoint.",
        call_reason=playground.call_reason(studio.caller, rid),
        **values,
    )


@router.get("/studio/endpoints/{name}")
async def page(name: str, studio: StudioDep) -> Response:
    tab = studio.request.query_params.get("tab", "details")
    return await endpoint_page(studio, name, tab if tab in TABS else "details")


# -- keys ---------------------------------------------------------------------------------------
def _is_htmx(studio: Studio) -> bool:
    return studio.request.headers.get("HX-Request") == "true"


@router.post("/studio/endpoints/{name}/keys")
async def show_keys(name: str, studio: StudioFormDep) -> Response:
    """The keys, fetched now (listKeys as the signed-in person)."""
    validate_name(ResourceKind.SERVERLESS_ENDPOINT, name)
    place = where(studio)
    try:
        keys = await studio.call(endpoints.list_keys, *place.args, name)
    except MaasError as error:
        if error.status != 403:
            raise
        return await endpoint_page(studio, name, "details", status=403, alert=in_words(error))
    if _is_htmx(studio):
        rid = endpoints.endpoint_id(*place.args, name)
        return render.fragment(
            studio,
            "endpoint/keys.html",
            keys=keys,
            base=base_url(name),
            regenerate_reason=""
            if studio.can(REGENERATE, rid)
            else f"You need {REGENERATE} on this endpoint.",
        )
    return await endpoint_page(studio, name, "details", keys=keys)


def _confirmed(form: Any) -> bool:
    return form_text(form, "confirmed", 8) == "yes"


@router.post("/studio/endpoints/{name}/regenerate")
async def regenerate(name: str, studio: StudioFormDep) -> Response:
    validate_name(ResourceKind.SERVERLESS_ENDPOINT, name)
    form = await studio.form()
    which = form_text(form, "key_type", 16).lower()
    if which not in KEY_TYPES:
        return await endpoint_page(
            studio,
            name,
            "details",
            status=400,
            alert="Choose the primary or the secondary key to regenerate.",
        )
    if not _confirmed(form):
        await studio.call(endpoints.get_endpoint, *where(studio).args, name)  # a missing one: 404
        return render.page(
            studio,
            "endpoint/confirm.html",
            nav="endpoints",
            crumbs=[("Endpoints", "/studio/endpoints"), (name, base_url(name)), ("Regenerate key", None)],
            title=f"Regenerate the {which} key of {name}?",
            text=(
                f"A new {which} key replaces the current one at once: every application that uses the "
                f"current {which} key stops working until it gets the new one. The other key keeps working."
            ),
            action=f"{base_url(name)}/regenerate",
            fields={"key_type": which},
            button=f"Regenerate {which} key",
            cancel=base_url(name),
        )
    place = where(studio)
    body = RegenerateKeysBody.model_validate({"keyType": KEY_TYPES[which]})
    try:
        keys = await studio.call(endpoints.regenerate_keys, *place.args, name, body)
    except MaasError as error:
        return await endpoint_page(studio, name, "details", status=error.status, alert=in_words(error))
    message = f"The {which} key was regenerated: the old {which} key no longer works."
    return await endpoint_page(studio, name, "details", keys=keys, alert=message, alert_kind="success")


@router.post("/studio/endpoints/{name}/delete")
async def delete(name: str, studio: StudioFormDep) -> Response:
    validate_name(ResourceKind.SERVERLESS_ENDPOINT, name)
    form = await studio.form()
    if not _confirmed(form):
        await studio.call(endpoints.get_endpoint, *where(studio).args, name)  # a missing one: 404
        return render.page(
            studio,
            "endpoint/confirm.html",
            nav="endpoints",
            crumbs=[("Endpoints", "/studio/endpoints"), (name, base_url(name)), ("Delete", None)],
            title=f"Delete the endpoint {name}?",
            text=(
                "The endpoint stops answering at once and is then removed, with its Target URI and keys. "
                "Its usage stays in your costs. This cannot be undone."
            ),
            action=f"{base_url(name)}/delete",
            fields={},
            button="Delete",
            cancel=base_url(name),
        )
    place = where(studio)
    try:  # an endpoint already gone (a second click) is deleted all the same: back to the list
        await studio.call(endpoints.delete_endpoint, *place.args, name)
    except MaasError as error:
        return await endpoint_page(studio, name, "details", status=error.status, alert=in_words(error))
    return render.redirect(studio.request, "/studio/endpoints")


# -- live quota ---------------------------------------------------------------------------------
@router.get("/studio/endpoints/{name}/quota")
async def quota_fragment(name: str, studio: StudioDep) -> Response:
    validate_name(ResourceKind.SERVERLESS_ENDPOINT, name)
    quota = await quota_view(studio, where(studio), name)
    return render.fragment(
        studio, "endpoint/quota.html", quota=quota, base=base_url(name), refresh=QUOTA_REFRESH_SECONDS
    )
