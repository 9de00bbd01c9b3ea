"""Access control as a person reviews it (Studio's Access control page): the role assignments
in effect at a scope, finding a principal to assign a role to, and "check access".

Reads only; writing assignments and roles stays in `access` and `role_definitions`.

- `assignments_in_effect(scope)`: the assignments at `scope` and at every scope above it (`/`,
  the account, the resource group), each with its role's name, its principal's name, display
  name and type, and whether it is inherited. Needs `roleAssignments/read` at `scope` (as ARM's
  listing at a scope shows the inherited ones to whoever may read there).
- `search_principals(scope, text)`: users and service principals of the directory whose name,
  display name or application id contains `text`. Allowed to whoever may read the directory
  (`Microsoft.MaaS/users/read` at `/`) or may assign roles at `scope` (they must find whom to
  assign to; only the object id, names and type come back, nothing else of the principal).
- `check_access(scope, principal[, action])`: the roles a principal holds at `scope` (with the
  assignments they come from) and the actions they allow; with `action`, whether it is allowed
  (or a data action is) and by which assignments. Needs `roleAssignments/read` at `scope`.
"""

from __future__ import annotations

from dataclasses import dataclass

from maas.controlplane.domain.authz import RoleDefinition, action_matches, scope_contains
from maas.controlplane.domain.resources import Principal, PrincipalType
from maas.controlplane.services.context import Caller, Services
from maas.controlplane.services.role_definitions import grants_for
from maas.controlplane.store.directory import DirectoryRepository
from maas.controlplane.store.repository import Repository, RoleAssignmentRecord
from maas.core.errors import BadRequest, NotFound
from maas.protocol.management import kinds

__all__ = [
    "AccessCheck",
    "AssignmentView",
    "PrincipalMatch",
    "RoleHeld",
    "assignments_in_effect",
    "check_access",
    "find_principal",
    "scopes_above",
    "search_principals",
]

ROLE_ASSIGNMENTS = kinds.ROLE_ASSIGNMENT.action
MAX_MATCHES = 20
MAX_TEXT = 200


@dataclass(frozen=True)
class PrincipalMatch:
    id: str
    name: str  # a user's principal name, a service principal's application id
    display_name: str
    principal_type: str
    enabled: bool = True


@dataclass(frozen=True)
class AssignmentView:
    record: RoleAssignmentRecord
    role_name: str
    role_type: str  # BuiltInRole, CustomRole, or "" when the role is gone
    principal: PrincipalMatch
    inherited: bool


def _normal(scope: str) -> str:
    return "/" + scope.strip().strip("/") if scope.strip().strip("/") else "/"


def scopes_above(scope: str) -> list[str]:
    """`scope` and every scope above it that can hold assignments, from `/` down:
    `/`, the account, the resource group, the workspace."""
    scope = _normal(scope)
    parts = scope.strip("/").split("/") if scope != "/" else []
    found = ["/"]
    for size in (2, 4, 8):
        if len(parts) >= size:
            found.append("/" + "/".join(parts[:size]))
    if scope not in found:
        found.append(scope)
    return found


def _match_of(principal: Principal, directory: DirectoryRepository) -> PrincipalMatch:
    user = directory.user(principal.id)
    if user is not None:
        return PrincipalMatch(principal.id, user.user_principal_name, user.display_name, "User", user.enabled)
    sp = directory.service_principal(principal.id)
    if sp is not None:
        return PrincipalMatch(principal.id, sp.app_id, sp.display_name, "ServicePrincipal", sp.enabled)
    external = directory.external_principal(principal.id)
    if external is not None:
        name = external.user_principal_name or external.app_id or principal.id
        shown = external.display_name or name
        return PrincipalMatch(principal.id, name, shown, str(principal.principal_type), external.enabled)
    return PrincipalMatch(principal.id, principal.name, principal.name, str(principal.principal_type))


def _principal_of(
    repo: Repository, directory: DirectoryRepository, record: RoleAssignmentRecord
) -> PrincipalMatch:
    principal = repo.principal(record.principal_id)
    if principal is None:  # an external object id not signed in yet
        return PrincipalMatch(
            record.principal_id, record.principal_id, "(not signed in yet)", record.principal_type
        )
    return _match_of(principal, directory)


def assignments_in_effect(services: Services, caller: Caller, scope: str) -> list[AssignmentView]:
    scope = _normal(scope)
    caller.require(f"{ROLE_ASSIGNMENTS}/read", scope)
    with services.db.read() as connection:
        repo = Repository(connection)
        if scope != "/" and repo.get(scope) is None:
            raise NotFound(f"The scope '{scope}' does not exist.", code="InvalidScope")
        directory = DirectoryRepository(connection)
        views: list[AssignmentView] = []
        for where in scopes_above(scope):
            records = repo.role_assignments_at(where)
            roles = _role_map(repo, records)
            for record in records:
                role = roles.get(record.id)
                views.append(
                    AssignmentView(
                        record=record,
                        role_name=role.role_name if role else record.role_definition_id,
                        role_type=role.role_type if role else "",
                        principal=_principal_of(repo, directory, record),
                        inherited=where.lower() != scope.lower(),
                    )
                )
    return views


def _role_map(repo: Repository, records: list[RoleAssignmentRecord]) -> dict[str, RoleDefinition]:
    """Each assignment's role (built-in or custom); an assignment whose role is gone is absent."""
    found: dict[str, RoleDefinition] = {}
    for record in records:
        grants = grants_for(repo, [record])
        if grants:
            found[record.id] = grants[0].role
    return found


