"""`maas ml connection create|show|list|delete`: a workspace's connections to serverless
endpoints (`az ml connection`), thin over `MLClient.connections`. Connections are not
long-running: create and delete have no `--no-wait`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from maas.cli.commands import WorkspaceResource, as_dict, create_command, delete_command, list_command
from maas.cli.connection import WorkspaceScope, in_workspace
from maas.cli.output import printed
from maas.sdk import load_connection

connection_app = typer.Typer(help="Workspace connections to serverless endpoints.", no_args_is_help=True)
CONNECTIONS = WorkspaceResource(
    "connection",
    lambda client: client.connections,
    load_connection,
    set_help="Override a field: key=value.",
    long_running=False,
)
connection_app.command("create", help="Create or update a connection to a serverless endpoint.")(
    create_command(CONNECTIONS)
)


@connection_app.command("show")
@in_workspace
@printed
def show(
    scope: WorkspaceScope,
    name: Annotated[str, typer.Option("--name", "-n", help="Connection name.")],
    populate_secrets: Annotated[
        bool, typer.Option("--populate-secrets", help="Include the connection's key.")
    ] = False,
) -> Any:
    """One connection."""
    return as_dict(scope.client.connections.get(name, populate_secrets=populate_secrets))


connection_app.command("list", help="The workspace's connections.")(list_command(CONNECTIONS))
connection_app.command("delete", help="Delete a connection.")(delete_command(CONNECTIONS))
