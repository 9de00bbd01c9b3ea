"""The `Microsoft.SaaS/resources` items, one per marketplace subscription: where costs land."""

from __future__ import annotations

from typing import Any

from maas.controlplane.services.context import Caller, Services, require_resource
from maas.controlplane.store.repository import Repository
from maas.core.ids import SAAS_TYPE, resource_group_id, saas_resource_id


def list_saas(services: Services, caller: Caller, sub: str, rg: str) -> list[dict[str, Any]]:
    caller.require(f"{SAAS_TYPE}/read", resource_group_id(sub, rg))
    with services.db.read() as connection:
        repo = Repository(connection)
        require_resource(repo, resource_group_id(sub, rg), "resource group")
        return [r.to_arm() for r in repo.in_scope(sub, rg, types=[SAAS_TYPE])]


def get_saas(services: Services, caller: Caller, sub: str, rg: str, name: str) -> dict[str, Any]:
    rid = saas_resource_id(sub, rg, name)
    caller.require(f"{SAAS_TYPE}/read", rid)
    with services.db.read() as connection:
        return require_resource(Repository(connection), rid, "SaaS resource").to_arm()
