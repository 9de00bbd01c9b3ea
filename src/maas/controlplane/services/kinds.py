"""What the server does to create or remove each deployable kind: the behaviour half of the kinds
registry (`maas.protocol.management.kinds` holds the wire half).

Template deployments loop over `DEPLOYABLE`: a resource in a template is created through the same
service call its own API uses (same RBAC checks, same rules), and removed the same way when the
deployment rolls back. Each entry takes the names below the resource group (`("ws",)` for a
workspace, `("ws", "ep")` for an endpoint); PUT answers `Saved` (created? and the long-running
operation, if any, to wait for), DELETE the operation to wait for, if any.

Adding a deployable kind is one `Kind` entry with `deployable=True` and one `Behaviour` here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from maas.controlplane.domain.resources import Resource
from maas.controlplane.services import connections, endpoints, marketplace, workspaces
from maas.controlplane.services.context import Caller, Saved, Services
from maas.protocol.management import kinds
from maas.protocol.management.kinds import Kind

__all__ = ["DEPLOYABLE", "Behaviour"]

# Every deployable kind's service takes (services, caller, sub, rg, *names[, body]): PUT answers
# `Saved`, DELETE whether it deleted — or, for endpoints, the (operation, location) it started.
Put = Callable[..., Saved[Resource]]
Delete = Callable[..., object]


@dataclass(frozen=True)
class Behaviour:
    """How a template deployment creates one resource of the kind, and removes it on rollback."""

    put_call: Put
    delete_call: Delete

    def put(
        self, services: Services, caller: Caller, sub: str, rg: str, names: tuple[str, ...], body: Any
    ) -> Saved[Resource]:
        return self.put_call(services, caller, sub, rg, *names, body)

    def delete(
        self, services: Services, caller: Caller, sub: str, rg: str, names: tuple[str, ...]
    ) -> str | None:
        """Delete it; the long-running operation to wait for, if the deletion started one."""
        result = self.delete_call(services, caller, sub, rg, *names)
        return str(result[0]) if isinstance(result, tuple) else None


DEPLOYABLE: MappingProxyType[Kind, Behaviour] = MappingProxyType(
    {
        kinds.WORKSPACE: Behaviour(workspaces.put_workspace, workspaces.delete_workspace),
        kinds.MARKETPLACE_SUBSCRIPTION: Behaviour(
            marketplace.put_subscription, marketplace.delete_subscription
        ),
        kinds.SERVERLESS_ENDPOINT: Behaviour(endpoints.put_endpoint, endpoints.delete_endpoint),
        kinds.CONNECTION: Behaviour(connections.put_connection, connections.delete_connection),
    }
)
