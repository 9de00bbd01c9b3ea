"""The catalog as a person browses it (Studio's Model catalog): each model with its offer,
searched, filtered and paged, and one model's details (versions, offer, meters, terms).

Reads only: any signed-in caller may browse the catalog, as `GET .../registries/...` allows.
One listing is two queries (all models, all offers), whatever the page: no query per card.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maas.controlplane.domain.resources import Resource
from maas.controlplane.services import catalog, offers
from maas.controlplane.services.context import Services, require_resource
from maas.controlplane.store.repository import Repository
from maas.core.ids import MODEL_TYPE, MODEL_VERSION_TYPE, OFFER_TYPE, model_resource_id

__all__ = ["FREE", "PAID", "CatalogEntry", "CatalogListing", "ModelDetails", "browse", "details"]

FREE = "free"
PAID = "paid"
MAX_TEXT = 200


@dataclass(frozen=True)
class CatalogEntry:
    """A model (its summary, from the latest version) and its serverless offer, if it has one."""

    model: Resource
    offer: Resource | None

    @property
    def registry(self) -> str:
        return self.model.id.split("/")[2]

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def model_id(self) -> str:
        """The versionless id endpoints and subscriptions name."""
        return f"azureml://registries/{self.registry}/models/{self.model.name}"

    @property
    def display_name(self) -> str:
        return str(self.model.properties.get("displayName") or self.model.name)

    @property
    def description(self) -> str:
        return str(self.model.properties.get("description") or "")

    @property
    def task(self) -> str:
        return str(self.model.properties.get("task") or "")

    @property
    def provider(self) -> str:
        """Who makes the model: its card's provider, else the offer's publisher, else the registry."""
        found = self.model.properties.get("provider") or self.publisher or self.registry
        return str(found)

    @property
    def publisher(self) -> str:
        return str(self.offer.properties.get("publisherId") or "") if self.offer is not None else ""

    @property
    def pricing(self) -> str | None:
        """FREE, PAID, or None when the model is not offered as a serverless API."""
        if self.offer is None:
            return None
        return PAID if offers.is_paid(self.offer) else FREE

    @property
    def regions(self) -> list[str]:
        """Where its offer deploys; [] means every region (and [] without an offer: nowhere)."""
        return list(self.offer.properties.get("regions") or []) if self.offer is not None else []

    def deploys_in(self, region: str) -> bool:
        return self.offer is not None and offers.serves_region(self.offer, region)

    def matches(self, text: str) -> bool:
        words = text.lower().split()
        haystack = " ".join(
            [self.name, self.display_name, self.description, self.task, self.provider, self.publisher]
        ).lower()
        return all(word in haystack for word in words)


@dataclass(frozen=True)
class CatalogListing:
    """One page of the filtered catalog, how many matched in all, and the filters' choices."""

    entries: list[CatalogEntry]
    total: int
    offset: int
    limit: int
    tasks: list[str]
    providers: list[str]
    regions: list[str]

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total


def _all(services: Services) -> list[CatalogEntry]:
    with services.db.read() as connection:
        repo = Repository(connection)
        models = repo.of_type(MODEL_TYPE)
        offered = repo.of_type(OFFER_TYPE)
    by_model = {str(o.properties.get("modelId", "")).lower(): o for o in offered}
    entries = [CatalogEntry(m, None) for m in models]
    return [CatalogEntry(e.model, by_model.get(e.model_id.lower())) for e in entries]


def browse(
    services: Services,
    *,
    text: str = "",
    task: str = "",
    provider: str = "",
    pricing: str = "",
    region: str = "",
    offset: int = 0,
    limit: int = 24,
) -> CatalogListing:
    """Models matching every given filter (words of `text` anywhere in name, description, task or
    provider; `pricing` FREE or PAID; `region` where its offer deploys), by display name."""
    everything = _all(services)
    found = [
        e
        for e in everything
        if (not text or e.matches(text[:MAX_TEXT]))
        and (not task or e.task.lower() == task.lower())
        and (not provider or e.provider.lower() == provider.lower())
        and (not pricing or e.pricing == pricing)
        and (not region or e.deploys_in(region.lower()))
    ]
    found.sort(key=lambda e: (e.display_name.lower(), e.model_id.lower()))
    offset = max(0, min(offset, len(found)))
    return CatalogListing(
        entries=found[offset : offset + limit],
        total=len(found),
        offset=offset,
        limit=limit,
        tasks=sorted({e.task for e in everything if e.task}, key=str.lower),
        providers=sorted({e.provider for e in everything}, key=str.lower),
        regions=sorted({r for e in everything for r in e.regions if r != "*"}),
    )


@dataclass(frozen=True)
class ModelDetails:
    """A model's Details and Pricing and terms: its summary, versions (newest first), latest
    version's card and its offer."""

    entry: CatalogEntry
    versions: list[Resource]

    @property
    def latest(self) -> Resource | None:
        return self.versions[0] if self.versions else None

    @property
    def latest_properties(self) -> dict[str, Any]:
        return self.latest.properties if self.latest is not None else {}


def details(services: Services, registry: str, model: str) -> ModelDetails:
    """One model's details; a 404 naming it when it is not in the catalog."""
    rid = model_resource_id(registry, model)
    with services.db.read() as connection:
        repo = Repository(connection)
        found = require_resource(repo, rid, "model")
        versions = repo.children(found.id, MODEL_VERSION_TYPE)
        owner = repo.claim_owner(offers.OFFER_FOR_MODEL, found.id)
        offer = repo.get(owner) if owner else None
    versions.sort(key=lambda v: catalog.version_order(v.name), reverse=True)
    return ModelDetails(CatalogEntry(found, offer), versions)
