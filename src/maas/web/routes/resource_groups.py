"""Resource groups: the seed's "Azure portal" steps (issue 14 item 7).

GET  /studio/resource-groups?sub=                   the account's resource groups the user may read
GET  /studio/resource-groups/{sub}/{rg}?type=&hidden=1&after=
                                                    everything in the group the user may read (the
                                                    generic listing behind `GET …/resources`), in
                                                    pages, with the **Type** filter ("SaaS": the
                                                    marketplace subscriptions, with their offer,
                                                    status and **Delete**) and **Show hidden
                                                    types** (what lives inside a workspace:
                                                    serverless endpoints with their state,
                                                    marketplace subscriptions, connections)
GET  /studio/resource-groups/{sub}/{rg}/resource?id=
                                                    one resource's details (as its GET shows it)
POST /studio/resource-groups/{sub}/{rg}/saas/{name}/delete
                                                    unsubscribe: the same service as `DELETE
                                                    …/providers/Microsoft.SaaS/resources/{name}`
                                                    (its endpoints turn Unhealthy at once)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from maas.controlplane.api.render import arm_body
from maas.controlplane.domain.resources import Resource
from maas.controlplane.services import accounts, resources, saas
from maas.core.errors import MaasError
from maas.core.ids import (
    CONNECTION_TYPE,
    DEPLOYMENT_TYPE,
    ENDPOINT_TYPE,
    MARKETPLACE_SUBSCRIPTION_TYPE,
    SAAS_TYPE,
    WORKSPACE_TYPE,
    key_of,
    resource_group_id,
)
from maas.protocol.management import kinds
from maas.web import render
from maas.web.context import Studio, StudioDep, StudioFormDep, in_words

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
BASE = "/studio/resource-groups"
SAAS_DELETE = f"{SAAS_TYPE}/delete"
SUBSCRIPTION_DELETE = kinds.MARKETPLACE_SUBSCRIPTION.delete


@dataclass(frozen=True)
class TypeChoice:
    arm_type: str
    label: str
    hidden: bool  # shown only with "Show hidden types", as the portal hides them


# The Type filter's choices, in the portal's words. Hidden: what lives inside a workspace (the
# seed: "serverless API endpoints aren't displayed by default on the resource group").
TYPES = (
    TypeChoice(WORKSPACE_TYPE, "Workspace", False),
    TypeChoice(SAAS_TYPE, "SaaS", False),
    TypeChoice(ENDPOINT_TYPE, "Serverless endpoint", True),
    TypeChoice(MARKETPLACE_SUBSCRIPTION_TYPE, "Marketplace subscription", True),
    TypeChoice(CONNECTION_TYPE, "Connection", True),
    TypeChoice(DEPLOYMENT_TYPE, "Deployment", True),
)
BY_TYPE = {choice.arm_type.lower(): choice for choice in TYPES}


def type_label(arm_type: str) -> str:
    found = BY_TYPE.get(arm_type.lower())
    return found.label if found is not None else arm_type


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def listing_filter(chosen: TypeChoice | None, hidden: bool) -> str | None:
    """The `$filter` of the generic listing: one type, or every type but the hidden ones."""
    if chosen is not None:
        return f"resourceType eq {_quoted(chosen.arm_type)}"
    if hidden:
        return None
    return " and ".join(f"resourceType ne {_quoted(c.arm_type)}" for c in TYPES if c.hidden)


def state_of(found: Resource) -> str:
    """What the table's State column says: an endpoint's state (Online, Unhealthy…), a SaaS
    resource's subscription status, else the provisioning state."""
    properties = found.properties
    if found.type.lower() == ENDPOINT_TYPE.lower() and properties.get("endpointState"):
        return str(properties["endpointState"])
    if found.type.lower() == SAAS_TYPE.lower() and properties.get("saasSubscriptionStatus"):
        return str(properties["saasSubscriptionStatus"])
    if properties.get("marketplaceSubscriptionStatus"):
        return str(properties["marketplaceSubscriptionStatus"])
    return str(found.provisioning_state)


def delete_reason(studio: Studio, found: Resource) -> str:
    """Why this user may not delete a SaaS resource (the missing action), or ""."""
    if not studio.can(SAAS_DELETE, found.id):
        return f"You need {SAAS_DELETE} on {found.name}."
    subscription = str(found.properties.get("marketplaceSubscriptionId") or "")
    if subscription and not studio.can(SUBSCRIPTION_DELETE, subscription):
        return f"You need {SUBSCRIPTION_DELETE} on the workspace's marketplace subscription."
    return ""


def _group_url(sub: str, rg: str, **query: str) -> str:
    kept = {k: v for k, v in query.items() if v}
    return f"{BASE}/{sub}/{rg}" + (f"?{urlencode(kept)}" if kept else "")


@router.get("/studio/resource-groups")
async def groups(studio: StudioDep) -> Response:
    params = studio.request.query_params
    found_accounts = await studio.call(accounts.list_accounts)
    default = ""
    if studio.workspace is not None and studio.workspace.subscription:
        default = studio.workspace.subscription
    elif found_accounts:
        default = found_accounts[0].name
    sub = params.get("sub", default)[:64]
    alert = ""
    listed: list[Resource] = []
    if sub:
        try:
            listed = await studio.call(accounts.list_resource_groups, sub)
        except MaasError as error:
            alert = in_words(error)
    account_names = {a.name.lower() for a in found_accounts}
    return render.page(
        studio,
        "resource_groups/list.html",
        nav="resource-groups",
        crumbs=[("Resource groups", None)],
        accounts=found_accounts,
        sub=sub,
        sub_known=sub.lower() in account_names,
        groups=sorted(listed, key=lambda g: g.name.lower()),
        alert=alert,
    )


