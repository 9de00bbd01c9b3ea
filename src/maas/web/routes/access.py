"""Access control (IAM) and the activity log.

GET  /studio/access?scope=&tab=assignments|roles|check        the chosen scope's page (scope picker
                                                                defaults to the chosen workspace)
GET  /studio/access/add?scope=&q=&role=                       Add role assignment: role, then member
POST /studio/access/add                                       assign (`access.put_role_assignment`)
POST /studio/access/remove                                    remove one (`access.delete_role_assignment`)
GET  /studio/access/roles/new?scope=&from=<guid>              a custom role: form or pasted JSON
POST /studio/access/roles                                     create or update (`role_definitions.put_…`)
GET  /studio/access/roles/{guid}?scope=                       a role's permissions
POST /studio/access/roles/{guid}/delete                       delete (refused while assigned)
GET  /studio/activity?sub=&rg=&range=&caller=&status=&operation=&before=
                                                              the activity log (`activity.list_events`)

The rules (who may read, assign, define roles; what a role can be assigned at) are the services';
a refusal is shown in words on the page.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from maas.controlplane.domain.activity import EventQuery
from maas.controlplane.domain.authz import RoleDefinition
from maas.controlplane.services import access, accounts, activity, iam, role_definitions, workspaces
from maas.core.clock import utcnow
from maas.core.errors import BadRequest, MaasError
from maas.protocol.management.access import RoleAssignmentBody, role_definition_file
from maas.protocol.management.arm import parse_body
from maas.web import render
from maas.web.context import Studio, StudioDep, StudioFormDep, in_words

router = APIRouter(include_in_schema=False)

RA = "Microsoft.Authorization/roleAssignments"
RD = "Microsoft.Authorization/roleDefinitions"
TABS = {"assignments": "Role assignments", "roles": "Roles", "check": "Check access"}
RANGES = {
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(days=1)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
    "90d": ("Last 90 days", timedelta(days=90)),
}
STATUSES = ("Succeeded", "Failed")
EVENT_PAGE = 50
MAX_FIELD = 1024


def _text(form: Any, name: str, limit: int = MAX_FIELD) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def _normal(scope: str) -> str:
    scope = scope.strip()[:MAX_FIELD]
    return "/" + scope.strip("/") if scope.strip("/") else "/"


@dataclass(frozen=True)
class ScopeChoice:
    value: str
    label: str


def describe_scope(scope: str) -> str:
    """A scope in words: "workspace ws1 (resource group rg1)", "account …", "the root scope /"."""
    parts = scope.strip("/").split("/")
    if scope == "/":
        return "the root scope (/)"
    if len(parts) == 2:
        return f"account {parts[1]}"
    if len(parts) == 4:
        return f"resource group {parts[3]}"
    if len(parts) == 8:
        return f"workspace {parts[7]}"
    return scope


def _default_scope(studio: Studio) -> str:
    asked = studio.request.query_params.get("scope", "")
    if asked:
        return _normal(asked)
    return studio.workspace.id if studio.workspace is not None else "/"


async def _scope_choices(studio: Studio, scope: str) -> list[ScopeChoice]:
    """The scopes the picker offers: `/` (if the caller may read its assignments), each account,
    and the resource groups and workspaces of the chosen scope's account."""
    choices: list[ScopeChoice] = []
    if studio.can(f"{RA}/read", "/"):
        choices.append(ScopeChoice("/", "Root (/)"))
    for account in await studio.call(accounts.list_accounts):
        choices.append(ScopeChoice(account.id, f"Account {account.name}"))
    parts = scope.strip("/").split("/")
    if len(parts) >= 2 and parts[0].lower() == "subscriptions":
        try:
            groups = await studio.call(accounts.list_resource_groups, parts[1])
            spaces = await studio.call(workspaces.list_workspaces, parts[1], None)
        except MaasError:
            groups, spaces = [], []
        for group in groups:
            choices.append(ScopeChoice(group.id, f"Resource group {group.name}"))
        for space in spaces:
            choices.append(ScopeChoice(space.id, f"Workspace {space.name} ({space.id.split('/')[4]})"))
    if scope.lower() not in {c.value.lower() for c in choices}:
        choices.insert(0, ScopeChoice(scope, describe_scope(scope)))
    return choices


