"""The operation groups of `MLClient`, one class per resource, as azure-ai-ml names them.

Each method is one ARM call (or a poller over one) under the client's workspace; listings follow
`nextLink` lazily. Long-running calls return `LROPoller`s: an endpoint's create and delete poll
`Azure-AsyncOperation` (the server answers 201/202 and finishes in the background); a
subscription's create, a key regeneration and a 204 DELETE are already done when they return.
Paging and polling are `ArmClient`'s, so the SDK has one of each.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import quote

from maas.sdk.entities import (
    EndpointAuthKeys,
    MarketplaceSubscription,
    ServerlessConnection,
    ServerlessEndpoint,
    Workspace,
)
from maas.sdk.errors import ValidationError
from maas.sdk.pollers import LROPoller

if TYPE_CHECKING:
    from maas.sdk.client import MLClient

__all__ = [
    "ConnectionsOperations",
    "MarketplaceSubscriptionOperations",
    "ServerlessEndpointOperations",
    "WorkspaceOperations",
]

_KEY_TYPES = {"primary": "Primary", "secondary": "Secondary"}


ML = "Microsoft.MachineLearningServices"


def segment(value: str) -> str:
    """One path segment, percent-encoded."""
    return quote(value, safe="")


def _name(value: str) -> str:
    if not value:
        raise ValidationError("a resource name is required.")
    return segment(value)


class _Operations:
    _collection = ""

    def __init__(self, client: MLClient) -> None:
        self._client = client
        self._arm = client._arm
        self._transport = client._transport

    def _path(self, name: str | None = None) -> str:
        path = f"{self._client._workspace_path()}/{self._collection}"
        return path if name is None else f"{path}/{_name(name)}"


class MarketplaceSubscriptionOperations(_Operations):
    """`client.marketplace_subscriptions`: the workspace's subscriptions to marketplace offers."""

    _collection = "marketplaceSubscriptions"

    def begin_create_or_update(
        self, marketplace_subscription: MarketplaceSubscription
    ) -> LROPoller[MarketplaceSubscription]:
        sub = marketplace_subscription
        response = self._transport.send("PUT", self._path(sub.name), sub._to_rest())
        created = MarketplaceSubscription._from_rest(self._transport.json(response) or {})
        if "Azure-AsyncOperation" not in response.headers:
            return LROPoller.finished(created)
        return self._arm._poller(response, lambda: self.get(sub.name))

    def get(self, name: str) -> MarketplaceSubscription:
        return MarketplaceSubscription._from_rest(self._arm.request("GET", self._path(name)))

    def list(self) -> Iterator[MarketplaceSubscription]:
        return self._arm._pages(self._path(), MarketplaceSubscription._from_rest)

    def begin_delete(self, name: str) -> LROPoller[None]:
        return self._arm._poller(self._transport.send("DELETE", self._path(name)), lambda: None)


class ServerlessEndpointOperations(_Operations):
    """`client.serverless_endpoints`: serverless API endpoints, their keys, and deletion."""

    _collection = "serverlessEndpoints"

    def begin_create_or_update(self, endpoint: ServerlessEndpoint) -> LROPoller[ServerlessEndpoint]:
        # Without a location the server puts the endpoint in its workspace's region (as Azure
        # does); a versioned model id is the server's 400 VersionedModelIdNotAllowed to report.
        response = self._transport.send("PUT", self._path(endpoint.name), endpoint._to_rest())
        if "Azure-AsyncOperation" not in response.headers:
            return LROPoller.finished(ServerlessEndpoint._from_rest(self._transport.json(response) or {}))
        return self._arm._poller(response, lambda: self.get(endpoint.name))

    def get(self, name: str) -> ServerlessEndpoint:
        return ServerlessEndpoint._from_rest(self._arm.request("GET", self._path(name)))

    def list(self) -> Iterator[ServerlessEndpoint]:
        return self._arm._pages(self._path(), ServerlessEndpoint._from_rest)

    def get_keys(self, name: str) -> EndpointAuthKeys:
        return EndpointAuthKeys._from_rest(self._arm.request("POST", self._path(name) + "/listKeys") or {})

    def begin_regenerate_keys(self, name: str, *, key_type: str = "primary") -> LROPoller[EndpointAuthKeys]:
        wire_type = _KEY_TYPES.get(key_type.lower())
        if wire_type is None:
            raise ValidationError(f"key_type must be 'primary' or 'secondary', not {key_type!r}.")
        response = self._transport.send("POST", self._path(name) + "/regenerateKeys", {"keyType": wire_type})
        if "Azure-AsyncOperation" in response.headers:
            return self._arm._poller(response, lambda: self.get_keys(name))
        return LROPoller.finished(EndpointAuthKeys._from_rest(self._transport.json(response) or {}))

    def begin_delete(self, name: str) -> LROPoller[None]:
        return self._arm._poller(self._transport.send("DELETE", self._path(name)), lambda: None)


class ConnectionsOperations(_Operations):
    """`client.connections`: the workspace's connections (category Serverless)."""

    _collection = "connections"

    def create_or_update(self, connection: ServerlessConnection) -> ServerlessConnection:
        body = self._arm.request("PUT", self._path(connection.name), connection._to_rest())
        return ServerlessConnection._from_rest(body or {})

    def get(self, name: str, *, populate_secrets: bool = False) -> ServerlessConnection:
        if populate_secrets:
            return ServerlessConnection._from_rest(
                self._arm.request("POST", self._path(name) + "/listsecrets")
            )
        return ServerlessConnection._from_rest(self._arm.request("GET", self._path(name)))

    def list(self) -> Iterator[ServerlessConnection]:
        return self._arm._pages(self._path(), ServerlessConnection._from_rest)

    def delete(self, name: str) -> None:
        self._transport.send("DELETE", self._path(name))


class WorkspaceOperations(_Operations):
    """`client.workspaces`: read the client's workspace, or the workspaces of its group."""

    def get(self, name: str | None = None) -> Workspace:
        return Workspace._from_rest(self._arm.request("GET", self._client._workspace_path(name)))

    def list(self) -> Iterator[Workspace]:
        return self._arm._pages(
            f"{self._client._group_path()}/providers/{ML}/workspaces", Workspace._from_rest
        )