async def _group_page(
    studio: Studio, sub: str, rg: str, *, alert: str = "", notice: str = "", status: int = 200
) -> Response:
    params = studio.request.query_params
    wanted = params.get("type", "")[:256]
    chosen = BY_TYPE.get(wanted.lower()) if wanted else None
    hidden = params.get("hidden") == "1" or (chosen is not None and chosen.hidden)
    if wanted and chosen is None:
        alert = alert or f"There is no type '{wanted}' to filter by: showing all types."
    after = params.get("after", "")[:1024] or None
    page = await studio.call(
        resources.list_resources, sub, rg, listing_filter(chosen, hidden), after, PAGE_SIZE
    )
    state = {"type": chosen.arm_type if chosen else "", "hidden": "1" if hidden else ""}
    rows = [
        {
            "resource": found,
            "label": type_label(found.type),
            "state": state_of(found),
            "details": f"{BASE}/{sub}/{rg}/resource?{urlencode({'id': found.id})}",
            "reason": delete_reason(studio, found) if found.type.lower() == SAAS_TYPE.lower() else "",
        }
        for found in page.items
    ]
    return render.page(
        studio,
        "resource_groups/group.html",
        nav="resource-groups",
        status=status,
        crumbs=[("Resource groups", f"{BASE}?{urlencode({'sub': sub})}"), (rg, None)],
        sub=sub,
        rg=rg,
        rows=rows,
        types=[c for c in TYPES if hidden or not c.hidden],
        chosen=chosen,
        saas_view=chosen is not None and chosen.arm_type == SAAS_TYPE,
        hidden=hidden,
        action=f"{BASE}/{sub}/{rg}",
        here=_group_url(sub, rg, **state),
        first_url=_group_url(sub, rg, **state) if after else None,
        next_url=_group_url(sub, rg, **state, after=page.next_token or "") if page.next_token else None,
        alert=alert,
        notice=notice,
        filtered=chosen is not None,
    )


@router.get("/studio/resource-groups/{sub}/{rg}")
async def group(sub: str, rg: str, studio: StudioDep) -> Response:
    deleted = studio.request.query_params.get("deleted", "")[:200]
    notice = ""
    if deleted:
        notice = (
            f"Deleted the subscription {deleted}. The endpoints that used it are now Unhealthy and "
            "unusable: choose Show hidden types to see them."
        )
    return await _group_page(studio, sub, rg, notice=notice)


def _pretty(found: Resource) -> str:
    return json.dumps(arm_body(found), indent=2, sort_keys=False, default=str)


@router.get("/studio/resource-groups/{sub}/{rg}/resource")
async def details(sub: str, rg: str, studio: StudioDep) -> Response:
    rid = studio.request.query_params.get("id", "")[:2048]
    found = await studio.call(resources.get_resource, rid)
    if found.resource_group is None or key_of(resource_group_id(sub, rg)) != key_of(
        resource_group_id(found.subscription or "", found.resource_group)
    ):
        return render.page(
            studio,
            "error.html",
            status=404,
            title="Not found",
            message=f"The resource {found.id} is not in the resource group {rg}.",
        )
    facts: list[tuple[str, Any]] = []
    if found.type.lower() == SAAS_TYPE.lower():
        p = found.properties
        facts = [
            ("Offer", p.get("offerId", "")),
            ("Publisher", p.get("publisherId", "")),
            ("Plan", p.get("planId", "")),
            ("Model", p.get("modelId", "")),
            ("Marketplace subscription", p.get("marketplaceSubscriptionId", "")),
        ]
    elif found.type.lower() == ENDPOINT_TYPE.lower():
        p = found.properties
        facts = [
            ("Model", (p.get("modelSettings") or {}).get("modelId", "")),
            ("Target URI", (p.get("inferenceEndpoint") or {}).get("uri", "")),
            ("Marketplace subscription", p.get("marketplaceSubscriptionId") or "None (first-party model)"),
        ]
    return render.page(
        studio,
        "resource_groups/details.html",
        nav="resource-groups",
        crumbs=[
            ("Resource groups", f"{BASE}?{urlencode({'sub': sub})}"),
            (rg, f"{BASE}/{sub}/{rg}"),
            (found.name, None),
        ],
        sub=sub,
        rg=rg,
        found=found,
        label=type_label(found.type),
        state=state_of(found),
        facts=facts,
        body=_pretty(found),
        is_saas=found.type.lower() == SAAS_TYPE.lower(),
        reason=delete_reason(studio, found) if found.type.lower() == SAAS_TYPE.lower() else "",
    )


@router.post("/studio/resource-groups/{sub}/{rg}/saas/{name}/delete")
async def delete_subscription(sub: str, rg: str, name: str, studio: StudioFormDep) -> Response:
    try:
        existed = await studio.call(saas.delete_saas, sub, rg, name)
    except MaasError as error:
        return await _group_page(studio, sub, rg, alert=in_words(error), status=error.status)
    if not existed:
        message = f"There is no subscription {name} in {rg} (it may have been deleted already)."
        return await _group_page(studio, sub, rg, alert=message, status=404)
    return render.redirect(studio.request, _group_url(sub, rg, type=SAAS_TYPE, deleted=name))
