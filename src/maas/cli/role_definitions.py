"""`maas role definition create|list|show|update|delete` (`az role definition`).

`--role-definition` takes a JSON file path or inline JSON in either of the shapes `az` accepts:

* the file `az role definition create` documents: `Name`, `IsCustom`, `Description`, `Actions`,
  `NotActions`, `DataActions`, `NotDataActions`, `AssignableScopes` (keys in any case);
* a role definition as `list`/`show` print it (ARM's, `properties` nested or flattened as `az`
  prints it), edited for `update`.

`create` gives the role a new GUID (or the `Id`/`name` GUID the file carries) and writes it at its
first assignable scope, as `az` does; `update` finds the role by that GUID or else by its name.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from maas.cli.connection import Connection, connected
from maas.cli.options import SubOpt
from maas.cli.output import fail, printed
from maas.sdk import ArmClient

definition_app = typer.Typer(help="Built-in and custom roles.", no_args_is_help=True)

RD = "/providers/Microsoft.Authorization/roleDefinitions"
API_VERSION = "2022-04-01"
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

DefinitionOpt = Annotated[
    str, typer.Option("--role-definition", help="The role as a JSON file path or inline JSON (az's format).")
]
ScopeOpt = Annotated[
    str | None,
    typer.Option("--scope", help="Where to look: /subscriptions/S, …/resourceGroups/G or a workspace id."),
]
NameOpt = Annotated[str, typer.Option("--name", "-n", help="The role's name or GUID.")]


def _prefix(scope: str) -> str:
    scope = "/" + scope.strip().strip("/")
    return "" if scope == "/" else scope


def list_scope(connection: Connection, scope: str | None, subscription: str | None) -> str:
    """Where a listing looks: `--scope`, else the subscription (flag or default), else `/`."""
    if scope:
        return "/" + scope.strip().strip("/")
    sub = subscription or connection.profile.subscription
    return f"/subscriptions/{sub}" if sub else "/"


def find_role(client: ArmClient, role: str, scope: str = "/") -> dict[str, Any]:
    """A role visible at `scope` by name (any case), GUID or id; a usage error naming the roles
    there when none matches."""
    roles = list(client.list(f"{_prefix(scope)}{RD}", api_version=API_VERSION))
    wanted = role.rsplit("/", 1)[-1].lower()
    for item in roles:
        if wanted in (str(item.get("name", "")).lower(), str(item["properties"].get("roleName", "")).lower()):
            return item
    names = ", ".join(sorted(str(item["properties"].get("roleName")) for item in roles))
    fail(f"(RoleDefinitionDoesNotExist) No role named '{role}' at scope '{scope}'. Roles: {names}.", 2)


def load_definition(text: str) -> dict[str, Any]:
    """The `--role-definition` argument as a JSON object (a path to a file, or the JSON itself)."""
    path = Path(text).expanduser()
    raw = text
    if not text.lstrip().startswith("{"):
        if not path.is_file():
            fail(f"--role-definition: no such file '{text}' (give a JSON file path or inline JSON).", 2)
        raw = path.read_text(encoding="utf-8")
    try:
        loaded = json.loads(raw)
    except json.JSONDecodeError as exc:
        fail(f"--role-definition is not valid JSON: {exc}.", 2)
    if not isinstance(loaded, dict):
        fail("--role-definition must be a JSON object.", 2)
    return loaded


def _fields(definition: dict[str, Any]) -> dict[str, Any]:
    """Keys lower-cased, `properties` (ARM's nesting) merged in."""
    flat = {k.lower(): v for k, v in definition.items()}
    nested = flat.pop("properties", None)
    if isinstance(nested, dict):
        flat.update({k.lower(): v for k, v in nested.items()})
    return flat


def to_arm(definition: dict[str, Any]) -> tuple[str | None, str | None, dict[str, Any]]:
    """(GUID if the file names one, role name, ARM PUT body) from either shape of the file."""
    fields = _fields(definition)
    if "rolename" in fields:  # as list/show print it: `name` is the GUID
        role_name, guid_text = fields.get("rolename"), fields.get("name") or fields.get("id")
    else:  # az's create file: `Name` is the role name
        role_name, guid_text = fields.get("name"), fields.get("id")
    guid = None
    if guid_text:
        match = _GUID.search(str(guid_text).rsplit("/", 1)[-1])
        guid = match.group(0).lower() if match else None
    if "permissions" in fields:
        permissions = fields["permissions"]
    else:
        permissions = [
            {
                "actions": fields.get("actions") or [],
                "notActions": fields.get("notactions") or [],
                "dataActions": fields.get("dataactions") or [],
                "notDataActions": fields.get("notdataactions") or [],
            }
        ]
    if not role_name:
        fail("--role-definition needs the role's name ('Name').", 2)
    scopes = fields.get("assignablescopes") or []
    if not isinstance(scopes, list) or not scopes:
        fail("--role-definition needs 'AssignableScopes' (subscriptions, resource groups or workspaces).", 2)
    body = {
        "properties": {
            "roleName": str(role_name),
            "description": str(fields.get("description") or ""),
            "permissions": permissions,
            "assignableScopes": scopes,
        }
    }
    return guid, str(role_name), body


@definition_app.command("list")
@connected
@printed
def definition_list(
    connection: Connection,
    scope: ScopeOpt = None,
    subscription: SubOpt = None,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Only the role with this name or GUID.")
    ] = None,
    custom_role_only: Annotated[bool, typer.Option("--custom-role-only", help="Only custom roles.")] = False,
) -> Any:
    """The roles that can be assigned at a scope (the default subscription's, else `/`)."""
    where = list_scope(connection, scope, subscription)
    roles = list(connection.arm().list(f"{_prefix(where)}{RD}", api_version=API_VERSION))
    if name:
        roles = [r for r in roles if name.lower() in (r["name"].lower(), r["properties"]["roleName"].lower())]
    if custom_role_only:
        roles = [r for r in roles if r["properties"].get("type") == "CustomRole"]
    return roles


