"""The steps every kind's service shares, written once: read one resource, write one (create or
update), remove one. Each checks the kind's RBAC action on the resource, names the kind in its
404 (`The serverless endpoint '…' was not found.`), and logs the write to the activity log in the
same transaction. A service adds only what is its own: its rules, its extra effects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from maas.controlplane.domain.resources import Resource
from maas.controlplane.services.context import Caller, Services, new_resource, require_resource, touch
from maas.controlplane.store.repository import Repository
from maas.core.errors import Conflict
from maas.protocol.management.kinds import Kind

__all__ = ["read", "remove", "upsert"]

# Why a resource cannot be deleted now (a Conflict), or None; called inside the transaction.
Blocker = Callable[[Repository], Conflict | None]


def read(services: Services, caller: Caller, kind: Kind, rid: str) -> Resource:
    """The resource, for a caller allowed the kind's read action on it; 404 when it is not there."""
    caller.require(kind.read, rid)
    with services.db.read() as connection:
        return require_resource(Repository(connection), rid, kind.label)


def remove(services: Services, caller: Caller, kind: Kind, rid: str, blocker: Blocker | None = None) -> bool:
    """Delete the resource (False when there was none), unless `blocker` says it is in use."""
    caller.require(kind.delete, rid)
    with services.db.write() as connection:
        repo = Repository(connection)
        if repo.get(rid) is None:
            return False
        conflict = blocker(repo) if blocker is not None else None
        if conflict is not None:
            raise conflict
        repo.delete(rid)
        repo.log_activity(caller.actor, kind.delete, rid, "Succeeded")
    return True


def not_empty(message: str, code: str, rid: str) -> Blocker:
    """A blocker: the resource still has children."""
    return lambda repo: Conflict(message, code=code) if repo.has_children(rid) else None


def upsert(
    repo: Repository,
    caller: Caller,
    what: Kind,
    existing: Resource | None,
    *,
    rid: str,
    name: str,
    parent_id: str,
    properties: dict[str, Any],
    tags: dict[str, str],
    **envelope: Any,
) -> Resource:
    """Insert the resource (of kind `what`; `envelope` may set ARM's own `kind` field), or update
    its properties and tags when they changed (last-modified moves only then). The caller holds
    the write transaction and checked the write action."""
    if existing is None:
        resource = new_resource(
            caller,
            id=rid,
            type=what.arm_type,
            name=name,
            parent_id=parent_id,
            properties=properties,
            tags=tags,
            **envelope,
        )
        repo.insert(resource)
        return resource
    if existing.properties != properties or existing.tags != tags:
        existing.properties, existing.tags = properties, tags
        touch(existing, caller)
        repo.save(existing)
    return existing
