"""What Studio's deploy wizard asks of the control plane beyond the API's own calls: the name it
suggests, the check of a name as it is typed, the workspace's marketplace subscription to a
model's offer, and a create that never updates an endpoint that already exists.

Each reads through the same rules the API applies (`naming.validate_name`, the claims the
endpoints service writes, `marketplace.subscription_for_offer`) and checks RBAC as the API
would for the call it prepares; nothing here writes except `create_endpoint`, which is the
endpoints service's `put_endpoint`.
"""

from __future__ import annotations

import re
import secrets
import string

from maas.controlplane.domain.resources import Resource
from maas.controlplane.services import endpoints, marketplace
from maas.controlplane.services.catalog import resolve
from maas.controlplane.services.context import Caller, Saved, Services, require_parent
from maas.controlplane.services.offers import is_marketplace, offer_for
from maas.controlplane.store.claims import NAME_IN_REGION
from maas.controlplane.store.repository import Repository
from maas.core.errors import Conflict
from maas.core.ids import ModelId, workspace_id
from maas.protocol.management.endpoints import EndpointBody
from maas.protocol.management.marketplace import MarketplaceSubscriptionBody, SubscriptionStatus
from maas.protocol.management.naming import ResourceKind, validate_name

__all__ = [
    "check_endpoint_name",
    "create_endpoint",
    "existing_subscription",
    "subscribe",
    "subscription_name",
    "suggested_endpoint_name",
]

ENDPOINT_NAME_MAX = 52  # naming.py: serverless endpoint names are 1 to 52 characters
SUFFIX_LETTERS = 4
_NOT_ALLOWED = re.compile(r"[^a-zA-Z0-9-]+")
_NOT_ALLOWED_SUBSCRIPTION = re.compile(r"[^a-zA-Z0-9_-]+")


def suggested_endpoint_name(model: str, suffix: str | None = None) -> str:
    """The model's name and a random suffix, as Azure's wizard prefills it
    (`Meta-Llama-3-8B-Instruct-qwer`), kept within the serverless endpoint name rule: other
    characters become '-', it starts with a letter, and it is at most 52 characters."""
    suffix = suffix or "".join(secrets.choice(string.ascii_lowercase) for _ in range(SUFFIX_LETTERS))
    base = _NOT_ALLOWED.sub("-", model).strip("-")
    if not base or not base[0].isalpha():
        base = f"m-{base}".rstrip("-")
    base = base[: ENDPOINT_NAME_MAX - len(suffix) - 1].rstrip("-")
    name = f"{base}-{suffix}"
    validate_name(ResourceKind.SERVERLESS_ENDPOINT, name)
    return name


def subscription_name(model: str) -> str:
    """The marketplace subscription's name for a model (the model's name, as the seed's
    examples use): characters the rule refuses become '-'."""
    name = _NOT_ALLOWED_SUBSCRIPTION.sub("-", model).strip("-_")[:255] or "subscription"
    if not name[0].isalnum():
        name = f"s{name}"[:255]
    validate_name(ResourceKind.MARKETPLACE_SUBSCRIPTION, name)
    return name


def check_endpoint_name(services: Services, caller: Caller, sub: str, rg: str, ws: str, name: str) -> str:
    """Whether `name` may be used for a new serverless endpoint in the workspace: returns the
    region it would be unique in, or raises what a create would (`InvalidResourceName` with the
    rule in words; `EndpointNameInUse` when the region already has it, in this workspace or any
    other). Needs the right to create the endpoint, as the API's create does."""
    validate_name(ResourceKind.SERVERLESS_ENDPOINT, name)
    caller.require(f"{endpoints.ACTION}/write", endpoints.endpoint_id(sub, rg, ws, name))
    with services.db.read() as connection:
        repo = Repository(connection)
        workspace = require_parent(repo, workspace_id(sub, rg, ws), "workspace")
        location = workspace.location or ""
        if repo.claim_owner(NAME_IN_REGION, f"{location}/{name}") is not None:
            raise Conflict(
                f"The name '{name}' is already used in this region ({location}). The name is part "
                "of the endpoint's URL and must be unique in each region.",
                code="EndpointNameInUse",
                target="name",
            )
    return location


def existing_subscription(
    services: Services, caller: Caller, sub: str, rg: str, ws: str, model_id: str
) -> Resource | None:
    """The workspace's live marketplace subscription to the offer of `model_id`, if it has one
    (None for a first-party offer, which needs none). Needs read on the workspace's
    subscriptions, as listing them does."""
    ws_id = workspace_id(sub, rg, ws)
    caller.require(f"{marketplace.ACTION}/read", ws_id)
    with services.db.read() as connection:
        repo = Repository(connection)
        workspace = require_parent(repo, ws_id, "workspace")
        model, _latest = resolve(repo, model_id, target="model")
        offer = offer_for(repo, model, target="model")
        if not is_marketplace(offer):
            return None
        found = marketplace.subscription_for_offer(repo, workspace.id, offer)
    if (
        found is None
        or found.properties.get("marketplaceSubscriptionStatus") != SubscriptionStatus.SUBSCRIBED
    ):
        return None
    return found


def subscribe(
    services: Services, caller: Caller, sub: str, rg: str, ws: str, model_id: str
) -> Saved[Resource]:
    """Create the workspace's marketplace subscription to the model's offer, named after the
    model, through the marketplace service (every check of the API's create applies)."""
    name = subscription_name(ModelId.parse(model_id, target="model").model)
    body = MarketplaceSubscriptionBody.model_validate({"properties": {"modelId": model_id}})
    return marketplace.put_subscription(services, caller, sub, rg, ws, name, body)


def create_endpoint(
    services: Services, caller: Caller, sub: str, rg: str, ws: str, name: str, model_id: str
) -> Saved[Resource]:
    """Create a serverless endpoint through the endpoints service, refusing a name already in
    use (the API's PUT would update an endpoint of the same name in this workspace instead)."""
    check_endpoint_name(services, caller, sub, rg, ws, name)
    body = EndpointBody.model_validate(
        {"sku": {"name": "Consumption"}, "properties": {"modelSettings": {"modelId": model_id}}}
    )
    saved = endpoints.put_endpoint(services, caller, sub, rg, ws, name, body)
    if not saved.created:  # another create of the same name won the race since the check
        raise Conflict(
            f"The name '{name}' is already used in this workspace by endpoint "
            f"'{saved.resource.name}'. Choose another name.",
            code="EndpointNameInUse",
            target="name",
        )
    return saved