@definition_app.command("show")
@connected
@printed
def show(connection: Connection, name: NameOpt, scope: ScopeOpt = None, subscription: SubOpt = None) -> Any:
    """One role, by name or GUID."""
    return find_role(connection.arm(), name, list_scope(connection, scope, subscription))


@definition_app.command("create")
@connected
@printed
def create(connection: Connection, role_definition: DefinitionOpt) -> Any:
    """Define a custom role, written at its first assignable scope."""
    guid, _name, body = to_arm(load_definition(role_definition))
    scope = str(body["properties"]["assignableScopes"][0])
    path = f"{_prefix(scope)}{RD}/{guid or uuid.uuid4()}"
    return connection.arm().request("PUT", path, body, api_version=API_VERSION)


@definition_app.command("update")
@connected
@printed
def update(connection: Connection, role_definition: DefinitionOpt) -> Any:
    """Replace a custom role's definition; the file names it by GUID (`Id`/`name`) or by name."""
    guid, name, body = to_arm(load_definition(role_definition))
    scope = str(body["properties"]["assignableScopes"][0])
    client = connection.arm()
    if guid is None:
        guid = str(find_role(client, str(name), scope)["name"])
    return client.request("PUT", f"{_prefix(scope)}{RD}/{guid}", body, api_version=API_VERSION)


@definition_app.command("delete")
@connected
def delete(
    connection: Connection, name: NameOpt, scope: ScopeOpt = None, subscription: SubOpt = None
) -> None:
    """Delete a custom role (refused while it is assigned)."""
    where = list_scope(connection, scope, subscription)
    client = connection.arm()
    role = find_role(client, name, where)
    client.request("DELETE", f"{_prefix(where)}{RD}/{role['name']}", api_version=API_VERSION)
