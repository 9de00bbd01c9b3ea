"""Generic listing of everything in an account or resource group (`/resources`), with ARM's
`$filter` subset (`resourceType`, `name`, `location` with `eq`/`ne`, joined by `and`) and paging.
Each item is shown only if the caller may read it. `get_resource` reads one item of such a
listing by its id, whatever its kind (Studio's resource group view shows its details)."""

from __future__ import annotations

import re

from maas.controlplane.domain.resources import Resource
from maas.controlplane.services.context import Caller, Page, Services, require_resource
from maas.controlplane.store.repository import Repository
from maas.core.errors import BadRequest, NotFound
from maas.core.ids import resource_group_id, subscription_id, type_of
from maas.protocol.management.kinds import by_type

_CLAUSE = re.compile(r"^\s*(resourceType|name|location)\s+(eq|ne)\s+'((?:[^']|'')*)'\s*$", re.IGNORECASE)
_FIELDS = {"resourcetype": "type", "name": "name", "location": "location"}


def parse_filter(text: str | None) -> list[tuple[str, bool, str]]:
    if not text:
        return []
    clauses = []
    for part in re.split(r"\s+and\s+", text, flags=re.IGNORECASE):
        match = _CLAUSE.match(part)
        if not match:
            raise BadRequest(
                f"Unsupported $filter clause '{part.strip()}'. Use resourceType, name or location with "
                "eq or ne, joined by 'and'.",
                code="InvalidFilter",
                target="$filter",
            )
        field, op, value = match.groups()
        clauses.append((_FIELDS[field.lower()], op.lower() == "eq", value.replace("''", "'")))
    return clauses


def _matches(resource: Resource, clauses: list[tuple[str, bool, str]]) -> bool:
    for field, equal, value in clauses:
        actual = str(getattr(resource, field) or "")
        if (actual.lower() == value.lower()) != equal:
            return False
    return True


def _read_action(arm_type: str) -> str:
    """The kind's read action (marketplace subscriptions read as `.../marketplaceModelSubscriptions/read`)."""
    kind = by_type(arm_type)
    return kind.read if kind is not None else f"{arm_type}/read"


def list_resources(
    services: Services,
    caller: Caller,
    sub: str,
    rg: str | None,
    filter_text: str | None,
    after: str | None,
    limit: int,
) -> Page:
    clauses = parse_filter(filter_text)
    scope = resource_group_id(sub, rg) if rg else subscription_id(sub)
    items: list[Resource] = []
    cursor = after
    with services.db.read() as connection:
        repo = Repository(connection)
        require_resource(repo, scope, "resource group" if rg else "subscription")
        while len(items) <= limit:
            batch = repo.in_scope(sub, rg, after=cursor, limit=500)
            if not batch:
                break
            for resource in batch:
                if _matches(resource, clauses) and caller.can(_read_action(resource.type), resource.id):
                    items.append(resource)
            cursor = batch[-1].key
    more = len(items) > limit
    items = items[:limit]
    return Page(items, items[-1].key if more else None)


_IN_GROUP = re.compile(r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/.+$", re.IGNORECASE)


def get_resource(services: Services, caller: Caller, resource_id: str) -> Resource:
    """One resource of a resource group, by id, for a caller allowed its kind's read action (as
    its own GET checks it: refused before looked up); 404 when it is not there."""
    text = "/" + resource_id.strip().strip("/")
    arm_type = type_of(text)
    if len(text) > 1024 or not _IN_GROUP.match(text) or not arm_type:
        raise BadRequest(
            f"'{resource_id[:200]}' is not the id of a resource in a resource group "
            "(/subscriptions/{sub}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}).",
            code="InvalidResourceId",
            target="id",
        )
    caller.require(_read_action(arm_type), text)
    with services.db.read() as connection:
        found = Repository(connection).get(text)
    if found is None:
        raise NotFound(f"The resource '{text}' was not found.", code="ResourceNotFound")
    return found
