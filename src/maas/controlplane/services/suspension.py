"""Billing rule: paid offers run only while their account can pay.

A paid offer needs a pay-as-you-go account with a payment method (checked when subscribing and
deploying). When the account loses that — its payment method removed, or it became a free or
trial account — every paid marketplace subscription in it is Suspended (and its SaaS resource),
and every endpoint of a paid offer is Suspended: the gateway answers 403 `endpoint_suspended`
with a message saying why. Nothing is deleted. When a payment method is back, the same
subscriptions return to Subscribed and the endpoints to Online, in one transaction.

Endpoints carry `billing_suspended` (a column) while suspended so that restoring touches only what this rule
suspended (an endpoint that is Unhealthy because its subscription was deleted stays Unhealthy),
and so that the reconciler keeps a suspended endpoint Suspended when it finishes an update.
"""

from __future__ import annotations

from maas.controlplane.domain.resources import ProvisioningState, Resource
from maas.controlplane.services.context import Caller, touch
from maas.controlplane.services.offers import is_paid
from maas.controlplane.store.repository import Repository
from maas.core.ids import ENDPOINT_TYPE, MARKETPLACE_SUBSCRIPTION_TYPE, offer_id
from maas.protocol.management.endpoints import EndpointState
from maas.protocol.management.marketplace import SubscriptionStatus


def apply(repo: Repository, caller: Caller, sub: str, can_pay: bool) -> int:
    """Suspend (or restore) the account's paid subscriptions and endpoints. Returns how many
    resources changed."""
    changed = 0
    for subscription in repo.in_scope(sub, None, types=[MARKETPLACE_SUBSCRIPTION_TYPE]):
        plan = subscription.properties.get("marketplacePlan") or {}
        offer = repo.get(offer_id(str(plan.get("offerId", ""))))
        if offer is not None and is_paid(offer):
            changed += _subscription(repo, caller, subscription.id, can_pay)
    for found in repo.in_scope(sub, None, types=[ENDPOINT_TYPE]):
        offer = repo.get(found.offer_id or "")
        if offer is not None and is_paid(offer):
            changed += _endpoint(repo, caller, found.id, can_pay)
    return changed


def _subscription(repo: Repository, caller: Caller, rid: str, can_pay: bool) -> int:
    subscription = repo.get(rid, for_update=True)
    if subscription is None:
        return 0
    status = subscription.properties.get("marketplaceSubscriptionStatus")
    if not can_pay and status == SubscriptionStatus.SUBSCRIBED:
        new, saas_status = SubscriptionStatus.SUSPENDED, "Suspended"
    elif can_pay and status == SubscriptionStatus.SUSPENDED:
        new, saas_status = SubscriptionStatus.SUBSCRIBED, "Subscribed"
    else:
        return 0
    subscription.properties = {**subscription.properties, "marketplaceSubscriptionStatus": str(new)}
    touch(subscription, caller)
    repo.save(subscription)
    saas = repo.get(subscription.properties.get("saasResourceId") or "", for_update=True)
    if saas is not None:
        saas.properties = {**saas.properties, "saasSubscriptionStatus": saas_status}
        touch(saas, caller)
        repo.save(saas)
    return 1


def _endpoint(repo: Repository, caller: Caller, rid: str, can_pay: bool) -> int:
    endpoint = repo.get(rid, for_update=True)
    if endpoint is None or endpoint.provisioning_state is ProvisioningState.DELETING:
        return 0
    if endpoint.billing_suspended == (not can_pay):
        return 0
    properties = dict(endpoint.properties)
    endpoint.billing_suspended = not can_pay
    if can_pay:
        endpoint.properties = properties
        if properties.get("endpointState") == EndpointState.SUSPENDED:
            properties["endpointState"] = str(settled_state(repo, endpoint))
    else:
        if endpoint.provisioning_state is ProvisioningState.SUCCEEDED:
            properties["endpointState"] = str(EndpointState.SUSPENDED)
        endpoint.properties = properties
    touch(endpoint, caller)
    repo.save(endpoint)
    return 1


def settled_state(repo: Repository, endpoint: Resource) -> EndpointState:
    """The state of a provisioned endpoint: Suspended while its account cannot pay for it,
    Unhealthy when its marketplace subscription is gone, else Online."""
    if endpoint.billing_suspended:
        return EndpointState.SUSPENDED
    subscription_id = endpoint.properties.get("marketplaceSubscriptionId")
    if not subscription_id:
        return EndpointState.ONLINE
    subscription = repo.get(subscription_id)
    status = subscription.properties.get("marketplaceSubscriptionStatus") if subscription else None
    if status in (SubscriptionStatus.SUBSCRIBED, SubscriptionStatus.SUSPENDED):
        return EndpointState.ONLINE
    return EndpointState.UNHEALTHY
