"""`maas role assignment create|list|delete` (`az role assignment`), over the
Microsoft.Authorization routes, and the `maas role definition` group (`role_definitions.py`).
Roles are given by name ("Azure AI Developer", or a custom role's) or GUID."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer

from maas.cli.connection import Connection, connected
from maas.cli.options import GroupOpt, SubOpt
from maas.cli.output import printed, required
from maas.cli.role_definitions import API_VERSION, definition_app, find_role
from maas.sdk import ArmClient, HttpResponseError

role_app = typer.Typer(help="Role-based access: definitions and assignments.", no_args_is_help=True)
assignment_app = typer.Typer(help="Who holds which role at which scope.", no_args_is_help=True)
role_app.add_typer(assignment_app, name="assignment")
role_app.add_typer(definition_app, name="definition")

RA = "/providers/Microsoft.Authorization/roleAssignments"
ScopeOpt = Annotated[
    str | None, typer.Option("--scope", help="/, /subscriptions/S, …/resourceGroups/G or a workspace id.")
]


def _scope(connection: Connection, scope: str | None, subscription: str | None, group: str | None) -> str:
    if scope:
        return "/" + scope.strip("/") if scope.strip("/") else "/"
    sub = required(
        subscription or connection.profile.subscription,
        "give --scope (or --subscription / `maas account set`)",
    )
    return f"/subscriptions/{sub}" + (f"/resourceGroups/{group}" if group else "")


def _prefix(scope: str) -> str:
    return "" if scope == "/" else scope


def principal_id(client: ArmClient, assignee: str) -> str:
    """A principal's id from its name (assignments store the id); the input when unknown."""
    try:
        principal = client.request("GET", f"/providers/Microsoft.MaaS/principals/{assignee}") or {}
    except HttpResponseError:
        return assignee
    return str(principal.get("properties", {}).get("principalId") or assignee)


@assignment_app.command("create")
@connected
@printed
def create(
    connection: Connection,
    assignee: Annotated[str, typer.Option("--assignee", help="The principal (user or service) name or id.")],
    role: Annotated[str, typer.Option("--role", help="Role name or GUID, e.g. 'Azure AI Developer'.")],
    scope: ScopeOpt = None,
    resource_group: GroupOpt = None,
    subscription: SubOpt = None,
    description: Annotated[str | None, typer.Option("--description", help="Why.")] = None,
) -> Any:
    """Grant a role to a principal at a scope."""
    where = _scope(connection, scope, subscription, resource_group)
    client = connection.arm()
    definition = find_role(client, role, where)
    properties: dict[str, Any] = {"roleDefinitionId": definition["id"], "principalId": assignee}
    if description:
        properties["description"] = description
    path = f"{_prefix(where)}{RA}/{uuid.uuid4()}"
    return client.request("PUT", path, {"properties": properties}, api_version=API_VERSION)


@assignment_app.command("list")
@connected
@printed
def list_(
    connection: Connection,
    scope: ScopeOpt = None,
    assignee: Annotated[str | None, typer.Option("--assignee", help="Only this principal's.")] = None,
    role: Annotated[str | None, typer.Option("--role", help="Only this role's.")] = None,
    resource_group: GroupOpt = None,
    subscription: SubOpt = None,
) -> Any:
    """Role assignments at a scope."""
    where = _scope(connection, scope, subscription, resource_group)
    client = connection.arm()
    items = list(client.list(f"{_prefix(where)}{RA}", api_version=API_VERSION))
    if assignee:
        principals = {assignee.lower(), principal_id(client, assignee).lower()}
        items = [i for i in items if str(i["properties"].get("principalId", "")).lower() in principals]
    if role:
        role_id = str(find_role(client, role, where)["id"]).lower()
        items = [i for i in items if str(i["properties"].get("roleDefinitionId", "")).lower() == role_id]
    return items


@assignment_app.command("delete")
@connected
def delete(
    connection: Connection,
    ids: Annotated[list[str], typer.Option("--ids", help="Role assignment ids (repeat).")],
) -> None:
    """Remove role assignments by id."""
    client = connection.arm()
    for item in ids:
        client.request("DELETE", item, api_version=API_VERSION)
