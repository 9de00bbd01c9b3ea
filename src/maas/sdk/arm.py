"""`ArmClient`: any resource of a MaaS server by its ARM path, for what the typed clients
(`MLClient`, `CostManagementClient`) do not model — resource groups, generic resources, template
deployments, role assignments, the operator's catalog — as azure-mgmt-resource's generic
`resources` operations do for Azure.

    arm = ArmClient(MaasTokenCredential(token), base_url="https://maas.example:8443")
    arm.request("PUT", "/subscriptions/s1/resourceGroups/rg", {"location": "eastus2"})
    for item in arm.list("/subscriptions/s1/resources", api_version="2021-04-01"): ...
    arm.begin_create_or_update(deployment_path, body, api_version="2021-04-01").result()
    arm.begin_delete(resource_id).result()

Guarantees: bodies are JSON in and JSON out (None for an empty answer); errors are the SDK's
(`HttpResponseError`, `ServiceRequestError`), never httpx's; a listing follows `nextLink` lazily
and on the configured server only; long-running operations are `LROPoller`s that follow ARM's
ways of reporting progress: `Azure-AsyncOperation`, a 202's `Location`, or the resource's own
`properties.provisioningState`. `MLClient`'s operations are built on the same pager and poller.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import httpx

from maas.sdk._transport import API_VERSION, Transport, TransportClient
from maas.sdk.credentials import TokenCredential
from maas.sdk.pollers import TERMINAL, LROPoller

__all__ = ["ArmClient"]

T = TypeVar("T")
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


class ArmClient(TransportClient):
    """Requests to any ARM path of one MaaS server. Close it (or use `with`) when done.

    `base_url` defaults to $MAAS_URL, else http://127.0.0.1:8000; `verify` (a CA bundle path or
    a bool) to $MAAS_CA_BUNDLE, else $REQUESTS_CA_BUNDLE, else True. `api_version` is sent with
    every request that names none (each method takes its own); `polling_interval` caps the seconds
    between polls (the server's `Retry-After` otherwise); `transport` replaces httpx's.
    """

    def __init__(
        self,
        credential: TokenCredential,
        base_url: str | None = None,
        *,
        verify: str | bool | None = None,
        timeout: float = 60.0,
        polling_interval: float | None = None,
        transport: httpx.BaseTransport | None = None,
        api_version: str = API_VERSION,
    ) -> None:
        if verify is None:
            bundle = os.environ.get("MAAS_CA_BUNDLE") or os.environ.get("REQUESTS_CA_BUNDLE")
            verify = bundle or True
        self._transport = Transport(
            credential,
            base_url or os.environ.get("MAAS_URL") or DEFAULT_BASE_URL,
            verify=verify,
            timeout=timeout,
            transport=transport,
            api_version=api_version,
        )
        self._polling_interval = polling_interval

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    def request(self, method: str, path: str, body: Any = None, *, api_version: str | None = None) -> Any:
        """One request; the answer's JSON, or None when it has no body."""
        return Transport.json(self._transport.send(method, path, body, api_version=api_version))

    def list(self, path: str, *, api_version: str | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a listing (`value`), following `nextLink` as it is read."""
        return self._pages(path, dict, api_version=api_version)

    def begin_create_or_update(
        self, path: str, body: Any, *, api_version: str | None = None
    ) -> LROPoller[Any]:
        """PUT a resource; the poller's result is the resource once it is provisioned. Without an
        operation URL, a `properties.provisioningState` that is not terminal is polled with GETs
        of the resource, and its `properties.error` is the failure."""
        response = self._transport.send("PUT", path, body, api_version=api_version)
        if response.headers.get("Azure-AsyncOperation") or _location(response):
            return self._poller(response, lambda: self.request("GET", path, api_version=api_version))
        resource = Transport.json(response)
        state = _state(resource)
        if state is None or state in TERMINAL:
            return LROPoller.finished(resource)
        latest = [resource]

        def poll() -> tuple[dict[str, Any], float]:
            answer = self._transport.send("GET", path, api_version=api_version)
            latest[0] = Transport.json(answer)
            properties = latest[0].get("properties") or {}
            return {"status": _state(latest[0]), "error": properties.get("error")}, _retry_after(answer)

        return LROPoller(
            lambda: latest[0],
            poll=poll,
            interval=_retry_after(response),
            max_interval=self._polling_interval,
        )

    def begin_delete(self, path: str, *, api_version: str | None = None) -> LROPoller[None]:
        """DELETE a resource; the poller is done once the server says the deletion ended."""
        response = self._transport.send("DELETE", path, api_version=api_version)
        return self._poller(response, lambda: None)

    def _pages(
        self, path: str, read: Callable[[Mapping[str, Any]], T], *, api_version: str | None = None
    ) -> Iterator[T]:
        next_path: str | None = path
        while next_path:
            page = self.request("GET", next_path, api_version=api_version) or {}
            for item in page.get("value") or []:
                yield read(item)
            link = page.get("nextLink")
            next_path = self._transport.local(link) if link else None

    def _poller(self, response: httpx.Response, resolve: Callable[[], T]) -> LROPoller[T]:
        """A poller over the operation `response` started: its `Azure-AsyncOperation` status, or
        a 202's `Location` (202 while running); done at once when it has neither."""
        status_url = response.headers.get("Azure-AsyncOperation")
        location = _location(response)
        if not status_url and not location:
            return LROPoller(resolve)
        url = status_url or location
        assert url is not None
        status_path = self._transport.local(url)

        def poll() -> tuple[dict[str, Any], float]:
            answer = self._transport.send("GET", status_path)
            if status_url:
                return Transport.json(answer) or {}, _retry_after(answer)
            return {"status": "InProgress" if answer.status_code == 202 else "Succeeded"}, _retry_after(
                answer
            )

        return LROPoller(
            resolve,
            poll=poll,
            interval=_retry_after(response),
            max_interval=self._polling_interval,
        )

    def __repr__(self) -> str:
        return f"ArmClient(base_url={self.base_url!r})"


def _location(response: httpx.Response) -> str | None:
    return response.headers.get("Location") if response.status_code == 202 else None


def _state(resource: Any) -> str | None:
    properties = resource.get("properties") if isinstance(resource, dict) else None
    state = properties.get("provisioningState") if isinstance(properties, dict) else None
    return str(state) if state else None


def _retry_after(response: httpx.Response) -> float:
    try:
        return float(response.headers.get("Retry-After", "1"))
    except ValueError:
        return 1.0
