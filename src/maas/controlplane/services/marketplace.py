"""Marketplace subscriptions: a workspace accepts an offer's terms and price, once per offer.

Creating one also creates its `Microsoft.SaaS/resources` item (where its costs land) in the
workspace's resource group, in the same transaction. Deleting one unsubscribes the SaaS item and
turns every endpoint that used it Unhealthy at once, as the seed says.
"""

from __future__ import annotations

import uuid

from maas.controlplane.domain.resources import Resource
from maas.controlplane.services import crud
from maas.controlplane.services.accounts import require_paid_capable
from maas.controlplane.services.catalog import resolve
from maas.controlplane.services.context import (
    Caller,
    Page,
    Saved,
    Services,
    new_resource,
    require_parent,
    require_resource,
    touch,
    workspace_children,
)
from maas.controlplane.services.offers import (
    is_marketplace,
    is_paid,
    offer_for,
    serves_region,
)
from maas.controlplane.store.claims import OFFER_IN_USE, ONE_PER_OFFER
from maas.controlplane.store.repository import Repository
from maas.core.errors import BadRequest, Conflict
from maas.core.ids import (
    ENDPOINT_TYPE,
    MARKETPLACE_SUBSCRIPTION_TYPE,
    SAAS_TYPE,
    key_of,
    saas_resource_id,
    subscription_id,
    workspace_child_id,
    workspace_id,
)
from maas.protocol.management import kinds
from maas.protocol.management.endpoints import EndpointState
from maas.protocol.management.marketplace import MarketplaceSubscriptionBody, SubscriptionStatus
from maas.protocol.management.naming import ResourceKind, validate_name

ACTION = kinds.MARKETPLACE_SUBSCRIPTION.action


def subscription_for_offer(repo: Repository, workspace: str, offer: Resource) -> Resource | None:
    owner = repo.claim_owner(ONE_PER_OFFER, f"{key_of(workspace)}|{key_of(offer.id)}")
    return repo.get(owner) if owner else None


def put_subscription(
    services: Services,
    caller: Caller,
    sub: str,
    rg: str,
    ws: str,
    name: str,
    body: MarketplaceSubscriptionBody,
) -> Saved[Resource]:
    validate_name(ResourceKind.MARKETPLACE_SUBSCRIPTION, name)
    ws_id = workspace_id(sub, rg, ws)
    rid = workspace_child_id(sub, rg, ws, "marketplaceSubscriptions", name)
    caller.require(f"{ACTION}/write", rid)
    target = "properties.modelId"
    with services.db.write() as connection:
        repo = Repository(connection)
        workspace = require_parent(repo, ws_id, "workspace")
        model, _latest = resolve(repo, body.properties.model_id, target=target)
        existing = repo.get(rid, for_update=True)
        if existing is not None:
            if existing.properties["modelId"].lower() != model.unversioned.lower():
                raise Conflict(
                    f"Subscription '{name}' is for '{existing.properties['modelId']}'; its model "
                    "cannot change.",
                    code="PropertyImmutable",
                    target=target,
                )
            if existing.tags != body.tags:
                existing.tags = body.tags
                touch(existing, caller)
                repo.save(existing)
            return Saved(existing, False)
        offer = offer_for(repo, model, target=target)
        if not is_marketplace(offer):
            raise BadRequest(
                f"The model '{model.unversioned}' is a first-party model: it needs no marketplace "
                "subscription. Create the serverless endpoint directly.",
                code="MarketplaceSubscriptionNotRequired",
                target=target,
            )
        location = workspace.location or ""
        if not serves_region(offer, location):
            raise BadRequest(
                f"The offer '{offer.name}' is not available in region '{location}' (available in: "
                f"{', '.join(offer.properties['regions'])}). Use a workspace in a supported region.",
                code="OfferNotAvailableInRegion",
                target="location",
            )
        if is_paid(offer):
            require_paid_capable(require_resource(repo, subscription_id(sub), "subscription"), offer.name)
        repo.claim(
            ONE_PER_OFFER,
            f"{key_of(ws_id)}|{key_of(offer.id)}",
            rid,
            f"Workspace '{ws}' is already subscribed to offer '{offer.name}'; one subscription per "
            "offer per workspace is allowed, and later deployments reuse it.",
            code="MarketplaceSubscriptionExists",
        )
        repo.reference(OFFER_IN_USE, offer.id, rid)
        plan = {
            "publisherId": offer.properties["publisherId"],
            "offerId": offer.properties["offerId"],
            "planId": offer.properties["planId"],
        }
        saas_name = f"{offer.properties['offerId']}-{uuid.uuid4()}"
        saas_id = saas_resource_id(sub, rg, saas_name)
        saas = new_resource(
            caller,
            id=saas_id,
            type=SAAS_TYPE,
            name=saas_name,
            parent_id=f"/subscriptions/{sub}/resourceGroups/{rg}",
            properties={
                **plan,
                "saasSubscriptionStatus": "Subscribed",
                "marketplaceSubscriptionId": rid,
                "modelId": model.unversioned,
                # The terms the workspace accepted, whole: the record of what was agreed (an
                # offer's terms are at most 100,000 characters). Deviation: Azure's SaaS `term`
                # is the billing period ({termUnit, startDate, endDate}), not a text.
                "term": offer.properties.get("terms", ""),
            },
            subscription=sub,
            resource_group=rg,
            location="global",
            plan={
                "publisher": plan["publisherId"],
                "product": plan["offerId"],
                "name": plan["planId"],
            },
        )
        repo.insert(saas)
        resource = new_resource(
            caller,
            id=rid,
            type=MARKETPLACE_SUBSCRIPTION_TYPE,
            name=name,
            parent_id=ws_id,
            properties={
                "modelId": model.unversioned,
                "marketplacePlan": plan,
                "marketplaceSubscriptionStatus": str(SubscriptionStatus.SUBSCRIBED),
                "saasResourceId": saas_id,
            },
            subscription=sub,
            resource_group=rg,
            tags=body.tags,
        )
        repo.insert(resource)
        repo.log_activity(
            caller.actor,
            "Microsoft.MarketplaceOrdering/agreements/offers/plans/sign/action",
            rid,
            "Succeeded",
        )
        repo.log_activity(caller.actor, f"{ACTION}/write", rid, "Succeeded")
    return Saved(resource, True)


