"""Offers: how a catalog model is sold as a serverless API (publisher/offer/plan, meters, terms,
regions). A first-party offer needs no marketplace subscription; a marketplace offer does."""

from __future__ import annotations

from maas.controlplane.domain.resources import Resource
from maas.controlplane.services import crud
from maas.controlplane.services.catalog import resolve
from maas.controlplane.services.context import (
    Caller,
    Saved,
    Services,
    require_resource,
)
from maas.controlplane.store.claims import OFFER_IN_USE
from maas.controlplane.store.repository import Repository
from maas.core.errors import BadRequest, Conflict
from maas.core.ids import OFFER_TYPE, ModelId, offer_id
from maas.protocol.management import kinds
from maas.protocol.management.marketplace import OfferBody, OfferKind
from maas.protocol.management.naming import ResourceKind, normalise_location, validate_name

OFFERS = kinds.OFFER.action
OFFER_FOR_MODEL = "offer-for-model"


def is_paid(offer: Resource) -> bool:
    return any(float(m.get("pricePer1K", 0)) > 0 for m in offer.properties.get("meters", []))


def is_marketplace(offer: Resource) -> bool:
    return bool(offer.properties.get("kind") == OfferKind.MARKETPLACE)


def serves_region(offer: Resource, location: str) -> bool:
    regions = offer.properties.get("regions") or []
    return not regions or location in regions or "*" in regions


def put_offer(services: Services, caller: Caller, name: str, body: OfferBody) -> Saved[Resource]:
    validate_name(ResourceKind.OFFER, name)
    rid = offer_id(name)
    caller.require(f"{OFFERS}/write", rid)
    props = body.properties
    meter_ids = [m.meter_id for m in props.meters]
    if len(set(meter_ids)) != len(meter_ids):
        raise BadRequest("Each meter id may appear once.", target="properties.meters")
    with services.db.write() as connection:
        repo = Repository(connection)
        model, _latest = resolve(repo, props.model_id, target="properties.modelId")
        properties = {
            "modelId": model.unversioned,
            "kind": str(props.kind),
            "publisherId": props.publisher_id,
            "offerId": name,
            "planId": props.plan_id,
            "displayName": props.display_name or name,
            "terms": props.terms,
            "regions": sorted({normalise_location(r, target="properties.regions") for r in props.regions}),
            "meters": [m.model_dump(by_alias=True, mode="json") for m in props.meters],
        }
        repo.claim(
            OFFER_FOR_MODEL,
            model.resource_id,
            rid,
            f"The model '{model.unversioned}' already has an offer; update that offer instead.",
            code="OfferExistsForModel",
        )
        existing = repo.get(rid, for_update=True)
        if existing is not None and existing.properties["modelId"] != properties["modelId"]:
            raise Conflict(
                "An offer's model cannot change.", code="PropertyImmutable", target="properties.modelId"
            )
        resource = crud.upsert(
            repo,
            caller,
            kinds.OFFER,
            existing,
            rid=rid,
            name=name,
            parent_id="/",
            properties=properties,
            tags=body.tags,
            location="global",
        )
        repo.log_activity(caller.actor, f"{OFFERS}/write", rid, "Succeeded")
    return Saved(resource, existing is None)


def get_offer(services: Services, name: str) -> Resource:
    with services.db.read() as connection:
        return require_resource(Repository(connection), offer_id(name), "offer")


def list_offers(services: Services) -> list[Resource]:
    with services.db.read() as connection:
        return [o for o in Repository(connection).of_type(OFFER_TYPE)]


def delete_offer(services: Services, caller: Caller, name: str) -> bool:
    rid = offer_id(name)

    def in_use(repo: Repository) -> Conflict | None:
        if not repo.referenced(OFFER_IN_USE, rid):
            return None
        return Conflict(
            f"Offer '{name}' has subscriptions or endpoints; remove them first.", code="OfferInUse"
        )

    return crud.remove(services, caller, kinds.OFFER, rid, in_use)


def offer_for(repo: Repository, model: ModelId, *, target: str) -> Resource:
    owner = repo.claim_owner(OFFER_FOR_MODEL, model.resource_id)
    offer = repo.get(owner) if owner else None
    if offer is None:
        raise BadRequest(
            f"The model '{model.unversioned}' is not offered as a serverless API.",
            code="ModelNotOfferedServerless",
            target=target,
        )
    return offer