def _crumbs(label: str | None = None, scope: str = "") -> render.Crumbs:
    if label is None:
        return [("Access control", None)]
    return [("Access control", f"/studio/access?{urlencode({'scope': scope})}"), (label, None)]


def _role_key(role: RoleDefinition) -> tuple[int, str]:
    return (0 if role.role_type == "BuiltInRole" else 1, role.role_name.lower())


@router.get("/studio/access")
async def access_page(studio: StudioDep) -> Response:
    params = studio.request.query_params
    scope = _default_scope(studio)
    tab = params.get("tab", "assignments")
    tab = tab if tab in TABS else "assignments"
    alert, notice = "", params.get("done", "")[:200]
    views: list[iam.AssignmentView] = []
    roles: list[RoleDefinition] = []
    check: iam.AccessCheck | None = None
    principal, action = params.get("principal", "").strip()[:256], params.get("action", "").strip()[:512]
    status = 200
    try:
        if tab == "assignments":
            views = await studio.call(iam.assignments_in_effect, scope)
        elif tab == "roles":
            roles = sorted(await studio.call(role_definitions.list_role_definitions, scope), key=_role_key)
        elif principal:
            check = await studio.call(iam.check_access, scope, principal, action or None)
    except MaasError as error:
        alert, status = in_words(error), error.status
    return render.page(
        studio,
        "access/page.html",
        status=status,
        nav="access",
        crumbs=_crumbs(),
        scope=scope,
        scope_words=describe_scope(scope),
        choices=await _scope_choices(studio, scope),
        tab=tab,
        tabs=TABS,
        views=views,
        roles=roles,
        check=check,
        principal=principal,
        action=action,
        alert=alert,
        notice=notice,
        query=lambda **extra: urlencode({"scope": scope, **extra}),
    )


# -- add and remove role assignments ------------------------------------------------------------
async def _add_page(
    studio: Studio, scope: str, *, q: str = "", role: str = "", alert: str = "", status: int = 200
) -> Response:
    roles: list[RoleDefinition] = []
    matches: list[iam.PrincipalMatch] = []
    try:
        roles = sorted(await studio.call(role_definitions.list_role_definitions, scope), key=_role_key)
        if q:
            matches = await studio.call(iam.search_principals, scope, q)
    except MaasError as error:
        alert, status = alert or in_words(error), status if alert else error.status
    return render.page(
        studio,
        "access/add.html",
        status=status,
        nav="access",
        crumbs=_crumbs("Add role assignment", scope),
        scope=scope,
        scope_words=describe_scope(scope),
        roles=roles,
        role=role,
        q=q,
        matches=matches,
        alert=alert,
        back=f"/studio/access?{urlencode({'scope': scope})}",
    )


@router.get("/studio/access/add")
async def add_form(studio: StudioDep) -> Response:
    params = studio.request.query_params
    scope = _default_scope(studio)
    return await _add_page(
        studio, scope, q=params.get("q", "").strip()[:200], role=params.get("role", "")[:256]
    )


@router.post("/studio/access/add")
async def add_assignment(studio: StudioFormDep) -> Response:
    form = await studio.form()
    scope, role, who, q = (
        _normal(_text(form, "scope")),
        _text(form, "role"),
        _text(form, "principal"),
        _text(form, "q"),
    )
    if not role or not who:
        missing = "a role" if not role else "a member (search by name, then choose one)"
        return await _add_page(studio, scope, q=q, role=role, alert=f"Choose {missing}.", status=400)
    try:
        principal = await studio.call(iam.find_principal, scope, who)
        body = parse_body(
            RoleAssignmentBody,
            json.dumps(
                {
                    "properties": {
                        "roleDefinitionId": role,
                        "principalId": principal.id,
                        "principalType": principal.principal_type,
                    }
                }
            ).encode(),
        )
        saved = await studio.call(access.put_role_assignment, scope, str(uuid.uuid4()), body)
    except MaasError as error:
        return await _add_page(studio, scope, q=q, role=role, alert=in_words(error), status=error.status)
    done = f"Added a role assignment for {principal.display_name} at {describe_scope(saved.resource.scope)}."
    return render.redirect(studio.request, f"/studio/access?{urlencode({'scope': scope, 'done': done})}")


