"""The SDK's one place that does HTTP (httpx), shared by `MLClient` and `CostManagementClient`.

It adds the credential's bearer token and an `api-version` (unless the path has one), turns the
ARM error envelope into `HttpResponseError` and connection failures into `ServiceRequestError`.
Operation URLs the server returns (`Azure-AsyncOperation`, `nextLink`) are followed on the
configured server only (`local`): their path and query are joined to `base_url`, so the token
never goes anywhere else.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import httpx

from maas.sdk.credentials import MANAGEMENT_SCOPE, TokenCredential
from maas.sdk.errors import HttpResponseError, ServiceRequestError

__all__ = ["API_VERSION", "Transport", "TransportClient"]

API_VERSION = "2024-01-01-preview"


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
        api_version: str = API_VERSION,
    ) -> None:
        self._credential = credential
        self.api_version = api_version
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, verify=verify, timeout=timeout, transport=transport)

    def local(self, url: str) -> str:
        """A URL the server sent, as a path (and query) on the configured server."""
        parts = urlsplit(url)
        base_path = urlsplit(self.base_url).path
        path = parts.path.removeprefix(base_path) if base_path and parts.scheme else parts.path
        return path + (f"?{parts.query}" if parts.query else "")

    def send(
        self, method: str, path: str, body: Any = None, *, api_version: str | None = None
    ) -> httpx.Response:
        """One request; any status of 400 or more raises `HttpResponseError`. `api_version`
        replaces the client's for this request (a path that carries one keeps its own)."""
        token = self._credential.get_token(MANAGEMENT_SCOPE).token
        params = None if "api-version=" in path else {"api-version": api_version or self.api_version}
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


class TransportClient:
    """What every SDK client that owns a `Transport` does with it: close it, also as a context
    manager (`with MLClient(...) as client:`)."""

    _transport: Transport

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
