"""Marketplace subscriptions: a workspace accepts an offer's terms and price, once per offer.

Creating one also creates its `Microsoft.SaaS/resources` item (where its costs land) in the
workspace's resource group, and records the terms accepted as the subscription's
`Microsoft.MarketplaceOrdering/agreements` resource for the plan, in the same transaction. As on
Azure, creating one needs more than the workspace's action: the seed's subscription-level actions
(reading and signing the plan's agreement, registering with SaaS) and `Microsoft.SaaS/resources/write`
on the resource group (`require_ordering`). Deleting one unsubscribes the SaaS item and
turns every endpoint that used it Unhealthy at once, as the seed says.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

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
from maas.core.clock import utcnow
from maas.core.errors import BadRequest, Conflict
from maas.core.ids import (
    AGREEMENT_TYPE,
    ENDPOINT_TYPE,
    MARKETPLACE_SUBSCRIPTION_TYPE,
    SAAS_TYPE,
    agreement_id,
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
ORDERING = "Microsoft.MarketplaceOrdering"
SIGN = f"{ORDERING}/agreements/offers/plans/sign/action"


def require_ordering(caller: Caller, sub: str, plan: dict[str, str], saas_id: str) -> None:
    """The seed's subscription- and resource-group-level actions that subscribing a workspace to
    an offer needs, each at its scope, in the order the Azure portal's subscribe step uses them:
    read the plan's agreement (both namespaces), sign it, register with SaaS, create the SaaS item."""
    agreement = agreement_id(sub, plan["publisherId"], plan["offerId"], plan["planId"])
    terms = (
        f"{subscription_id(sub)}/providers/{ORDERING}/offerTypes/virtualmachine/publishers/"
        f"{plan['publisherId']}/offers/{plan['offerId']}/plans/{plan['planId']}/agreements/current"
    )
    caller.require(kinds.AGREEMENT.read, agreement)
    caller.require(f"{ORDERING}/offerTypes/publishers/offers/plans/agreements/read", terms)
    caller.require(
        "Microsoft.Marketplace/offerTypes/publishers/offers/plans/agreements/read", subscription_id(sub)
    )
    caller.require(SIGN, agreement)
    caller.require("Microsoft.SaaS/register/action", subscription_id(sub))
    caller.require(f"{SAAS_TYPE}/write", saas_id)


def terms_version(terms: str) -> str:
    """Which terms were accepted: the SHA-256 of their text (an offer's terms have no version)."""
    return hashlib.sha256(terms.encode()).hexdigest()


def record_agreement(
    repo: Repository, caller: Caller, sub: str, offer: Resource, plan: dict[str, str]
) -> None:
    """Record the terms `caller` accepted for the plan as its MarketplaceOrdering agreement. The
    first acceptance of a text stands; accepting changed terms records the new acceptance."""
    rid = agreement_id(sub, plan["publisherId"], plan["offerId"], plan["planId"])
    version = terms_version(str(offer.properties.get("terms", "")))
    existing = repo.get(rid, for_update=True)
    if existing is not None and existing.properties.get("signature") == version:
        return
    principal = caller.principal
    accepted_at = utcnow().isoformat().replace("+00:00", "Z")
    properties: dict[str, Any] = {
        "publisher": plan["publisherId"],
        "product": plan["offerId"],
        "plan": plan["planId"],
        "licenseTextLink": f"{offer.id}#terms",
        "privacyPolicyLink": "",
        "marketplaceTermsLink": "",
        "retrieveDatetime": accepted_at,
        "signature": version,
        "accepted": True,
        # MaaS additions: who accepted, when, which offer and which terms text.
        "acceptedBy": {"principalId": principal.id, "principalName": principal.name},
        "acceptedAt": accepted_at,
        "offerId": offer.id,
        "termsVersion": version,
    }
    if existing is not None:
        existing.properties = properties
        touch(existing, caller)
        repo.save(existing)
        return
    repo.insert(
        new_resource(
            caller,
            id=rid,
            type=AGREEMENT_TYPE,
            name=plan["planId"],
            parent_id=subscription_id(sub),
            properties=properties,
            subscription=sub,
        )
    )


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
        plan = {
            "publisherId": offer.properties["publisherId"],
            "offerId": offer.properties["offerId"],
            "planId": offer.properties["planId"],
        }
        saas_name = f"{offer.properties['offerId']}-{uuid.uuid4()}"
        saas_id = saas_resource_id(sub, rg, saas_name)
        require_ordering(caller, sub, plan, saas_id)
        repo.claim(
            ONE_PER_OFFER,
            f"{key_of(ws_id)}|{key_of(offer.id)}",
            rid,
            f"Workspace '{ws}' is already subscribed to offer '{offer.name}'; one subscription per "
            "offer per workspace is allowed, and later deployments reuse it.",
            code="MarketplaceSubscriptionExists",
        )
        repo.reference(OFFER_IN_USE, offer.id, rid)
        record_agreement(repo, caller, sub, offer, plan)
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
            SIGN,
            agreement_id(sub, plan["publisherId"], plan["offerId"], plan["planId"]),
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


def get_agreement(
    services: Services, caller: Caller, sub: str, publisher: str, offer: str, plan: str
) -> Resource:
    """The agreement a subscribe step recorded for the plan (`Microsoft.MarketplaceOrdering`)."""
    return crud.read(services, caller, kinds.AGREEMENT, agreement_id(sub, publisher, offer, plan))


def list_agreements(services: Services, caller: Caller, sub: str) -> list[Resource]:
    """The subscription's recorded agreements the caller may read."""
    caller.require(kinds.AGREEMENT.read, subscription_id(sub))
    with services.db.read() as connection:
        repo = Repository(connection)
        require_resource(repo, subscription_id(sub), "subscription")
        prefix = key_of(f"{subscription_id(sub)}/providers/{AGREEMENT_TYPE}/")
        return [r for r in repo.of_type(AGREEMENT_TYPE) if key_of(r.id).startswith(prefix)]
