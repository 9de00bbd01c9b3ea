"""`MLClient`: azure-ai-ml's client shape over a MaaS server, and the small transport under it.

    client = MLClient(MaasTokenCredential(token), "<subscription>", "<group>", "<workspace>",
                      base_url="https://maas.example:8443")
    client.marketplace_subscriptions / serverless_endpoints / connections / workspaces

`Transport` is the only place that does HTTP (httpx): it adds the credential's bearer token and
`api-version=2024-01-01-preview` (what azure-ai-ml sends), turns the ARM error envelope into
`HttpResponseError` and connection failures into `ServiceRequestError`. Operation URLs the
server returns (`Azure-AsyncOperation`, `nextLink`) are followed on the configured server only:
their path and query are joined to `base_url`, so the token never goes anywhere else.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from maas.sdk.credentials import MANAGEMENT_SCOPE, TokenCredential
from maas.sdk.errors import HttpResponseError, MaasClientError, ServiceRequestError
from maas.sdk.operations import (
    ML,
    ConnectionsOperations,
    MarketplaceSubscriptionOperations,
    ServerlessEndpointOperations,
    WorkspaceOperations,
    segment,
)

__all__ = ["API_VERSION", "MLClient", "Transport"]

API_VERSION = "2024-01-01-preview"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


class Transport:
    """Authenticated JSON requests to one MaaS server."""

    def __init__(
        self,
        credential: TokenCredential,
        base_url: str,
        *,
        verify: str | bool = True,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._credential = credential
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, verify=verify, timeout=timeout, transport=transport)

    def local(self, url: str) -> str:
        """A URL the server sent, as a path (and query) on the configured server."""
        parts = urlsplit(url)
        base_path = urlsplit(self.base_url).path
        path = parts.path.removeprefix(base_path) if base_path and parts.scheme else parts.path
        return path + (f"?{parts.query}" if parts.query else "")

    def send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """One request; any status of 400 or more raises `HttpResponseError`."""
        token = self._credential.get_token(MANAGEMENT_SCOPE).token
        params = None if "api-version=" in path else {"api-version": API_VERSION}
        try:
            response = self._http.request(
                method,
                path,
                json=body,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise ServiceRequestError(f"cannot reach MaaS at {self.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise HttpResponseError.from_response(response)
        return response

    @staticmethod
    def json(response: httpx.Response) -> Any:
        """The answer's JSON body, or None when it has none."""
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise HttpResponseError(
                f"the answer is not JSON: {response.text[:200]!r}",
                status_code=response.status_code,
                code="InvalidResponse",
            ) from exc

    def close(self) -> None:
        self._http.close()


class MLClient:
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
        if verify is None:
            bundle = os.environ.get("MAAS_CA_BUNDLE") or os.environ.get("REQUESTS_CA_BUNDLE")
            verify = bundle or True
        self._transport = Transport(
            credential,
            base_url or os.environ.get("MAAS_URL") or DEFAULT_BASE_URL,
            verify=verify,
            timeout=timeout,
            transport=transport,
        )
        self._polling_interval = polling_interval
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

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> MLClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"MLClient(subscription_id={self.subscription_id!r}, resource_group_name="
            f"{self.resource_group_name!r}, workspace_name={self.workspace_name!r}, "
            f"base_url={self.base_url!r})"
        )
