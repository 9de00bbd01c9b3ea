"""The SDK's entities: what a user builds and what the server's ARM bodies are read into.

Names and fields follow azure-ai-ml 1.35.2 (`MarketplaceSubscription`, `ServerlessEndpoint`,
`ServerlessConnection`, `MarketplacePlan`, `EndpointAuthKeys`, `Workspace`), so code written
for Azure reads the same values here. A user sets the writable fields in the constructor; the
read-only ones (`id`, `provisioning_state`, `scoring_uri`, ...) are filled from the server's
answer by `_from_rest` and never sent. `as_dict()` gives plain, JSON-able, snake_case fields,
leaving out those that are None, as azure-ai-ml's `as_dict()` does.

Conversion to and from the wire (camelCase ARM bodies) lives here, next to the fields it maps.
States are snake_case as azure-ai-ml reports them ("succeeded", "subscribed").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import KW_ONLY, asdict, dataclass, field
from typing import Any, Self

__all__ = [
    "EndpointAuthKeys",
    "MarketplacePlan",
    "MarketplaceSubscription",
    "ServerlessConnection",
    "ServerlessEndpoint",
    "Workspace",
]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_AUTH_MODES = {"key": "Key", "aad": "AAD"}


def snake(value: str | None) -> str | None:
    """'PendingFulfillmentStart' -> 'pending_fulfillment_start' (azure-ai-ml's camel_to_snake)."""
    return _CAMEL.sub("_", value).lower() if value else value


def _system_data(body: Mapping[str, Any]) -> dict[str, Any] | None:
    data = body.get("systemData")
    if not isinstance(data, Mapping):
        return None
    return {_CAMEL.sub("_", str(key)).lower(): value for key, value in data.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _tags(body: Mapping[str, Any]) -> dict[str, str] | None:
    return dict(body["tags"]) if body.get("tags") else None


class _Entity:
    def as_dict(self) -> dict[str, Any]:
        """The fields that are set, as plain JSON-able values (nested entities as dicts)."""
        result: dict[str, Any] = _plain(asdict(self))  # type: ignore[call-overload]
        return result


class _Resource(_Entity):
    """A workspace resource the user writes and the server answers with: what every kind maps
    the same way (the user's `tags`; the server's `id` and `systemData`) is mapped here, and
    each kind maps its own fields in `_rest_body` and `_from_properties`."""

    tags: dict[str, str] | None
    id: str | None
    system_data: dict[str, Any] | None

    def _rest_body(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def _from_properties(cls, body: Mapping[str, Any], props: Mapping[str, Any]) -> Self:
        raise NotImplementedError

    def _to_rest(self) -> dict[str, Any]:
        body = self._rest_body()
        if self.tags is not None:
            body["tags"] = dict(self.tags)
        return body

    @classmethod
    def _from_rest(cls, body: Mapping[str, Any]) -> Self:
        resource = cls._from_properties(body, body.get("properties") or {})
        resource.tags = _tags(body)
        resource.id = body.get("id")
        resource.system_data = _system_data(body)
        return resource


@dataclass
class MarketplacePlan(_Entity):
    """The marketplace plan a subscription is to: who publishes the offer, which offer, which plan."""

    publisher_id: str | None = None
    offer_id: str | None = None
    plan_id: str | None = None
    term_id: str | None = None


@dataclass
class MarketplaceSubscription(_Resource):
    """A workspace's subscription to a model's marketplace offer (accepting its terms)."""

    name: str
    model_id: str
    _: KW_ONLY
    tags: dict[str, str] | None = None
    marketplace_plan: MarketplacePlan | None = field(default=None, init=False)
    status: str | None = field(default=None, init=False)
    provisioning_state: str | None = field(default=None, init=False)
    id: str | None = field(default=None, init=False)
    system_data: dict[str, Any] | None = field(default=None, init=False)

    def _rest_body(self) -> dict[str, Any]:
        return {"properties": {"modelId": self.model_id}}

    @classmethod
    def _from_properties(cls, body: Mapping[str, Any], props: Mapping[str, Any]) -> MarketplaceSubscription:
        sub = cls(name=str(body.get("name", "")), model_id=str(props.get("modelId", "")))
        plan = props.get("marketplacePlan")
        if isinstance(plan, Mapping):
            sub.marketplace_plan = MarketplacePlan(
                publisher_id=plan.get("publisherId"),
                offer_id=plan.get("offerId"),
                plan_id=plan.get("planId"),
                term_id=plan.get("termId"),
            )
        sub.status = snake(props.get("marketplaceSubscriptionStatus"))
        sub.provisioning_state = snake(props.get("provisioningState"))
        return sub


@dataclass
class ServerlessEndpoint(_Resource):
    """A serverless API endpoint: a model from the catalog behind a URI and two keys.

    `description` is kept on the object only: the ARM body has no such field (azure-ai-ml does
    not send it either)."""

    name: str
    model_id: str
    _: KW_ONLY
    location: str | None = None
    auth_mode: str | None = "key"
    content_safety: dict[str, str] | None = None
    kind: str | None = None
    tags: dict[str, str] | None = None
    description: str | None = None
    scoring_uri: str | None = field(default=None, init=False)
    headers: dict[str, str] | None = field(default=None, init=False)
    provisioning_state: str | None = field(default=None, init=False)
    endpoint_state: str | None = field(default=None, init=False)
    id: str | None = field(default=None, init=False)
    system_data: dict[str, Any] | None = field(default=None, init=False)

    def _rest_body(self) -> dict[str, Any]:
        properties: dict[str, Any] = {"modelSettings": {"modelId": self.model_id}}
        if self.auth_mode is not None:
            properties["authMode"] = _AUTH_MODES.get(self.auth_mode.lower(), self.auth_mode)
        if self.content_safety is not None:
            status = self.content_safety.get("content_safety_status", "Disabled")
            properties["contentSafety"] = {"contentSafetyStatus": status}
        body: dict[str, Any] = {"sku": {"name": "Consumption"}, "properties": properties}
        if self.location is not None:
            body["location"] = self.location
        if self.kind is not None:
            body["kind"] = self.kind
        return body

    @classmethod
    def _from_properties(cls, body: Mapping[str, Any], props: Mapping[str, Any]) -> ServerlessEndpoint:
        model = (props.get("modelSettings") or {}).get("modelId", "")
        safety = props.get("contentSafety")
        endpoint = cls(
            name=str(body.get("name", "")),
            model_id=str(model),
            location=body.get("location"),
            auth_mode=snake(props.get("authMode")),
            content_safety=(
                {"content_safety_status": str(safety.get("contentSafetyStatus"))}
                if isinstance(safety, Mapping)
                else None
            ),
            kind=body.get("kind"),
        )
        inference = props.get("inferenceEndpoint") or {}
        endpoint.scoring_uri = inference.get("uri")
        endpoint.headers = dict(inference["headers"]) if inference.get("headers") is not None else None
        endpoint.provisioning_state = snake(props.get("provisioningState"))
        endpoint.endpoint_state = snake(props.get("endpointState"))
        return endpoint


@dataclass
class ServerlessConnection(_Resource):
    """A workspace connection (category Serverless) to an endpoint, with its key.

    The server never returns the key from a plain GET: `api_key` is None unless read with
    `connections.get(name, populate_secrets=True)`."""

    name: str
    endpoint: str
    api_key: str | None = None
    _: KW_ONLY
    tags: dict[str, str] | None = None
    type: str = field(default="serverless", init=False)
    id: str | None = field(default=None, init=False)
    system_data: dict[str, Any] | None = field(default=None, init=False)

    def _rest_body(self) -> dict[str, Any]:
        properties: dict[str, Any] = {"category": "Serverless", "target": self.endpoint, "authType": "ApiKey"}
        if self.api_key is not None:
            properties["credentials"] = {"key": self.api_key}
        return {"properties": properties}

    @classmethod
    def _from_properties(cls, body: Mapping[str, Any], props: Mapping[str, Any]) -> ServerlessConnection:
        credentials = props.get("credentials") or {}
        connection = cls(
            name=str(body.get("name", "")),
            endpoint=str(props.get("target", "")),
            api_key=credentials.get("key"),
        )
        connection.type = snake(props.get("category")) or "serverless"
        return connection


@dataclass
class EndpointAuthKeys(_Entity):
    """The two keys of a serverless endpoint; either one authorises a call."""

    primary_key: str | None = None
    secondary_key: str | None = None

    @classmethod
    def _from_rest(cls, body: Mapping[str, Any]) -> EndpointAuthKeys:
        return cls(primary_key=body.get("primaryKey"), secondary_key=body.get("secondaryKey"))


@dataclass
class Workspace(_Entity):
    """A workspace, as read from the server (the SDK does not create workspaces)."""

    name: str
    location: str | None = None
    resource_group: str | None = None
    id: str | None = None
    tags: dict[str, str] | None = None
    display_name: str | None = None
    description: str | None = None

    @classmethod
    def _from_rest(cls, body: Mapping[str, Any]) -> Workspace:
        rid = str(body.get("id") or "")
        match = re.search(r"/resourceGroups/([^/]+)/", rid, flags=re.IGNORECASE)
        props = body.get("properties") or {}
        return cls(
            name=str(body.get("name", "")),
            location=body.get("location"),
            resource_group=match.group(1) if match else None,
            id=rid or None,
            tags=_tags(body),
            display_name=props.get("friendlyName"),
            description=props.get("description"),
        )