@router.post("/studio/access/remove")
async def remove_assignment(studio: StudioFormDep) -> Response:
    form = await studio.form()
    scope, name = _normal(_text(form, "scope")), _text(form, "name", 128)
    try:
        removed = await studio.call(access.delete_role_assignment, scope, name)
    except MaasError as error:
        return render.page(
            studio,
            "error.html",
            status=error.status,
            nav="access",
            crumbs=_crumbs("Remove", scope),
            title="The role assignment was not removed",
            message=in_words(error),
        )
    done = "Removed the role assignment." if removed else "That role assignment was already gone."
    return render.redirect(studio.request, f"/studio/access?{urlencode({'scope': scope, 'done': done})}")


# -- custom roles -------------------------------------------------------------------------------
@dataclass(frozen=True)
class RoleForm:
    guid: str = ""
    name: str = ""
    description: str = ""
    actions: str = ""
    not_actions: str = ""
    data_actions: str = ""
    not_data_actions: str = ""
    scopes: str = ""
    json_text: str = ""

    @classmethod
    def of(cls, role: RoleDefinition) -> RoleForm:
        first = role.permissions[0] if role.permissions else None
        as_file = {
            "Id": role.guid,
            "Name": role.role_name,
            "IsCustom": True,
            "Description": role.description,
            "Actions": list(first.actions) if first else [],
            "NotActions": list(first.not_actions) if first else [],
            "DataActions": list(first.data_actions) if first else [],
            "NotDataActions": list(first.not_data_actions) if first else [],
            "AssignableScopes": list(role.assignable_scopes),
        }
        return cls(
            guid=role.guid,
            name=role.role_name,
            description=role.description,
            actions="\n".join(first.actions) if first else "",
            not_actions="\n".join(first.not_actions) if first else "",
            data_actions="\n".join(first.data_actions) if first else "",
            not_data_actions="\n".join(first.not_data_actions) if first else "",
            scopes="\n".join(role.assignable_scopes),
            json_text=json.dumps(as_file, indent=2),
        )


def _role_page(studio: Studio, scope: str, form: RoleForm, *, alert: str = "", status: int = 200) -> Response:
    return render.page(
        studio,
        "access/role_form.html",
        status=status,
        nav="access",
        crumbs=_crumbs("Edit custom role" if form.guid else "Create a custom role", scope),
        scope=scope,
        scope_words=describe_scope(scope),
        form=form,
        alert=alert,
        back=f"/studio/access?{urlencode({'scope': scope, 'tab': 'roles'})}",
    )


@router.get("/studio/access/roles/new")
async def new_role(studio: StudioDep) -> Response:
    scope = _default_scope(studio)
    source = studio.request.query_params.get("from", "")[:64]
    form = RoleForm(scopes=scope if scope != "/" else "")
    if source:
        try:
            form = RoleForm.of(await studio.call(role_definitions.get_role_definition, "/", source))
        except MaasError as error:
            return _role_page(studio, scope, form, alert=in_words(error), status=error.status)
    return _role_page(studio, scope, form)


@router.post("/studio/access/roles")
async def save_role(studio: StudioFormDep) -> Response:
    form = await studio.form()
    scope = _normal(_text(form, "scope"))
    mode = _text(form, "mode", 8)
    given = RoleForm(
        guid=_text(form, "guid", 64),
        name=_text(form, "name", 256),
        description=_text(form, "description", 2048),
        actions=_text(form, "actions", 20_000),
        not_actions=_text(form, "not_actions", 20_000),
        data_actions=_text(form, "data_actions", 20_000),
        not_data_actions=_text(form, "not_data_actions", 20_000),
        scopes=_text(form, "scopes", 20_000),
        json_text=_text(form, "json", 100_000),
    )
    try:
        if mode == "json":
            if not given.json_text:
                raise BadRequest(
                    "Paste the role definition's JSON (the file `maas role definition create` takes).",
                    target="json",
                )
            named, body = role_definition_file(given.json_text)
            guid = named or given.guid or str(uuid.uuid4())
        else:
            file = {
                "Name": given.name,
                "Description": given.description,
                "Actions": _lines(given.actions),
                "NotActions": _lines(given.not_actions),
                "DataActions": _lines(given.data_actions),
                "NotDataActions": _lines(given.not_data_actions),
                "AssignableScopes": _lines(given.scopes),
            }
            _named, body = role_definition_file(json.dumps(file))
            guid = given.guid or str(uuid.uuid4())
        where = _normal(body.properties.assignable_scopes[0])
        saved = await studio.call(role_definitions.put_role_definition, where, guid, body)
    except MaasError as error:
        return _role_page(studio, scope, given, alert=in_words(error), status=error.status)
    done = f"Saved the custom role {saved.resource.role_name}."
    return render.redirect(
        studio.request, f"/studio/access?{urlencode({'scope': scope, 'tab': 'roles', 'done': done})}"
    )