def _may_search(caller: Caller, scope: str) -> None:
    if not caller.can(kinds.USER.read, "/"):
        caller.require(f"{ROLE_ASSIGNMENTS}/write", scope)


def search_principals(services: Services, caller: Caller, scope: str, text: str) -> list[PrincipalMatch]:
    scope = _normal(scope)
    _may_search(caller, scope)
    wanted = text.strip().lower()[:MAX_TEXT]
    if not wanted:
        return []
    with services.db.read() as connection:
        directory = DirectoryRepository(connection)
        candidates = [
            PrincipalMatch(u.principal.id, u.user_principal_name, u.display_name, "User", u.enabled)
            for u in directory.users()
        ]
        candidates += [
            PrincipalMatch(s.principal.id, s.app_id, s.display_name, "ServicePrincipal", s.enabled)
            for s in directory.service_principals()
        ]
        for kind in (PrincipalType.USER, PrincipalType.SERVICE_PRINCIPAL):
            for e in directory.external_principals(kind):
                name = e.user_principal_name or e.app_id or e.principal.id
                candidates.append(
                    PrincipalMatch(e.principal.id, name, e.display_name or name, str(kind), e.enabled)
                )
        found = [
            c
            for c in candidates
            if wanted in c.name.lower() or wanted in c.display_name.lower() or wanted == c.id.lower()
        ]
        if not found:  # a principal outside the directory (`maas principal create`), by exact name or id
            exact = Repository(connection).principal(text.strip())
            if exact is not None:
                found = [_match_of(exact, directory)]
    found.sort(key=lambda c: (not c.name.lower().startswith(wanted), c.display_name.lower(), c.name.lower()))
    return found[:MAX_MATCHES]


def find_principal(services: Services, caller: Caller, scope: str, key: str) -> PrincipalMatch:
    """A principal by object id, user principal name, application id or name, for whoever may
    search members at `scope`; a 400 in words when there is none (the form's answer to an
    unknown principal)."""
    _may_search(caller, _normal(scope))
    return _find(services, key)


def _find(services: Services, key: str) -> PrincipalMatch:
    key = key.strip()
    with services.db.read() as connection:
        repo = Repository(connection)
        directory = DirectoryRepository(connection)
        principal = repo.principal(key)
        if principal is None:
            user = directory.user(key)
            sp = directory.service_principal(key) if user is None else None
            principal = user.principal if user else (sp.principal if sp else None)
        if principal is None:
            raise BadRequest(
                f"There is no user or service principal '{key}' in the directory. Search by name and "
                "choose one of the matches.",
                code="PrincipalNotFound",
                target="principal",
            )
        return _match_of(principal, directory)


@dataclass(frozen=True)
class RoleHeld:
    """A role a principal holds at the checked scope, and the assignment it comes from."""

    record: RoleAssignmentRecord
    role: RoleDefinition
    inherited: bool


@dataclass(frozen=True)
class AccessCheck:
    scope: str
    principal: PrincipalMatch
    roles: list[RoleHeld]
    action: str | None = None
    allowed: bool | None = None
    granted_by: tuple[RoleHeld, ...] = ()

    @property
    def allowed_actions(self) -> list[tuple[str, list[str], list[str]]]:
        """(role name, actions, notActions) of each role, as the effective set is their union."""
        rows = []
        for held in self.roles:
            for block in held.role.permissions:
                rows.append((held.role.role_name, list(block.actions), list(block.not_actions)))
        return rows

    @property
    def allowed_data_actions(self) -> list[tuple[str, list[str], list[str]]]:
        rows = []
        for held in self.roles:
            for block in held.role.permissions:
                if block.data_actions:
                    rows.append((held.role.role_name, list(block.data_actions), list(block.not_data_actions)))
        return rows


def _grants_action(role: RoleDefinition, action: str) -> bool:
    for block in role.permissions:
        for allow, deny in ((block.actions, block.not_actions), (block.data_actions, block.not_data_actions)):
            if any(action_matches(p, action) for p in allow) and not any(
                action_matches(p, action) for p in deny
            ):
                return True
    return False


def check_access(
    services: Services, caller: Caller, scope: str, principal: str, action: str | None = None
) -> AccessCheck:
    scope = _normal(scope)
    caller.require(f"{ROLE_ASSIGNMENTS}/read", scope)
    if action is not None:
        action = action.strip()
        if not action or len(action) > 512 or any(c.isspace() for c in action) or "/" not in action:
            raise BadRequest(
                f"'{action}' is not an action: write it as Azure does, e.g. "
                "'Microsoft.MachineLearningServices/workspaces/serverlessEndpoints/write'.",
                code="InvalidAction",
                target="action",
            )
    who = _find(services, principal)
    with services.db.read() as connection:
        repo = Repository(connection)
        records = [r for r in repo.role_assignments_for(who.id) if scope_contains(r.scope, scope)]
        roles = _role_map(repo, records)
    held = [
        RoleHeld(record, roles[record.id], _normal(record.scope).lower() != scope.lower())
        for record in sorted(records, key=lambda r: (len(_normal(r.scope)), r.id))
        if record.id in roles
    ]
    if action is None:
        return AccessCheck(scope, who, held)
    granted = tuple(h for h in held if _grants_action(h.role, action))
    return AccessCheck(scope, who, held, action, bool(granted), granted)
