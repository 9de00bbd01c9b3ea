"""Workspaces: where teams subscribe to offers and deploy serverless endpoints.

Each workspace carries a `discoveryUrl`, as Azure's do: the address of a document naming the
base URL of each service the workspace uses. azure-ai-ml reads it (`api`) for the operations
it does not send to ARM; MaaS serves every API from one base URL, so the document says so.
"""

from __future__ import annotations

import uuid

from maas.controlplane.domain.resources import Resource
from maas.controlplane.services import crud
from maas.controlplane.services.context import (
    Caller,
    Saved,
    Services,
    require_parent,
)
from maas.controlplane.store.repository import Repository
from maas.core.errors import Conflict
from maas.core.ids import WORKSPACE_TYPE, resource_group_id, workspace_id
from maas.protocol.management import kinds
from maas.protocol.management.naming import ResourceKind, normalise_location, validate_name
from maas.protocol.management.workspaces import WorkspaceBody

WORKSPACES = kinds.WORKSPACE.action
DISCOVERY_PATH = "/discovery"


def discovery_document(services: Services) -> dict[str, str]:
    """What a workspace's `discoveryUrl` answers: Azure's discovery keys for the services MaaS
    has (all at its one base URL); the keys of services it lacks (experimentation, pipelines,
    labeling, …) are left out rather than pointed at routes that would answer 404."""
    return {"api": services.settings.base_url}


def put_workspace(
    services: Services, caller: Caller, sub: str, rg: str, name: str, body: WorkspaceBody
) -> Saved[Resource]:
    validate_name(ResourceKind.WORKSPACE, name)
    rid = workspace_id(sub, rg, name)
    caller.require(f"{WORKSPACES}/write", rid)
    location = normalise_location(body.location)
    props = body.properties
    with services.db.write() as connection:
        repo = Repository(connection)
        require_parent(repo, resource_group_id(sub, rg), "resource group")
        existing = repo.get(rid, for_update=True)
        if existing is None:
            properties = {
                "friendlyName": props.friendly_name or name,
                "description": props.description or "",
                "workspaceId": str(uuid.uuid4()),
                "discoveryUrl": f"{services.settings.base_url}{DISCOVERY_PATH}",
            }
        else:
            if existing.location != location:
                raise Conflict(
                    f"Workspace '{name}' is in '{existing.location}'; a workspace cannot move.",
                    code="LocationImmutable",
                    target="location",
                )
            current = existing.properties
            properties = {
                **current,
                "friendlyName": props.friendly_name or current.get("friendlyName", name),
                "description": current.get("description", "")
                if props.description is None
                else props.description,
            }
        resource = crud.upsert(
            repo,
            caller,
            kinds.WORKSPACE,
            existing,
            rid=rid,
            name=name,
            parent_id=resource_group_id(sub, rg),
            properties=properties,
            tags=body.tags,
            subscription=sub,
            resource_group=rg,
            location=location,
            kind=str(body.kind),
        )
        repo.log_activity(caller.actor, f"{WORKSPACES}/write", rid, "Succeeded")
    return Saved(resource, existing is None)


def get_workspace(services: Services, caller: Caller, sub: str, rg: str, name: str) -> Resource:
    return crud.read(services, caller, kinds.WORKSPACE, workspace_id(sub, rg, name))


def list_workspaces(services: Services, caller: Caller, sub: str, rg: str | None) -> list[Resource]:
    with services.db.read() as connection:
        found = Repository(connection).in_scope(sub, rg, types=[WORKSPACE_TYPE])
    return [w for w in found if caller.can(f"{WORKSPACES}/read", w.id)]


def delete_workspace(services: Services, caller: Caller, sub: str, rg: str, name: str) -> bool:
    rid = workspace_id(sub, rg, name)
    blocker = crud.not_empty(
        f"Workspace '{name}' still has endpoints, subscriptions or connections; delete them first.",
        "WorkspaceNotEmpty",
        rid,
    )
    return crud.remove(services, caller, kinds.WORKSPACE, rid, blocker)