@router.get("/studio/access/roles/{guid}")
async def role_details(guid: str, studio: StudioDep) -> Response:
    scope = _default_scope(studio)
    role = await studio.call(role_definitions.get_role_definition, "/", guid[:64])
    return render.page(
        studio,
        "access/role.html",
        nav="access",
        crumbs=_crumbs(role.role_name, scope),
        scope=scope,
        role=role,
        as_json=RoleForm.of(role).json_text if role.role_type == "CustomRole" else "",
        back=f"/studio/access?{urlencode({'scope': scope, 'tab': 'roles'})}",
    )


@router.post("/studio/access/roles/{guid}/delete")
async def delete_role(guid: str, studio: StudioFormDep) -> Response:
    form = await studio.form()
    scope = _normal(_text(form, "scope"))
    back = {"scope": scope, "tab": "roles"}
    try:
        role = await studio.call(role_definitions.get_role_definition, "/", guid[:64])
        where = role.assignable_scopes[0] if role.role_type == "CustomRole" else scope
        await studio.call(role_definitions.delete_role_definition, where, guid[:64])
    except MaasError as error:
        return render.page(
            studio,
            "error.html",
            status=error.status,
            nav="access",
            crumbs=_crumbs("Delete custom role", scope),
            title="The custom role was not deleted",
            message=in_words(error),
        )
    return render.redirect(
        studio.request,
        f"/studio/access?{urlencode(back | {'done': f'Deleted the custom role {role.role_name}.'})}",
    )


# -- the activity log ---------------------------------------------------------------------------
@router.get("/studio/activity")
async def activity_log(studio: StudioDep) -> Response:
    params = studio.request.query_params
    found_accounts = await studio.call(accounts.list_accounts)
    default_sub = studio.workspace.id.split("/")[2] if studio.workspace is not None else ""
    if not default_sub and found_accounts:
        default_sub = found_accounts[0].name
    filters = {
        "sub": params.get("sub", default_sub).strip()[:64],
        "rg": params.get("rg", "").strip()[:90],
        "range": params.get("range", "24h") if params.get("range", "24h") in RANGES else "24h",
        "caller": params.get("caller", "").strip()[:256],
        "status": params.get("status", "") if params.get("status", "") in STATUSES else "",
        "operation": params.get("operation", "").strip()[:256],
    }
    before_text = params.get("before", "")
    before = int(before_text) if before_text.isdigit() and len(before_text) < 19 else None
    alert, status = "", 200
    page: activity.EventPage | None = None
    if filters["sub"]:
        now = utcnow()
        query = EventQuery(
            filters["sub"],
            now - RANGES[filters["range"]][1],
            now,
            resource_group=filters["rg"] or None,
            caller=filters["caller"] or None,
            status=filters["status"] or None,
            operation=filters["operation"] or None,
        )
        try:
            page = await studio.call(activity.list_events, query, before, EVENT_PAGE)
        except MaasError as error:
            alert, status = in_words(error), error.status
    kept = {k: v for k, v in filters.items() if v}
    return render.page(
        studio,
        "access/activity.html",
        status=status,
        nav="activity",
        crumbs=[("Activity log", None)],
        accounts=found_accounts,
        filters=filters,
        ranges={k: v[0] for k, v in RANGES.items()},
        statuses=STATUSES,
        page=page,
        alert=alert,
        next_url=f"/studio/activity?{urlencode(kept | {'before': page.next_token})}"
        if page is not None and page.next_token is not None
        else None,
        first_url=f"/studio/activity?{urlencode(kept)}" if before is not None else None,
    )
