"""What Studio needs to call an endpoint as the signed-in person: the endpoint's facts (its model's
task and context window, its offer's meters) and a credential for its Target URI.

Studio's playground calls the endpoint through the gateway, like any client, so the call is
metered and quota-checked like any other. It authenticates as the person, never as the server:

1. a keyless access token (`https://ml.azure.com`, the audience azure-ai-inference asks for)
   when the person holds the data action `SCORE_DATA_ACTION` at the endpoint or above (Azure AI
   Developer, AzureML Data Scientist; docs/security.md, "Keyless calls to endpoints");
2. else the endpoint's primary key, when the person may `listKeys` (Owner and Contributor hold no
   data action, so this is how they try their endpoints, as in Azure's studio);
3. else nothing: `AuthorizationFailed` naming the data action, and `call_reason` says so in
   words for the disabled Send button.

The token is issued to the person through Studio's client id, lives one hour like every token,
and never leaves the server process: the page never sees it (nor the key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maas.controlplane.domain.authz import SCORE_DATA_ACTION, is_data_allowed
from maas.controlplane.domain.resources import Resource
from maas.controlplane.domain.signin import STUDIO_CLIENT_ID
from maas.controlplane.services import endpoints, tokens
from maas.controlplane.services.context import Caller, Services
from maas.controlplane.store.repository import Repository
from maas.core.errors import AuthorizationFailed

__all__ = [
    "KEYLESS_RESOURCE",
    "LIST_KEYS",
    "Credential",
    "EndpointFacts",
    "call_reason",
    "credential",
    "facts",
]

KEYLESS_RESOURCE = "https://ml.azure.com"
LIST_KEYS = f"{endpoints.ACTION}/listKeys/action"


@dataclass(frozen=True)
class EndpointFacts:
    """An endpoint as Studio's endpoint page shows it: the resource, and what its model version and
    offer say (task, context window, meters; empty when they are gone)."""

    endpoint: Resource
    task: str
    context_length: int | None
    meters: list[dict[str, Any]]
    offer_name: str

    @property
    def target_uri(self) -> str:
        return str(self.endpoint.properties.get("inferenceEndpoint", {}).get("uri", ""))

    @property
    def model_id(self) -> str:
        return str(self.endpoint.properties.get("modelSettings", {}).get("modelId", ""))

    @property
    def is_embeddings(self) -> bool:
        return self.task == "embeddings"


def facts(services: Services, caller: Caller, sub: str, rg: str, ws: str, name: str) -> EndpointFacts:
    """The endpoint (read action checked) with its model version's task and context window and its
    offer's meters."""
    endpoint = endpoints.get_endpoint(services, caller, sub, rg, ws, name)
    with services.db.read() as connection:
        repo = Repository(connection)
        version = repo.get(endpoint.model_version_id) if endpoint.model_version_id else None
        offer = repo.get(endpoint.offer_id) if endpoint.offer_id else None
    properties = version.properties if version is not None else {}
    context = properties.get("contextLength")
    return EndpointFacts(
        endpoint=endpoint,
        task=str(properties.get("task") or "chat-completion"),
        context_length=int(context) if isinstance(context, int) and context > 0 else None,
        meters=list(offer.properties.get("meters") or []) if offer is not None else [],
        offer_name=offer.name if offer is not None else "",
    )


def can_score(caller: Caller, endpoint_id: str) -> bool:
    return is_data_allowed(caller.grants, SCORE_DATA_ACTION, endpoint_id)


def call_reason(caller: Caller, endpoint_id: str) -> str:
    """Why this person cannot call the endpoint from Studio ("" when they can)."""
    if can_score(caller, endpoint_id) or caller.can(LIST_KEYS, endpoint_id):
        return ""
    return (
        f"You need the data action {SCORE_DATA_ACTION} (a keyless call, as Azure AI Developer) or "
        f"{LIST_KEYS} (to call with the endpoint's key) on this endpoint."
    )


@dataclass(frozen=True)
class Credential:
    """How Studio authenticates to the Target URI for this person: request headers, and whether
    they carry an access token (keyless) rather than the endpoint's key."""

    headers: dict[str, str]
    keyless: bool


def credential(services: Services, caller: Caller, sub: str, rg: str, ws: str, name: str) -> Credential:
    rid = endpoints.endpoint_id(sub, rg, ws, name)
    if can_score(caller, rid):
        principal = caller.principal
        profile = {"name": principal.name, "upn": principal.name}
        issued = tokens.access_token(
            services,
            tokens.directory_tenant(services),
            principal.id,
            STUDIO_CLIENT_ID,
            profile,
            resource=KEYLESS_RESOURCE,
        )
        return Credential({"Authorization": f"Bearer {issued['access_token']}"}, keyless=True)
    if caller.can(LIST_KEYS, rid):
        keys = endpoints.list_keys(services, caller, sub, rg, ws, name)
        return Credential({"api-key": keys["primaryKey"]}, keyless=False)
    raise AuthorizationFailed(
        f"The client '{caller.principal.name}' with object id '{caller.principal.id}' may not call the "
        f"endpoint '{name}': it needs the data action '{SCORE_DATA_ACTION}' or the action "
        f"'{LIST_KEYS}' over scope '{rid}'.",
        action=SCORE_DATA_ACTION,
        scope=rid,
        principal_id=caller.principal.id,
        principal_name=caller.principal.name,
    )
