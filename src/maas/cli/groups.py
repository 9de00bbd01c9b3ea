"""`maas group create|show|list|delete` (as `az group`) and `maas ml workspace create|show|list`
(as `az ml workspace`): the resource group and the workspace a team's subscriptions and endpoints
live in. Workspaces are read through the SDK elsewhere; creating one is a plain ARM PUT."""

from __future__ import annotations

from typing import Annotated

import typer

from maas.cli import config
from maas.cli.client import Client
from maas.cli.options import GroupOpt, OutputOpt, QueryOpt, SubOpt, TokenOpt, UrlOpt, YesOpt
from maas.cli.output import emit, fail

group_app = typer.Typer(help="Resource groups (as `az group`).", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspaces (as `az ml workspace`).", no_args_is_help=True)
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Name.")]
LocationOpt = Annotated[
    str | None, typer.Option("--location", "-l", help="Region, e.g. eastus2 (or the configured default).")
]
WS = "providers/Microsoft.MachineLearningServices/workspaces"


def _scope(subscription: str | None, url: str | None, token: str | None) -> tuple[config.Profile, str]:
    profile = config.resolve(url=url, token=token, subscription=subscription)
    if not profile.subscription:
        fail("no account: pass --subscription or run `maas account set`", 2)
    return profile, f"/subscriptions/{profile.subscription}"


def _location(profile: config.Profile, location: str | None) -> str:
    chosen = location or profile.location
    if not chosen:
        fail("pass --location or run `maas configure --defaults location=…`", 2)
    return chosen


@group_app.command("create")
def group_create(
    name: NameOpt,
    location: LocationOpt = None,
    subscription: SubOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = "json",
    query: QueryOpt = None,
) -> None:
    """Create a resource group (or update its tags)."""
    profile, sub = _scope(subscription, url, token)
    location = _location(profile, location)
    emit(
        Client(url, token).request("PUT", f"{sub}/resourceGroups/{name}", {"location": location}),
        output,
        query,
    )


@group_app.command("show")
def group_show(
    name: NameOpt,
    subscription: SubOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = "json",
    query: QueryOpt = None,
) -> None:
    """One resource group."""
    _, sub = _scope(subscription, url, token)
    emit(Client(url, token).request("GET", f"{sub}/resourceGroups/{name}"), output, query)


@group_app.command("list")
def group_list(
    subscription: SubOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = "json",
    query: QueryOpt = None,
) -> None:
    """The account's resource groups."""
    _, sub = _scope(subscription, url, token)
    emit(Client(url, token).request("GET", f"{sub}/resourceGroups").get("value", []), output, query)


@group_app.command("delete")
def group_delete(
    name: NameOpt,
    yes: YesOpt = False,
    subscription: SubOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Delete an empty resource group."""
    _, sub = _scope(subscription, url, token)
    if not yes and not typer.confirm(f"Delete resource group '{name}'?", default=False):
        raise typer.Exit(1)
    Client(url, token).request("DELETE", f"{sub}/resourceGroups/{name}")


@workspace_app.command("create")
def workspace_create(
    name: NameOpt,
    resource_group: GroupOpt = None,
    location: LocationOpt = None,
    subscription: SubOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = "json",
    query: QueryOpt = None,
) -> None:
    """Create a workspace in a resource group (its region is where its endpoints run)."""
    profile, sub = _scope(subscription, url, token)
    group = resource_group or profile.group
    if not group:
        fail("pass -g/--resource-group or run `maas configure --defaults group=…`", 2)
    body = {"location": _location(profile, location)}
    emit(Client(url, token).request("PUT", f"{sub}/resourceGroups/{group}/{WS}/{name}", body), output, query)


@workspace_app.command("show")
def workspace_show(
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Name (default: the configured one).")
    ] = None,
    resource_group: GroupOpt = None,
    subscription: SubOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = "json",
    query: QueryOpt = None,
) -> None:
    """One workspace."""
    profile, sub = _scope(subscription, url, token)
    group, name = resource_group or profile.group, name or profile.workspace
    if not group or not name:
        fail("pass -n and -g (or configure defaults for workspace and group)", 2)
    emit(Client(url, token).request("GET", f"{sub}/resourceGroups/{group}/{WS}/{name}"), output, query)


@workspace_app.command("list")
def workspace_list(
    resource_group: GroupOpt = None,
    subscription: SubOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    output: OutputOpt = "json",
    query: QueryOpt = None,
) -> None:
    """The workspaces of a resource group."""
    profile, sub = _scope(subscription, url, token)
    group = resource_group or profile.group
    if not group:
        fail("pass -g/--resource-group or run `maas configure --defaults group=…`", 2)
    found = Client(url, token).request("GET", f"{sub}/resourceGroups/{group}/{WS}")
    emit(found.get("value", []), output, query)
