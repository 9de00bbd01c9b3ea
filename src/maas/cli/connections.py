"""`maas ml connection create|show|list|delete`: a workspace's connections to serverless
endpoints (`az ml connection`), thin over `MLClient.connections`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from maas.cli.options import GroupOpt, OutputOpt, QueryOpt, SubOpt, TokenOpt, UrlOpt, WorkspaceOpt, YesOpt
from maas.cli.output import emit
from maas.cli.workspace import as_dict, confirm, ml_client, sdk_errors, set_overrides
from maas.sdk import load_connection

connection_app = typer.Typer(help="Workspace connections to serverless endpoints.", no_args_is_help=True)

NameOpt = Annotated[str, typer.Option("--name", "-n", help="Connection name.")]


@connection_app.command("create")
def create(
    file: Annotated[
        Path, typer.Option("--file", "-f", exists=True, dir_okay=False, readable=True, help="connection.yml")
    ],
    name: Annotated[str | None, typer.Option("--name", "-n", help="Name (overrides the file's).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a field: key=value.")] = None,
    subscription: SubOpt = None,
    resource_group: GroupOpt = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = "json",
    query: QueryOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Create or update a connection to a serverless endpoint."""
    overrides = set_overrides(set_) + ([{"name": name}] if name else [])
    with sdk_errors():
        entity = load_connection(file, params_override=overrides)
        client = ml_client(
            subscription=subscription, group=resource_group, workspace=workspace_name, url=url, token=token
        )
        result = client.connections.create_or_update(entity)
    emit(as_dict(result), output, query)


@connection_app.command("show")
def show(
    name: NameOpt,
    populate_secrets: Annotated[
        bool, typer.Option("--populate-secrets", help="Include the connection's key.")
    ] = False,
    subscription: SubOpt = None,
    resource_group: GroupOpt = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = "json",
    query: QueryOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """One connection."""
    with sdk_errors():
        client = ml_client(
            subscription=subscription, group=resource_group, workspace=workspace_name, url=url, token=token
        )
        result = client.connections.get(name, populate_secrets=populate_secrets)
    emit(as_dict(result), output, query)


@connection_app.command("list")
def list_(
    subscription: SubOpt = None,
    resource_group: GroupOpt = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = "json",
    query: QueryOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """The workspace's connections."""
    with sdk_errors():
        client = ml_client(
            subscription=subscription, group=resource_group, workspace=workspace_name, url=url, token=token
        )
        result = list(client.connections.list())
    emit(as_dict(result), output, query)


@connection_app.command("delete")
def delete(
    name: NameOpt,
    yes: YesOpt = False,
    subscription: SubOpt = None,
    resource_group: GroupOpt = None,
    workspace_name: WorkspaceOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Delete a connection."""
    confirm(f"connection {name!r}", yes)
    with sdk_errors():
        client = ml_client(
            subscription=subscription, group=resource_group, workspace=workspace_name, url=url, token=token
        )
        client.connections.delete(name)
