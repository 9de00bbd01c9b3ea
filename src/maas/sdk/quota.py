"""`QuotaClient`: a deployment's quota and the requests to raise it.

    client = QuotaClient(MaasTokenCredential(token), base_url="http://127.0.0.1:8000")
    endpoint = "/subscriptions/s1/resourceGroups/rg/providers/…/workspaces/ws/serverlessEndpoints/chat"
    filed = client.quota_requests.create(endpoint, tokens_per_minute=500_000, reason="launch week")
    filed.status                      # "Pending"
    for request in client.quota_requests.list(status="Pending"): ...   # an operator's queue
    client.quota_requests.approve(filed.id, message="granted")          # operators only
    client.quota.get(endpoint).tokens_per_minute                        # 500000

A request's id is its ARM id (`{endpoint id}/providers/Microsoft.MaaS/quotaRequests/{name}`),
what `create` and `list` give back. `serialize()` gives the server's JSON (camelCase), as the
Azure SDKs' models do; `as_dict()` the attributes. Errors are `maas.sdk.errors` exceptions.
"""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from maas.sdk._transport import API_VERSION, Transport, TransportClient
from maas.sdk.credentials import TokenCredential
from maas.sdk.errors import ValidationError

__all__ = [
    "EndpointQuota",
    "QuotaClient",
    "QuotaOperations",
    "QuotaRequest",
    "QuotaRequestEvent",
    "QuotaRequestOperations",
]

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
REQUESTS = "/providers/Microsoft.MaaS/quotaRequests"
QUOTA = "/providers/Microsoft.MaaS/quotas/default"


def _path(resource_id: str) -> str:
    """An ARM id as a request path: one leading '/', each segment percent-encoded."""
    text = resource_id.strip().strip("/")
    if not text:
        return ""
    return "/" + "/".join(quote(part, safe="") for part in text.split("/"))


def _required_id(resource_id: str, what: str) -> str:
    path = _path(resource_id)
    if not path:
        raise ValidationError(f"{what} is required.")
    return path


@dataclass(frozen=True)
class QuotaRequestEvent:
    """One change of a request's state: to what, when, by whom, with which message."""

    status: str
    at: str
    by: str
    message: str


@dataclass
class QuotaRequest:
    """A quota increase request, as the server answered it."""

    id: str
    name: str
    endpoint_id: str
    tokens_per_minute: int | None
    requests_per_minute: int | None
    reason: str
    status: str  # Pending | Approved | Denied | Cancelled
    provisioning_state: str  # InProgress | Succeeded | Failed | Canceled
    message: str
    request_submit_time: str
    requested_by: str
    previous_limits: dict[str, int]
    applied_limits: dict[str, int] | None
    history: list[QuotaRequestEvent] = field(default_factory=list)
    _wire: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> QuotaRequest:
        props = body.get("properties") or {}
        limits = props.get("limits") or {}
        return cls(
            id=str(body.get("id", "")),
            name=str(body.get("name", "")),
            endpoint_id=str(props.get("endpointId", "")),
            tokens_per_minute=limits.get("tokensPerMinute"),
            requests_per_minute=limits.get("requestsPerMinute"),
            reason=str(props.get("reason", "")),
            status=str(props.get("status", "")),
            provisioning_state=str(props.get("provisioningState", "")),
            message=str(props.get("message") or ""),
            request_submit_time=str(props.get("requestSubmitTime", "")),
            requested_by=str(props.get("requestedBy", "")),
            previous_limits=dict(props.get("previousLimits") or {}),
            applied_limits=dict(props["appliedLimits"]) if props.get("appliedLimits") else None,
            history=[
                QuotaRequestEvent(str(e["status"]), str(e["at"]), str(e["by"]), str(e.get("message") or ""))
                for e in props.get("history") or []
            ],
            _wire=copy.deepcopy(dict(body)),
        )

    def serialize(self) -> dict[str, Any]:
        """The request as the server's JSON (camelCase ARM body)."""
        return copy.deepcopy(self._wire)

    def as_dict(self) -> dict[str, Any]:
        """The attributes, snake_case, as plain JSON-able values."""
        return {
            "id": self.id,
            "name": self.name,
            "endpoint_id": self.endpoint_id,
            "tokens_per_minute": self.tokens_per_minute,
            "requests_per_minute": self.requests_per_minute,
            "reason": self.reason,
            "status": self.status,
            "provisioning_state": self.provisioning_state,
            "message": self.message,
            "request_submit_time": self.request_submit_time,
            "requested_by": self.requested_by,
            "previous_limits": dict(self.previous_limits),
            "applied_limits": dict(self.applied_limits) if self.applied_limits else None,
            "history": [vars(e).copy() for e in self.history],
        }


@dataclass
class EndpointQuota:
    """A deployment's quota: the limits in force, whether they are the platform's defaults, and
    the changes made to them (oldest first)."""

    id: str
    tokens_per_minute: int
    requests_per_minute: int
    is_default: bool
    history: list[dict[str, Any]] = field(default_factory=list)
    _wire: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> EndpointQuota:
        props = body.get("properties") or {}
        return cls(
            id=str(body.get("id", "")),
            tokens_per_minute=int(props.get("tokensPerMinute", 0)),
            requests_per_minute=int(props.get("requestsPerMinute", 0)),
            is_default=bool(props.get("isDefault")),
            history=[dict(c) for c in props.get("history") or []],
            _wire=copy.deepcopy(dict(body)),
        )

    def serialize(self) -> dict[str, Any]:
        return copy.deepcopy(self._wire)


