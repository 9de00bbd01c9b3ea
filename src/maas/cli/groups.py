"""`maas group create|show|list|delete` (as `az group`) and `maas ml workspace create|show|list`
(as `az ml workspace`): the resource group and the workspace a team's subscriptions and endpoints
live in. Workspaces are read through the SDK elsewhere; creating one is a plain ARM PUT."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from maas.cli.connection import Connection, connected
from maas.cli.options import GroupOpt, SubOpt, YesOpt
from maas.cli.output import fail, printed, required

group_app = typer.Typer(help="Resource groups (as `az group`).", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspaces (as `az ml workspace`).", no_args_is_help=True)
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Name.")]
LocationOpt = Annotated[
    str | None, typer.Option("--location", "-l", help="Region, e.g. eastus2 (or the configured default).")
]
WS = "providers/Microsoft.MachineLearningServices/workspaces"


def _account(connection: Connection, subscription: str | None) -> str:
    """The account's path: `/subscriptions/ID`."""
    sub = required(
        subscription or connection.profile.subscription,
        "no account: pass --subscription or run `maas account set`",
    )
    return f"/subscriptions/{sub}"


def _group(connection: Connection, subscription: str | None, group: str | None) -> str:
    """A resource group's path, the group from -g or the defaults."""
    account = _account(connection, subscription)
    group = required(
        group or connection.profile.group,
        "pass -g/--resource-group or run `maas configure --defaults group=…`",
    )
    return f"{account}/resourceGroups/{group}"


def _create(connection: Connection, path: str, location: str | None) -> Any:
    """PUT a group or workspace in its region: `--location`, or the default."""
    location = required(
        location or connection.profile.location,
        "pass --location or run `maas configure --defaults location=…`",
    )
    return connection.arm().request("PUT", path, {"location": location})


@group_app.command("create")
@connected
@printed
def group_create(
    connection: Connection,
    name: NameOpt,
    location: LocationOpt = None,
    subscription: SubOpt = None,
) -> Any:
    """Create a resource group (or update its tags)."""
    return _create(connection, f"{_account(connection, subscription)}/resourceGroups/{name}", location)


@group_app.command("show")
@connected
@printed
def group_show(
    connection: Connection,
    name: NameOpt,
    subscription: SubOpt = None,
) -> Any:
    """One resource group."""
    path = f"{_account(connection, subscription)}/resourceGroups/{name}"
    return connection.arm().request("GET", path)


@group_app.command("list")
@connected
@printed
def group_list(connection: Connection, subscription: SubOpt = None) -> Any:
    """The account's resource groups."""
    path = f"{_account(connection, subscription)}/resourceGroups"
    return list(connection.arm().list(path))


@group_app.command("delete")
@connected
def group_delete(
    connection: Connection, name: NameOpt, yes: YesOpt = False, subscription: SubOpt = None
) -> None:
    """Delete an empty resource group."""
    path = f"{_account(connection, subscription)}/resourceGroups/{name}"
    if not yes and not typer.confirm(f"Delete resource group '{name}'?", default=False):
        raise typer.Exit(1)
    connection.arm().request("DELETE", path)


@workspace_app.command("create")
@connected
@printed
def workspace_create(
    connection: Connection,
    name: NameOpt,
    resource_group: GroupOpt = None,
    location: LocationOpt = None,
    subscription: SubOpt = None,
) -> Any:
    """Create a workspace in a resource group (its region is where its endpoints run)."""
    return _create(connection, f"{_group(connection, subscription, resource_group)}/{WS}/{name}", location)


@workspace_app.command("show")
@connected
@printed
def workspace_show(
    connection: Connection,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Name (default: the configured one).")
    ] = None,
    resource_group: GroupOpt = None,
    subscription: SubOpt = None,
) -> Any:
    """One workspace."""
    account = _account(connection, subscription)
    group, name = resource_group or connection.profile.group, name or connection.profile.workspace
    if not group or not name:
        fail("pass -n and -g (or configure defaults for workspace and group)", 2)
    return connection.arm().request("GET", f"{account}/resourceGroups/{group}/{WS}/{name}")


@workspace_app.command("list")
@connected
@printed
def workspace_list(
    connection: Connection,
    resource_group: GroupOpt = None,
    subscription: SubOpt = None,
) -> Any:
    """The workspaces of a resource group."""
    path = f"{_group(connection, subscription, resource_group)}/{WS}"
    return list(connection.arm().list(path))
