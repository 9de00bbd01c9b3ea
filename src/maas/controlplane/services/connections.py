"""Workspace connections (category Serverless): use an endpoint from another workspace.

The key a connection carries is a secret: stored encrypted, never returned by GET, only by the
`listsecrets` action (as in Azure).

`connect_endpoint` is the Studio way of the seed ("choose the endpoint, and the connection takes
its Target URI and key"): it reads the endpoint and its primary key as the caller (who needs the
endpoint's read and listKeys actions, as `az ml serverless-endpoint get-credentials` does) and
then creates the connection as `put_connection` does.
"""

from __future__ import annotations

from dataclasses import dataclass

from maas.controlplane.domain.resources import Resource
from maas.controlplane.services import crud, endpoints
from maas.controlplane.services.context import (
    Caller,
    Page,
    Saved,
    Services,
    require_parent,
    require_resource,
    workspace_children,
)
from maas.controlplane.store.repository import Repository
from maas.core.errors import BadRequest
from maas.core.ids import CONNECTION_TYPE, ENDPOINT_TYPE, type_of, workspace_child_id, workspace_id
from maas.protocol.management import kinds
from maas.protocol.management.naming import ResourceKind, validate_name
from maas.protocol.management.workspaces import ConnectionBody, ConnectionCredentials, ConnectionProperties

ACTION = kinds.CONNECTION.action
CATEGORIES = ("Serverless",)


def put_connection(
    services: Services, caller: Caller, sub: str, rg: str, ws: str, name: str, body: ConnectionBody
) -> Saved[Resource]:
    validate_name(ResourceKind.CONNECTION, name)
    rid = workspace_child_id(sub, rg, ws, "connections", name)
    caller.require(f"{ACTION}/write", rid)
    props = body.properties
    if props.category not in CATEGORIES:
        raise BadRequest(
            f"Connection category '{props.category}' is not supported; use one of {', '.join(CATEGORIES)}.",
            target="properties.category",
        )
    if props.auth_type != "ApiKey":
        raise BadRequest("Serverless connections use authType 'ApiKey'.", target="properties.authType")
    properties = {
        "category": props.category,
        "target": str(props.target).rstrip("/"),
        "authType": props.auth_type,
        "isSharedToAll": props.is_shared_to_all,
        "metadata": props.metadata,
        "createdByWorkspaceArmId": workspace_id(sub, rg, ws),
    }
    with services.db.write() as connection:
        repo = Repository(connection)
        require_parent(repo, workspace_id(sub, rg, ws), "workspace")
        existing = repo.get(rid, for_update=True)
        if existing is None and props.credentials is None:
            raise BadRequest("A new connection needs credentials.key.", target="properties.credentials")
        resource = crud.upsert(
            repo,
            caller,
            kinds.CONNECTION,
            existing,
            rid=rid,
            name=name,
            parent_id=workspace_id(sub, rg, ws),
            properties=properties,
            tags=body.tags,
            subscription=sub,
            resource_group=rg,
        )
        if props.credentials is not None:
            repo.put_secret(rid, "key", services.vault.encrypt(props.credentials.key))
        repo.log_activity(caller.actor, f"{ACTION}/write", rid, "Succeeded")
    return Saved(resource, existing is None)


def get_connection(services: Services, caller: Caller, sub: str, rg: str, ws: str, name: str) -> Resource:
    return crud.read(services, caller, kinds.CONNECTION, workspace_child_id(sub, rg, ws, "connections", name))


@dataclass(frozen=True)
class ConnectionSecrets:
    """A connection with the key it carries (only `listsecrets` answers with the key)."""

    resource: Resource
    key: str | None


def list_secrets(
    services: Services, caller: Caller, sub: str, rg: str, ws: str, name: str
) -> ConnectionSecrets:
    rid = workspace_child_id(sub, rg, ws, "connections", name)
    caller.require(f"{ACTION}/listsecrets/action", rid)
    with services.db.read() as connection:
        repo = Repository(connection)
        resource = require_resource(repo, rid, "connection")
        ciphertext = repo.get_secret(rid, "key")
    return ConnectionSecrets(resource, services.vault.decrypt(ciphertext) if ciphertext else None)


def list_connections(
    services: Services, caller: Caller, sub: str, rg: str, ws: str, after: str | None, limit: int
) -> Page:
    return workspace_children(
        services, caller, workspace_id(sub, rg, ws), CONNECTION_TYPE, f"{ACTION}/read", after, limit
    )


def delete_connection(services: Services, caller: Caller, sub: str, rg: str, ws: str, name: str) -> bool:
    rid = workspace_child_id(sub, rg, ws, "connections", name)
    return crud.remove(services, caller, kinds.CONNECTION, rid)


def connect_endpoint(
    services: Services, caller: Caller, sub: str, rg: str, ws: str, name: str, endpoint: str
) -> Saved[Resource]:
    """A Serverless connection named `name` in workspace `ws` to the serverless endpoint whose id
    is `endpoint` (in any workspace the caller may read), with its Target URI and primary key."""
    parts = endpoint.strip().strip("/").split("/")
    if len(parts) != 10 or type_of(endpoint).lower() != ENDPOINT_TYPE.lower():
        raise BadRequest(
            f"'{endpoint[:200]}' is not the id of a serverless endpoint.",
            code="InvalidResourceId",
            target="endpoint",
        )
    target = (parts[1], parts[3], parts[7], parts[9])
    found = endpoints.get_endpoint(services, caller, *target)
    keys = endpoints.list_keys(services, caller, *target)
    uri = str((found.properties.get("inferenceEndpoint") or {}).get("uri") or "")
    if not uri:
        raise BadRequest(f"The endpoint '{found.name}' has no Target URI yet.", target="endpoint")
    body = ConnectionBody(
        properties=ConnectionProperties(
            category="Serverless",
            target=uri,
            auth_type="ApiKey",
            credentials=ConnectionCredentials(key=keys["primaryKey"]),
        )
    )
    return put_connection(services, caller, sub, rg, ws, name, body)
