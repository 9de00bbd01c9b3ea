"""Accounts (`/subscriptions/{id}`, with a billing profile) and resource groups."""

from __future__ import annotations

from maas.controlplane.domain.resources import Resource
from maas.controlplane.services import crud, suspension
from maas.controlplane.services.context import (
    Caller,
    Saved,
    Services,
    require_parent,
    require_resource,
)
from maas.controlplane.store.repository import Repository
from maas.core.errors import BadRequest, Conflict
from maas.core.ids import RESOURCE_GROUP_TYPE, SUBSCRIPTION_TYPE, resource_group_id, subscription_id
from maas.protocol.management import kinds
from maas.protocol.management.accounts import (
    AccountBody,
    OfferType,
    PaymentMethod,
    ResourceGroupBody,
)
from maas.protocol.management.naming import ResourceKind, normalise_location, validate_name

SUBSCRIPTIONS = kinds.SUBSCRIPTION.action
RESOURCE_GROUPS = kinds.RESOURCE_GROUP.action


def put_account(services: Services, caller: Caller, sub: str, body: AccountBody) -> Saved[Resource]:
    validate_name(ResourceKind.SUBSCRIPTION_ID, sub)
    rid = subscription_id(sub)
    caller.require(f"{SUBSCRIPTIONS}/write", rid)
    billing = body.properties.billing_profile.model_dump(by_alias=True, mode="json")
    properties = {"displayName": body.display_name or sub, "billingProfile": billing}
    suspended = 0
    with services.db.write() as connection:
        repo = Repository(connection)
        existing = repo.get(rid, for_update=True)
        could_pay = can_pay(existing) if existing is not None else None
        resource = crud.upsert(
            repo,
            caller,
            kinds.SUBSCRIPTION,
            existing,
            rid=rid,
            name=sub,
            parent_id="/",
            properties=properties,
            tags=body.tags,
            subscription=sub,
        )
        if could_pay is not None and can_pay(resource) != could_pay:
            suspended = suspension.apply(repo, caller, sub, can_pay(resource))
        repo.log_activity(caller.actor, f"{SUBSCRIPTIONS}/write", rid, "Succeeded")
    if suspended:
        services.endpoints_changed()  # suspended (or restored) endpoints answer accordingly at once
    return Saved(resource, existing is None)


def can_pay(account: Resource) -> bool:
    """Whether the account may use paid offers: pay-as-you-go with a payment method on file."""
    billing = account.properties.get("billingProfile", {})
    return bool(
        billing.get("offerType") == OfferType.PAY_AS_YOU_GO
        and billing.get("paymentMethod", PaymentMethod.NONE) != PaymentMethod.NONE
    )


def get_account(services: Services, caller: Caller, sub: str) -> Resource:
    return crud.read(services, caller, kinds.SUBSCRIPTION, subscription_id(sub))


def list_accounts(services: Services, caller: Caller) -> list[Resource]:
    with services.db.read() as connection:
        accounts = Repository(connection).children("/", SUBSCRIPTION_TYPE)
    # As in Azure, an account is listed to anyone who holds a role anywhere inside it.
    return [a for a in accounts if caller.can(f"{SUBSCRIPTIONS}/read", a.id) or caller.holds_within(a.id)]


def delete_account(services: Services, caller: Caller, sub: str) -> bool:
    rid = subscription_id(sub)
    blocker = crud.not_empty(
        f"The subscription '{sub}' still has resource groups; delete them first.", "SubscriptionNotEmpty", rid
    )
    return crud.remove(services, caller, kinds.SUBSCRIPTION, rid, blocker)


def require_paid_capable(account: Resource, offer_name: str) -> None:
    """Paid offers need a payment method on a pay-as-you-go account (the seed's prerequisite)."""
    billing = account.properties.get("billingProfile", {})
    if billing.get("offerType") != OfferType.PAY_AS_YOU_GO:
        raise BadRequest(
            f"The offer '{offer_name}' is paid, and subscription '{account.name}' is a "
            f"{billing.get('offerType')} subscription. Free or trial subscriptions can't use paid "
            "offers; use a pay-as-you-go subscription with a valid payment method.",
            code="PaidOfferNotAllowed",
        )
    if billing.get("paymentMethod", PaymentMethod.NONE) == PaymentMethod.NONE:
        raise BadRequest(
            f"The offer '{offer_name}' is paid, and subscription '{account.name}' has no payment "
            "method on file. Add one to the subscription's billing profile first.",
            code="PaymentMethodRequired",
        )


# -- resource groups -------------------------------------------------------------------------
def put_resource_group(
    services: Services, caller: Caller, sub: str, rg: str, body: ResourceGroupBody
) -> Saved[Resource]:
    validate_name(ResourceKind.RESOURCE_GROUP, rg)
    rid = resource_group_id(sub, rg)
    caller.require(f"{RESOURCE_GROUPS}/write", rid)
    location = normalise_location(body.location)
    with services.db.write() as connection:
        repo = Repository(connection)
        require_parent(repo, subscription_id(sub), "subscription")
        existing = repo.get(rid, for_update=True)
        if existing is not None and existing.location != location:
            raise Conflict(
                f"Resource group '{rg}' already exists in location '{existing.location}'.",
                code="InvalidResourceGroupLocation",
                target="location",
            )
        resource = crud.upsert(
            repo,
            caller,
            kinds.RESOURCE_GROUP,
            existing,
            rid=rid,
            name=rg,
            parent_id=subscription_id(sub),
            properties=existing.properties if existing is not None else {},
            tags=body.tags,
            subscription=sub,
            location=location,
        )
        repo.log_activity(caller.actor, f"{RESOURCE_GROUPS}/write", rid, "Succeeded")
    return Saved(resource, existing is None)


def get_resource_group(services: Services, caller: Caller, sub: str, rg: str) -> Resource:
    return crud.read(services, caller, kinds.RESOURCE_GROUP, resource_group_id(sub, rg))


def list_resource_groups(services: Services, caller: Caller, sub: str) -> list[Resource]:
    rid = subscription_id(sub)
    with services.db.read() as connection:
        repo = Repository(connection)
        require_resource(repo, rid, "subscription")
        groups = repo.children(rid, RESOURCE_GROUP_TYPE)
    return [g for g in groups if caller.can(f"{RESOURCE_GROUPS}/read", g.id)]


def delete_resource_group(services: Services, caller: Caller, sub: str, rg: str) -> bool:
    def holds_resources(repo: Repository) -> Conflict | None:
        if not repo.in_scope(sub, rg, limit=1):
            return None
        message = f"The resource group '{rg}' still holds resources; delete them first."
        return Conflict(message, code="ResourceGroupNotEmpty")

    return crud.remove(services, caller, kinds.RESOURCE_GROUP, resource_group_id(sub, rg), holds_resources)
