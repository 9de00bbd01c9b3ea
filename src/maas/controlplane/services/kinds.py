"""What the server does to create or remove each deployable kind: the behaviour half of the kinds
registry (`maas.protocol.management.kinds` holds the wire half).

Template deployments loop over `DEPLOYABLE`: a resource in a template is created through the same
service call its own API uses (same RBAC checks, same rules), and removed the same way when the
deployment rolls back. Each entry takes the names below the resource group (`("ws",)` for a
workspace, `("ws", "ep")` for an endpoint) and answers whether it created the resource and the
long-running operation, if any, that the caller must wait for.

Adding a deployable kind is one `Kind` entry with `deployable=True` and one `Behaviour` here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from maas.controlplane.services import connections, endpoints, marketplace, workspaces
from maas.controlplane.services.context import Caller, Services
from maas.protocol.management import kinds
from maas.protocol.management.kinds import Kind

__all__ = ["DEPLOYABLE", "Behaviour", "Created"]

Created = tuple[bool, str | None]  # (created, operation to wait for)
Names = tuple[str, ...]


@dataclass(frozen=True)
class Behaviour:
    put: Callable[[Services, Caller, str, str, Names, Any], Created]
    delete: Callable[[Services, Caller, str, str, Names], str | None]  # an operation to wait for


def _workspace_put(services: Services, caller: Caller, sub: str, rg: str, names: Names, body: Any) -> Created:
    return workspaces.put_workspace(services, caller, sub, rg, names[0], body).created, None


def _workspace_delete(services: Services, caller: Caller, sub: str, rg: str, names: Names) -> None:
    workspaces.delete_workspace(services, caller, sub, rg, names[0])


def _subscription_put(
    services: Services, caller: Caller, sub: str, rg: str, names: Names, body: Any
) -> Created:
    return marketplace.put_subscription(services, caller, sub, rg, names[0], names[1], body).created, None


def _subscription_delete(services: Services, caller: Caller, sub: str, rg: str, names: Names) -> None:
    marketplace.delete_subscription(services, caller, sub, rg, names[0], names[1])


def _endpoint_put(services: Services, caller: Caller, sub: str, rg: str, names: Names, body: Any) -> Created:
    result = endpoints.put_endpoint(services, caller, sub, rg, names[0], names[1], body)
    return result.created, result.operation


def _endpoint_delete(services: Services, caller: Caller, sub: str, rg: str, names: Names) -> str | None:
    found = endpoints.delete_endpoint(services, caller, sub, rg, names[0], names[1])
    return found[0] if found is not None else None


def _connection_put(
    services: Services, caller: Caller, sub: str, rg: str, names: Names, body: Any
) -> Created:
    return connections.put_connection(services, caller, sub, rg, names[0], names[1], body).created, None


def _connection_delete(services: Services, caller: Caller, sub: str, rg: str, names: Names) -> None:
    connections.delete_connection(services, caller, sub, rg, names[0], names[1])


DEPLOYABLE: MappingProxyType[Kind, Behaviour] = MappingProxyType(
    {
        kinds.WORKSPACE: Behaviour(_workspace_put, _workspace_delete),
        kinds.MARKETPLACE_SUBSCRIPTION: Behaviour(_subscription_put, _subscription_delete),
        kinds.SERVERLESS_ENDPOINT: Behaviour(_endpoint_put, _endpoint_delete),
        kinds.CONNECTION: Behaviour(_connection_put, _connection_delete),
    }
)