class QuotaOperations:
    """`client.quota`: one deployment's quota."""

    def __init__(self, client: QuotaClient) -> None:
        self._client = client

    def get(self, endpoint_id: str) -> EndpointQuota:
        path = _required_id(endpoint_id, "the endpoint id") + QUOTA
        return EndpointQuota.from_wire(self._client.send("GET", path))

    def set(
        self,
        endpoint_id: str,
        *,
        tokens_per_minute: int | None = None,
        requests_per_minute: int | None = None,
        reason: str = "",
    ) -> EndpointQuota:
        """Operators: raise or lower a deployment's quota (the change is recorded with `reason`)."""
        if tokens_per_minute is None and requests_per_minute is None:
            raise ValidationError("pass tokens_per_minute and/or requests_per_minute.")
        properties: dict[str, Any] = {"reason": reason}
        if tokens_per_minute is not None:
            properties["tokensPerMinute"] = tokens_per_minute
        if requests_per_minute is not None:
            properties["requestsPerMinute"] = requests_per_minute
        path = _required_id(endpoint_id, "the endpoint id") + QUOTA
        return EndpointQuota.from_wire(self._client.send("PUT", path, {"properties": properties}))


class QuotaRequestOperations:
    """`client.quota_requests`: file, read, list, cancel; approve and deny (operators)."""

    def __init__(self, client: QuotaClient) -> None:
        self._client = client

    @staticmethod
    def request_id(endpoint_id: str, name: str) -> str:
        """The id of the request `name` on an endpoint."""
        return _required_id(endpoint_id, "the endpoint id") + f"{REQUESTS}/{quote(name, safe='')}"

    def create(
        self,
        endpoint_id: str,
        *,
        reason: str,
        tokens_per_minute: int | None = None,
        requests_per_minute: int | None = None,
        name: str | None = None,
    ) -> QuotaRequest:
        """File a request to raise the endpoint's limits (either or both); `name` defaults to a
        new GUID. Repeating the same call with the same `name` returns the request filed."""
        if tokens_per_minute is None and requests_per_minute is None:
            raise ValidationError("pass tokens_per_minute and/or requests_per_minute.")
        if not reason or not reason.strip():
            raise ValidationError("a reason is required.")
        limits: dict[str, int] = {}
        if tokens_per_minute is not None:
            limits["tokensPerMinute"] = tokens_per_minute
        if requests_per_minute is not None:
            limits["requestsPerMinute"] = requests_per_minute
        path = self.request_id(endpoint_id, name or str(uuid.uuid4()))
        body = {"properties": {"limits": limits, "reason": reason}}
        return QuotaRequest.from_wire(self._client.send("PUT", path, body))

    def get(self, request_id: str) -> QuotaRequest:
        return QuotaRequest.from_wire(self._client.send("GET", _required_id(request_id, "the request id")))

    def list(self, scope: str = "/", *, status: str | None = None) -> Iterator[QuotaRequest]:
        """The requests at `scope` (`/`: everywhere; or an account, resource group, workspace or
        endpoint id) that the caller may read, newest first; `status` keeps one status."""
        path = _path(scope) + REQUESTS
        if status:
            escaped = status.replace("'", "''")
            # a path with a query names its api-version too (the transport keeps that query)
            query = {"api-version": self._client.api_version, "$filter": f"status eq '{escaped}'"}
            path += f"?{httpx.QueryParams(query)}"
        next_path: str | None = path
        while next_path:
            page = self._client.send("GET", next_path) or {}
            for item in page.get("value") or []:
                yield QuotaRequest.from_wire(item)
            link = page.get("nextLink")
            next_path = self._client.local(link) if link else None

    def _act(self, request_id: str, verb: str, message: str | None) -> QuotaRequest:
        path = _required_id(request_id, "the request id") + f"/{verb}"
        body = {"message": message} if message else None
        return QuotaRequest.from_wire(self._client.send("POST", path, body))

    def cancel(self, request_id: str, *, message: str | None = None) -> QuotaRequest:
        """Withdraw a pending request."""
        return self._act(request_id, "cancel", message)

    def approve(self, request_id: str, *, message: str | None = None) -> QuotaRequest:
        """Operators: approve a pending request; its limits are in force when this returns."""
        return self._act(request_id, "approve", message)

    def deny(self, request_id: str, *, message: str | None = None) -> QuotaRequest:
        """Operators: deny a pending request, saying why in `message`."""
        return self._act(request_id, "deny", message)


class QuotaClient(TransportClient):
    """A client for a MaaS server's quotas and quota requests. Close it (or use `with`) when
    done. `base_url` defaults to $MAAS_URL, else http://127.0.0.1:8000."""

    def __init__(
        self,
        credential: TokenCredential,
        base_url: str | None = None,
        *,
        verify: bool | str = True,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        api_version: str = API_VERSION,
    ) -> None:
        self._transport = Transport(
            credential,
            base_url or os.environ.get("MAAS_URL") or DEFAULT_BASE_URL,
            verify=verify,
            timeout=timeout,
            transport=transport,
            api_version=api_version,
        )
        self.quota = QuotaOperations(self)
        self.quota_requests = QuotaRequestOperations(self)

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    @property
    def api_version(self) -> str:
        return self._transport.api_version

    def send(self, method: str, path: str, body: Any = None) -> Any:
        """One request with the credential's token; the JSON answer, or None when it is empty."""
        return Transport.json(self._transport.send(method, path, body))

    def local(self, url: str) -> str:
        return self._transport.local(url)

    def __repr__(self) -> str:
        return f"QuotaClient(base_url={self.base_url!r})"