def get_subscription(services: Services, caller: Caller, sub: str, rg: str, ws: str, name: str) -> Resource:
    rid = workspace_child_id(sub, rg, ws, "marketplaceSubscriptions", name)
    return crud.read(services, caller, kinds.MARKETPLACE_SUBSCRIPTION, rid)


def list_subscriptions(
    services: Services, caller: Caller, sub: str, rg: str, ws: str, after: str | None, limit: int
) -> Page:
    return workspace_children(
        services,
        caller,
        workspace_id(sub, rg, ws),
        MARKETPLACE_SUBSCRIPTION_TYPE,
        f"{ACTION}/read",
        after,
        limit,
    )


def delete_subscription(services: Services, caller: Caller, sub: str, rg: str, ws: str, name: str) -> bool:
    rid = workspace_child_id(sub, rg, ws, "marketplaceSubscriptions", name)
    caller.require(f"{ACTION}/delete", rid)
    with services.db.write() as connection:
        repo = Repository(connection)
        resource = repo.get(rid, for_update=True)
        if resource is None:
            return False
        saas = repo.get(resource.properties.get("saasResourceId", ""), for_update=True)
        if saas is not None:
            saas.properties = {**saas.properties, "saasSubscriptionStatus": "Unsubscribed"}
            touch(saas, caller)
            repo.save(saas)
        for found in repo.children(workspace_id(sub, rg, ws), ENDPOINT_TYPE):
            if key_of(found.properties.get("marketplaceSubscriptionId") or "") != key_of(rid):
                continue
            endpoint = repo.get(found.id, for_update=True)  # re-read under lock: no lost update
            if endpoint is not None:
                endpoint.properties = {
                    **endpoint.properties,
                    "endpointState": str(EndpointState.UNHEALTHY),
                }
                touch(endpoint, caller)
                repo.save(endpoint)
        repo.delete(rid)
        repo.log_activity(caller.actor, f"{ACTION}/delete", rid, "Succeeded")
    services.endpoints_changed()  # its endpoints turned Unhealthy
    return True
