"""`CostManagementClient`: MaaS cost queries through the surface of azure-mgmt-costmanagement.

    client = CostManagementClient(MaasTokenCredential(token), base_url="http://127.0.0.1:8000")
    result = client.query.usage("/subscriptions/sub1", {"type": "Usage", "timeframe": ...})
    result.columns[0].name, result.rows, result.next_link, result.as_dict()

`parameters` is the QueryDefinition as a dict (see docs/billing.md); the answer is a
`QueryResult` with the attributes Azure's has. httpx does the HTTP; a transport can be injected
(tests use `httpx.MockTransport`). Errors are `maas.sdk.errors` exceptions, never httpx's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from maas.sdk._transport import Transport, TransportClient
from maas.sdk.credentials import TokenCredential

API_VERSION = "2023-11-01"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class QueryColumn:
    name: str
    type: str


@dataclass
class QueryResult:
    """One answer: `columns` name the values of each of `rows`; `next_link` is the next page."""

    id: str | None = None
    name: str | None = None
    type: str | None = None
    columns: list[QueryColumn] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    next_link: str | None = None

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> QueryResult:
        properties = body.get("properties") or {}
        return cls(
            id=body.get("id"),
            name=body.get("name"),
            type=body.get("type"),
            columns=[QueryColumn(str(c["name"]), str(c["type"])) for c in properties.get("columns") or []],
            rows=[list(row) for row in properties.get("rows") or []],
            next_link=properties.get("nextLink", body.get("nextLink")),
        )

    def as_dict(self) -> dict[str, Any]:
        """Attribute names, properties flattened — what the Azure SDK's `as_dict()` gives."""
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "next_link": self.next_link,
            "columns": [{"name": c.name, "type": c.type} for c in self.columns],
            "rows": [list(row) for row in self.rows],
        }


class QueryOperations:
    """`client.query`: cost queries at a scope."""

    def __init__(self, client: CostManagementClient) -> None:
        self._client = client

    def usage(self, scope: str, parameters: Mapping[str, Any]) -> QueryResult:
        """Query usage and cost at `scope` (an account, resource group, workspace, serverless
        endpoint or SaaS resource id, with or without its leading '/')."""
        path = quote("/" + scope.strip("/"), safe="/") + "/providers/Microsoft.CostManagement/query"
        body = self._client.send("POST", path, dict(parameters))
        return QueryResult.from_wire(body) if body is not None else QueryResult()


class CostManagementClient(TransportClient):
    """A client for a MaaS server's Cost Management API. Close it (or use `with`) when done."""

    def __init__(
        self,
        credential: TokenCredential,
        base_url: str = DEFAULT_BASE_URL,
        *,
        api_version: str = API_VERSION,
        verify: bool | str = True,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._transport = Transport(
            credential, base_url, verify=verify, timeout=timeout, transport=transport, api_version=api_version
        )
        self.query = QueryOperations(self)

    def send(self, method: str, path: str, body: Any = None) -> Any:
        """One request with the credential's token; the JSON answer, or None when it is empty."""
        return Transport.json(self._transport.send(method, path, body))
