"""The `Microsoft.SaaS/resources` items, one per marketplace subscription: where costs land.

Deleting one (`az resource delete --name <offer>-<guid>`, as the seed suggests) unsubscribes: its
marketplace subscription is deleted with the usual effects (its endpoints turn Unhealthy at once),
then the item itself goes. Usage already billed to it stays in the cost totals.
"""

from __future__ import annotations

from maas.controlplane.domain.resources import Resource
from maas.controlplane.services import crud, marketplace
from maas.controlplane.services.context import Caller, Services, require_resource
from maas.controlplane.store.repository import Repository
from maas.core.ids import SAAS_TYPE, resource_group_id, saas_resource_id
from maas.protocol.management import kinds


def list_saas(services: Services, caller: Caller, sub: str, rg: str) -> list[Resource]:
    caller.require(f"{SAAS_TYPE}/read", resource_group_id(sub, rg))
    with services.db.read() as connection:
        repo = Repository(connection)
        require_resource(repo, resource_group_id(sub, rg), "resource group")
        return [r for r in repo.in_scope(sub, rg, types=[SAAS_TYPE])]


def get_saas(services: Services, caller: Caller, sub: str, rg: str, name: str) -> Resource:
    return crud.read(services, caller, kinds.SAAS, saas_resource_id(sub, rg, name))


def delete_saas(services: Services, caller: Caller, sub: str, rg: str, name: str) -> bool:
    rid = saas_resource_id(sub, rg, name)
    caller.require(f"{SAAS_TYPE}/delete", rid)
    with services.db.read() as connection:
        saas = Repository(connection).get(rid)
    if saas is None:
        return False
    subscription_id = str(saas.properties.get("marketplaceSubscriptionId") or "")
    parts = subscription_id.split("/")
    if (
        len(parts) == 11
    ):  # /subscriptions/s/resourceGroups/g/providers/ns/workspaces/w/marketplaceSubscriptions/n
        marketplace.delete_subscription(services, caller, parts[2], parts[4], parts[8], parts[10])
    with services.db.write() as connection:
        repo = Repository(connection)
        if repo.get(rid, for_update=True) is not None:
            repo.delete(rid)
            repo.log_activity(caller.actor, f"{SAAS_TYPE}/delete", rid, "Succeeded")
    return True
