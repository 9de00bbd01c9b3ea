"""`maas ml serverless-endpoint create|show|list|update|delete|get-credentials|regenerate-keys`
(`az ml serverless-endpoint`), thin over `MLClient.serverless_endpoints`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from maas.cli.commands import (
    WorkspaceResource,
    as_dict,
    create_command,
    delete_command,
    finish,
    list_command,
    show_command,
)
from maas.cli.connection import WorkspaceScope, in_workspace
from maas.cli.options import NoWaitOpt
from maas.cli.output import fail, printed
from maas.sdk import EndpointAuthKeys, MLClient, load_serverless_endpoint

endpoint_app = typer.Typer(
    help="Serverless API endpoints: models deployed pay-per-token.", no_args_is_help=True
)
ENDPOINTS = WorkspaceResource(
    "serverless endpoint",
    lambda client: client.serverless_endpoints,
    load_serverless_endpoint,
    set_help="Set a field: key=value (tags.k=v).",
)
endpoint_app.command("create", help="Deploy a catalog model as a serverless API endpoint.")(
    create_command(ENDPOINTS)
)
endpoint_app.command("show", help="One serverless endpoint: its Target URI, model and state.")(
    show_command(ENDPOINTS)
)
endpoint_app.command("list", help="The workspace's serverless endpoints.")(list_command(ENDPOINTS))

OptionalFileOpt = Annotated[
    Path | None,
    typer.Option("--file", "-f", exists=True, dir_okay=False, readable=True, help="endpoint.yml"),
]
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Endpoint name.")]
NameOverrideOpt = Annotated[str | None, typer.Option("--name", "-n", help="Name (overrides the file's).")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="Set a field: key=value (tags.k=v).")]
UPDATABLE = ("description", "tags", "auth_mode", "content_safety")


def keys_dict(keys: EndpointAuthKeys) -> dict[str, Any]:
    return {"primaryKey": keys.primary_key, "secondaryKey": keys.secondary_key}


def _apply(entity: Any, assignments: list[str]) -> None:
    for item in assignments:
        key, sep, value = item.partition("=")
        field, _, sub_key = key.partition(".")
        if not sep or field not in UPDATABLE:
            fail(f"--set: expected {', '.join(UPDATABLE)} (tags.KEY=VALUE), got {item!r}", 2)
        if field == "tags":
            tags = dict(getattr(entity, "tags", None) or {})
            if sub_key:
                tags[sub_key] = value
            elif value:
                fail("--set: give a tag as tags.KEY=VALUE", 2)
            else:
                tags = {}
            entity.tags = tags
        elif sub_key:
            fail(f"--set: {field} has no fields", 2)
        else:
            setattr(entity, field, value)


@endpoint_app.command("update")
@in_workspace
@printed
def update(
    scope: WorkspaceScope,
    name: NameOverrideOpt = None,
    file: OptionalFileOpt = None,
    set_: SetOpt = None,
    no_wait: NoWaitOpt = False,
) -> Any:
    """Change an endpoint's tags or description (--set), or apply a file (-f)."""
    if file is None and not name:
        fail("give -n/--name or -f/--file", 2)
    if file is None and not set_:
        fail("nothing to update: give --set key=value or -f/--file", 2)
    client: MLClient = scope.client
    if file is not None:
        entity = load_serverless_endpoint(file, params_override=[{"name": name}] if name else None)
        client.serverless_endpoints.get(entity.name)  # update only what exists
    else:
        assert name is not None
        entity = client.serverless_endpoints.get(name)
    _apply(entity, set_ or [])
    poller = client.serverless_endpoints.begin_create_or_update(entity)
    return as_dict(finish(poller, no_wait, f"Updating serverless endpoint {entity.name}"))


endpoint_app.command("delete", help="Delete a serverless endpoint.")(delete_command(ENDPOINTS))


@endpoint_app.command("get-credentials")
@in_workspace
@printed
def get_credentials(scope: WorkspaceScope, name: NameOpt) -> Any:
    """The endpoint's keys."""
    return keys_dict(scope.client.serverless_endpoints.get_keys(name))


@endpoint_app.command("regenerate-keys")
@in_workspace
@printed
def regenerate_keys(
    scope: WorkspaceScope,
    name: NameOpt,
    key_type: Annotated[
        Literal["primary", "secondary"], typer.Option("--key-type", help="Which key: primary or secondary.")
    ] = "primary",
    no_wait: NoWaitOpt = False,
) -> Any:
    """Replace one of the endpoint's keys; the other keeps working."""
    poller = scope.client.serverless_endpoints.begin_regenerate_keys(name, key_type=key_type)
    keys = finish(poller, no_wait, f"Regenerating the {key_type} key of {name}")
    return None if keys is None else keys_dict(keys)
