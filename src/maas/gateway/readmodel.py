"""The gateway's read model of endpoints: what it needs to know about one, read in one transaction.

The gateway resolves a Target URI (region + endpoint name) to the endpoint, its two key digests,
its state, where its usage is billed, and the model version it serves, as the `ModelSpec` an
engine is built from (with the upstream API key decrypted, when there is one). It reads the store
directly, never through the control plane's services: the data plane depends on the store's
tables, not on how the control plane writes them. `maas.gateway.directory` caches these views and
forgets them when the control plane says an endpoint changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from maas.controlplane.domain.resources import Resource
from maas.controlplane.store.claims import NAME_IN_REGION
from maas.controlplane.store.database import Database
from maas.controlplane.store.repository import Repository
from maas.core.crypto import Vault
from maas.core.ids import ENDPOINT_TYPE
from maas.serving.engines.base import ModelSpec


@dataclass(frozen=True)
class BillingView:
    """Where an endpoint's usage is billed and what its quota is."""

    subscription: str
    resource_group: str
    workspace: str
    billed_resource_id: str  # the marketplace subscription's SaaS resource, else the endpoint
    offer_id: str | None
    meters: tuple[tuple[str, str, str], ...]  # (meterId, pricePer1K as decimal text, currency)
    tokens_per_minute: int | None  # None: the platform's default
    requests_per_minute: int | None


@dataclass(frozen=True)
class EndpointView:
    id: str
    name: str
    region: str
    provisioning_state: str
    endpoint_state: str
    primary_digest: str
    secondary_digest: str
    model: ModelSpec | None
    billing: BillingView | None = None


@dataclass(frozen=True)
class EndpointReader:
    """Reads endpoint views from the store (blocking: call it off the event loop)."""

    db: Database
    vault: Vault

    def lookup(self, region: str, name: str) -> EndpointView | None:
        return _lookup(self, region, name)

    def pinned_models(self) -> list[tuple[ModelSpec, str]]:
        return _pinned_models(self)


def _lookup(reader: EndpointReader, region: str, name: str) -> EndpointView | None:
    with reader.db.read() as connection:
        repo = Repository(connection)
        owner = repo.claim_owner(NAME_IN_REGION, f"{region.lower()}/{name.lower()}")
        endpoint = repo.get(owner) if owner else None
        if endpoint is None:
            return None
        keys = repo.get_keys(endpoint.id)
        version = repo.get(endpoint.model_version_id or "")
        model = _model_spec(reader.vault, repo, version) if version is not None else None
        billing = _billing_view(repo, endpoint)
    return EndpointView(
        id=endpoint.id,
        name=endpoint.name,
        region=endpoint.location or region,
        provisioning_state=str(endpoint.provisioning_state),
        endpoint_state=str(endpoint.properties.get("endpointState", "")),
        primary_digest=keys.primary_digest if keys else "",
        secondary_digest=keys.secondary_digest if keys else "",
        model=model,
        billing=billing,
    )


def _billing_view(repo: Repository, endpoint: Resource) -> BillingView:
    props = endpoint.properties
    offer = repo.get(endpoint.offer_id or "")
    subscription = repo.get(props.get("marketplaceSubscriptionId") or "")
    saas_id = subscription.properties.get("saasResourceId") if subscription is not None else None
    return BillingView(
        # lower case, as ARM ids compare: cost queries group and filter on these
        subscription=(endpoint.subscription or "").lower(),
        resource_group=(endpoint.resource_group or "").lower(),
        workspace=endpoint.parent_id.rsplit("/", 1)[-1].lower(),
        billed_resource_id=str(saas_id or endpoint.id),
        offer_id=offer.id if offer is not None else None,
        meters=tuple(
            (str(m.get("meterId", "")), repr(m.get("pricePer1K", 0)), str(m.get("currency") or "USD"))
            for m in (offer.properties.get("meters", []) if offer is not None else [])
        ),
        tokens_per_minute=endpoint.quota.tokens_per_minute if endpoint.quota else None,
        requests_per_minute=endpoint.quota.requests_per_minute if endpoint.quota else None,
    )


def _model_spec(vault: Vault, repo: Repository, version: Resource) -> ModelSpec:
    props = version.properties
    ciphertext = repo.get_secret(version.id, "apiKey")
    return ModelSpec(
        version_id=version.id,
        name=str(props.get("displayName") or version.parent_id.rsplit("/", 1)[-1]),
        task=str(props.get("task", "chat-completion")),
        provider=str(props.get("provider", "")),
        artifact=dict(props.get("artifact", {})),
        api_key=vault.decrypt(ciphertext) if ciphertext else None,
        context_length=props.get("contextLength"),
        options=dict(props.get("serving", {})),
    )


def _pinned_models(reader: EndpointReader) -> list[tuple[ModelSpec, str]]:
    """(model, region) for each model version whose `serving.keepAlive` is "pinned" and that a
    ready endpoint in that region serves: the pools to start with the server."""
    found: dict[tuple[str, str], tuple[ModelSpec, str]] = {}
    with reader.db.read() as connection:
        repo = Repository(connection)
        for endpoint in repo.of_type(ENDPOINT_TYPE):
            if str(endpoint.provisioning_state) != "Succeeded" or not endpoint.location:
                continue
            version_id = endpoint.model_version_id or ""
            key = (version_id.lower(), endpoint.location.lower())
            if key in found:
                continue
            version = repo.get(version_id)
            if version is None or version.properties.get("serving", {}).get("keepAlive") != "pinned":
                continue
            found[key] = (_model_spec(reader.vault, repo, version), endpoint.location.lower())
    return list(found.values())
