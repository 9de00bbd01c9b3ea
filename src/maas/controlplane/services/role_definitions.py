"""Role definitions: the built-in roles, and the custom roles principals define at a scope.

`PUT|GET|DELETE /{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}` in ARM's shape.
Custom roles live in their own table; built-in roles live in code (`domain/authz.py`) and cannot
be written or deleted. Permission checks treat both alike (`grants_for`).

The rules, as ARM has them:

* Writing or deleting a custom role needs `Microsoft.Authorization/roleDefinitions/write`
  (`/delete`) at the request's scope and at every scope in its `assignableScopes` (old and new on
  an update), so an owner of one resource group cannot widen a role someone defined for a whole
  subscription.
* `assignableScopes` are existing subscriptions, resource groups or workspaces; never `/`, which
  ARM keeps for built-in roles.
* Role names are unique, case-insensitively, across built-in and custom roles
  (409 `RoleDefinitionWithSameNameExists`).
* A built-in role's GUID cannot be written or deleted (400 `BuiltInRoleDefinitionCannotBeChanged`,
  a MaaS code: ARM answers such requests with a generic authorization failure).
* A custom role is visible at a scope its `assignableScopes` cover, and by its tenant-form id
  (`/providers/Microsoft.Authorization/roleDefinitions/{guid}`, the one role assignments show),
  to callers with `Microsoft.Authorization/roleDefinitions/read` there (at one of its assignable
  scopes for the tenant form). Built-in roles are visible to every signed-in caller, as in Azure.
* A custom role can be assigned only at or below one of its `assignableScopes`; elsewhere ARM
  does not find it: 400 `RoleDefinitionDoesNotExist` (see `resolve_assignable`).
* DELETE is refused while any role assignment uses the role: 409 `RoleDefinitionHasAssignments`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from maas.controlplane.domain.authz import (
    BUILTIN_ROLES,
    Grant,
    Permission,
    RoleDefinition,
    find_builtin_role,
    scope_contains,
)
from maas.controlplane.services.context import Caller, Saved, Services
from maas.controlplane.store.repository import Repository, RoleAssignmentRecord
from maas.core.errors import BadRequest, Conflict, NotFound
from maas.protocol.management import kinds
from maas.protocol.management.access import RoleDefinitionBody
from maas.protocol.management.naming import ResourceKind, validate_name

__all__ = [
    "delete_role_definition",
    "get_role_definition",
    "grants_for",
    "list_role_definitions",
    "put_role_definition",
    "resolve_assignable",
]

ACTION = kinds.ROLE_DEFINITION.action
_ROLE_ID = re.compile(
    r"(?:/subscriptions/[^/]+)?/providers/Microsoft\.Authorization/roleDefinitions/([^/]+)/?", re.IGNORECASE
)


def _guid_of(key: str) -> str:
    match = _ROLE_ID.fullmatch(key.strip())
    return (match.group(1) if match else key.strip()).lower()


def _role(repo: Repository, key: str) -> RoleDefinition | None:
    """A built-in role by name, GUID or id, else a custom role by GUID or id."""
    return find_builtin_role(key) or repo.role_definition(_guid_of(key))


def grants_for(repo: Repository, records: Iterable[RoleAssignmentRecord]) -> tuple[Grant, ...]:
    """The grants of these assignments, custom roles read in one query."""
    records = list(records)
    custom_guids = [
        _guid_of(r.role_definition_id) for r in records if find_builtin_role(r.role_definition_id) is None
    ]
    custom = {role.id.lower(): role for role in repo.role_definitions(custom_guids)} if custom_guids else {}
    grants: list[Grant] = []
    for record in records:
        role = find_builtin_role(record.role_definition_id) or custom.get(record.role_definition_id.lower())
        if role is not None:
            grants.append(Grant(scope=record.scope, role=role))
    return tuple(grants)


def _assignable_at(role: RoleDefinition, scope: str) -> bool:
    return any(scope_contains(assignable, scope) for assignable in role.assignable_scopes)


def resolve_assignable(repo: Repository, key: str, scope: str) -> RoleDefinition:
    """The role a new assignment at `scope` names, or 400 `RoleDefinitionDoesNotExist`: as in
    ARM, a custom role outside its `assignableScopes` does not exist for the assignment."""
    role = _role(repo, key)
    if role is None:
        raise BadRequest(
            f"The role definition '{key}' does not exist.",
            code="RoleDefinitionDoesNotExist",
            target="properties.roleDefinitionId",
        )
    if not _assignable_at(role, scope):
        raise BadRequest(
            f"The role definition '{role.id}' ('{role.role_name}') does not exist at scope '{scope}': "
            f"it can be assigned only within {', '.join(role.assignable_scopes)}.",
            code="RoleDefinitionDoesNotExist",
            target="properties.roleDefinitionId",
        )
    return role


# -- reads -------------------------------------------------------------------------------------
def list_role_definitions(services: Services, caller: Caller, scope: str) -> list[RoleDefinition]:
    """The built-in roles, then the custom roles assignable at `scope` the caller may read."""
    roles = list(BUILTIN_ROLES)
    if caller.can(f"{ACTION}/read", scope):
        with services.db.read() as connection:
            roles += [r for r in Repository(connection).role_definitions() if _assignable_at(r, scope)]
    return roles


def _not_found(guid: str) -> NotFound:
    return NotFound(f"The role definition '{guid}' does not exist.", code="RoleDefinitionDoesNotExist")


def get_role_definition(services: Services, caller: Caller, scope: str, guid: str) -> RoleDefinition:
    builtin = find_builtin_role(guid)
    if builtin is not None and builtin.guid.lower() == guid.lower():
        return builtin
    with services.db.read() as connection:
        role = Repository(connection).role_definition(guid)
    if role is None:
        raise _not_found(guid)
    if scope == "/":  # the tenant form of its id: readable where the role can be assigned
        if not any(caller.can(f"{ACTION}/read", s) for s in role.assignable_scopes):
            caller.require(f"{ACTION}/read", role.assignable_scopes[0])
        return role
    if not _assignable_at(role, scope):
        raise _not_found(guid)
    caller.require(f"{ACTION}/read", scope)
    return role


# -- writes ------------------------------------------------------------------------------------
def _normalise_scope(scope: str) -> str:
    return "/" + scope.strip().strip("/")


def _refuse_builtin(guid: str) -> None:
    builtin = find_builtin_role(guid)
    if builtin is not None and builtin.guid.lower() == guid.lower():
        raise BadRequest(
            f"'{guid}' is the built-in role '{builtin.role_name}': built-in roles cannot be changed "
            "or deleted. Define a custom role with a new GUID.",
            code="BuiltInRoleDefinitionCannotBeChanged",
        )


def _permissions(body: RoleDefinitionBody) -> tuple[Permission, ...]:
    blocks: list[Permission] = []
    for i, block in enumerate(body.properties.permissions):
        for field, values in (
            ("actions", block.actions),
            ("notActions", block.not_actions),
            ("dataActions", block.data_actions),
            ("notDataActions", block.not_data_actions),
        ):
            for j, value in enumerate(values):
                if not value.strip() or any(c.isspace() for c in value) or len(value) > 512:
                    raise BadRequest(
                        f"'{value}' is not an action: use '{{Company}}.{{Provider}}/{{resourceType}}/"
                        "{action}', with '*' as a wildcard.",
                        code="InvalidActionOrNotAction",
                        target=f"properties.permissions[{i}].{field}[{j}]",
                    )
        blocks.append(
            Permission(
                actions=tuple(block.actions),
                not_actions=tuple(block.not_actions),
                data_actions=tuple(block.data_actions),
                not_data_actions=tuple(block.not_data_actions),
            )
        )
    if not any(p.actions or p.data_actions for p in blocks):
        raise BadRequest(
            "A role definition needs at least one action or data action.",
            code="InvalidRoleDefinition",
            target="properties.permissions",
        )
    return tuple(blocks)


def _assignable_scopes(repo: Repository, body: RoleDefinitionBody) -> tuple[str, ...]:
    scopes: list[str] = []
    for i, raw in enumerate(body.properties.assignable_scopes):
        scope = _normalise_scope(raw)
        target = f"properties.assignableScopes[{i}]"
        if scope == "/":
            raise BadRequest(
                "A custom role cannot be assignable at the root scope '/': name subscriptions, "
                "resource groups or workspaces.",
                code="InvalidAssignableScope",
                target=target,
            )
        if repo.get(scope) is None:
            raise BadRequest(
                f"The assignable scope '{raw}' does not exist.", code="InvalidAssignableScope", target=target
            )
        if scope.lower() not in (s.lower() for s in scopes):
            scopes.append(scope)
    return tuple(scopes)


def put_role_definition(
    services: Services, caller: Caller, scope: str, guid: str, body: RoleDefinitionBody
) -> Saved[RoleDefinition]:
    validate_name(ResourceKind.ROLE_DEFINITION, guid)
    _refuse_builtin(guid)
    caller.require(f"{ACTION}/write", scope)
    props = body.properties
    permissions = _permissions(body)
    with services.db.write() as connection:
        repo = Repository(connection)
        if scope != "/" and repo.get(scope) is None:
            raise NotFound(f"The scope '{scope}' does not exist.", code="InvalidScope")
        assignable = _assignable_scopes(repo, body)
        existing = repo.role_definition(guid)
        for where in (*assignable, *(existing.assignable_scopes if existing else ())):
            caller.require(f"{ACTION}/write", where)
        named = find_builtin_role(props.role_name) or repo.role_definition_named(props.role_name)
        if named is not None and named.guid.lower() != guid.lower():
            raise Conflict(
                f"A role definition named '{props.role_name}' already exists ({named.id}).",
                code="RoleDefinitionWithSameNameExists",
                target="properties.roleName",
            )
        role = RoleDefinition(
            guid=guid.lower(),
            role_name=props.role_name,
            description=props.description,
            role_type="CustomRole",
            permissions=permissions,
            assignable_scopes=assignable,
        )
        repo.put_role_definition(role, caller.principal.name)
        repo.log_activity(caller.actor, f"{ACTION}/write", role.id, "Succeeded")
    return Saved(role, existing is None)


def delete_role_definition(
    services: Services, caller: Caller, scope: str, guid: str
) -> RoleDefinition | None:
    """Delete a custom role; None when there was none (ARM answers 204)."""
    validate_name(ResourceKind.ROLE_DEFINITION, guid)
    _refuse_builtin(guid)
    caller.require(f"{ACTION}/delete", scope)
    with services.db.write() as connection:
        repo = Repository(connection)
        role = repo.role_definition(guid)
        if role is None:
            return None
        for where in role.assignable_scopes:
            caller.require(f"{ACTION}/delete", where)
        if repo.role_definition_in_use(role.id):
            raise Conflict(
                f"There are existing role assignments referencing role '{role.role_name}' ({role.id}); "
                "delete them first.",
                code="RoleDefinitionHasAssignments",
            )
        repo.delete_role_definition(guid)
        repo.log_activity(caller.actor, f"{ACTION}/delete", role.id, "Succeeded")
    return role
