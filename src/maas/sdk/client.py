"""`MLClient`: azure-ai-ml's client shape over a MaaS server, and the small transport under it.

    client = MLClient(MaasTokenCredential(token), "<subscription>", "<group>", "<workspace>",
                      base_url="https://maas.example:8443")
    client.marketplace_subscriptions / serverless_endpoints / connections / workspaces

HTTP goes through `maas.sdk.arm.ArmClient` (its pager and long-running-operation poller) over
`maas.sdk._transport.Transport`, with `api-version=2024-01-01-preview` (what azure-ai-ml sends).
"""

from __future__ import annotations

import httpx

from maas.sdk._transport import API_VERSION, Transport, TransportClient
from maas.sdk.arm import ArmClient
from maas.sdk.credentials import TokenCredential
from maas.sdk.errors import MaasClientError
from maas.sdk.operations import (
    ML,
    ConnectionsOperations,
    MarketplaceSubscriptionOperations,
    ServerlessEndpointOperations,
    WorkspaceOperations,
    segment,
)

__all__ = ["API_VERSION", "MLClient", "Transport"]


class MLClient(TransportClient):
    """A client for one subscription (account), and optionally one resource group and workspace.

    `base_url` defaults to $MAAS_URL, else http://127.0.0.1:8000; `verify` (a CA bundle path or
    a bool) to $MAAS_CA_BUNDLE, else $REQUESTS_CA_BUNDLE, else True. `polling_interval` caps the
    seconds between polls of long-running operations (the server's `Retry-After` otherwise);
    `transport` replaces httpx's (tests pass `httpx.MockTransport`).
    """

    def __init__(
        self,
        credential: TokenCredential,
        subscription_id: str,
        resource_group_name: str | None = None,
        workspace_name: str | None = None,
        *,
        base_url: str | None = None,
        verify: str | bool | None = None,
        timeout: float = 60.0,
        polling_interval: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not subscription_id:
            raise MaasClientError("MLClient needs a subscription_id.")
        self.subscription_id = subscription_id
        self.resource_group_name = resource_group_name
        self.workspace_name = workspace_name
        self._arm = ArmClient(
            credential,
            base_url,
            verify=verify,
            timeout=timeout,
            polling_interval=polling_interval,
            transport=transport,
        )
        self._transport = self._arm._transport
        self.marketplace_subscriptions = MarketplaceSubscriptionOperations(self)
        self.serverless_endpoints = ServerlessEndpointOperations(self)
        self.connections = ConnectionsOperations(self)
        self.workspaces = WorkspaceOperations(self)

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    def _group_path(self) -> str:
        if not self.resource_group_name:
            raise MaasClientError("MLClient needs a resource_group_name for this operation.")
        group = segment(self.resource_group_name)
        return f"/subscriptions/{segment(self.subscription_id)}/resourceGroups/{group}"

    def _workspace_path(self, workspace: str | None = None) -> str:
        name = workspace or self.workspace_name
        if not name:
            raise MaasClientError("MLClient needs a workspace_name for this operation.")
        return f"{self._group_path()}/providers/{ML}/workspaces/{segment(name)}"

    def __repr__(self) -> str:
        return (
            f"MLClient(subscription_id={self.subscription_id!r}, resource_group_name="
            f"{self.resource_group_name!r}, workspace_name={self.workspace_name!r}, "
            f"base_url={self.base_url!r})"
        )
