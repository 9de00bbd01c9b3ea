"""`maas ml serverless-endpoint create|show|list|update|delete|get-credentials|regenerate-keys`
(`az ml serverless-endpoint`), thin over `MLClient.serverless_endpoints`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from maas.cli.options import (
    GroupOpt,
    NoWaitOpt,
    OutputOpt,
    QueryOpt,
    SubOpt,
    TokenOpt,
    UrlOpt,
    WorkspaceOpt,
    YesOpt,
)
from maas.cli.output import emit, fail, progress
from maas.cli.workspace import as_dict, confirm, finish, ml_client, sdk_errors, set_overrides
from maas.sdk import EndpointAuthKeys, load_serverless_endpoint

endpoint_app = typer.Typer(
    help="Serverless API endpoints: models deployed pay-per-token.", no_args_is_help=True
)

FileOpt = Annotated[
    Path, typer.Option("--file", "-f", exists=True, dir_okay=False, readable=True, help="endpoint.yml")
]
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


@endpoint_app.command("create")
def create(
    file: FileOpt,
    name: NameOverrideOpt = None,
    set_: SetOpt = None,
    no_wait: NoWaitOpt = False,
    subscription: SubOpt = None,
    resource_group: GroupOpt = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = "json",
    query: QueryOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Deploy a catalog model as a serverless API endpoint."""
    overrides = set_overrides(set_) + ([{"name": name}] if name else [])
    with sdk_errors():
        entity = load_serverless_endpoint(file, params_override=overrides)
        client = ml_client(
            subscription=subscription, group=resource_group, workspace=workspace_name, url=url, token=token
        )
        result = finish(
            client.serverless_endpoints.begin_create_or_update(entity),
            no_wait,
            f"Creating serverless endpoint {entity.name}",
        )
        if result is None:
            return
    emit(as_dict(result), output, query)


@endpoint_app.command("show")
def show(
    name: NameOpt,
    subscription: SubOpt = None,
    resource_group: GroupOpt = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = "json",
    query: QueryOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """One serverless endpoint: its Target URI, model and state."""
    with sdk_errors():
        client = ml_client(
            subscription=subscription, group=resource_group, workspace=workspace_name, url=url, token=token
        )
        result = client.serverless_endpoints.get(name)
    emit(as_dict(result), output, query)


@endpoint_app.command("list")
def list_(
    subscription: SubOpt = None,
    resource_group: GroupOpt = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = "json",
    query: QueryOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """The workspace's serverless endpoints."""
    with sdk_errors():
        client = ml_client(
            subscription=subscription, group=resource_group, workspace=workspace_name, url=url, token=token
        )
        result = list(client.serverless_endpoints.list())
    emit(as_dict(result), output, query)


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
def update(
    name: NameOverrideOpt = None,
    file: OptionalFileOpt = None,
    set_: SetOpt = None,
    no_wait: NoWaitOpt = False,
    subscription: SubOpt = None,
    resource_group: GroupOpt = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = "json",
    query: QueryOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Change an endpoint's tags or description (--set), or apply a file (-f)."""
    if file is None and not name:
        fail("give -n/--name or -f/--file", 2)
    if file is None and not set_:
        fail("nothing to update: give --set key=value or -f/--file", 2)
    with sdk_errors():
        client = ml_client(
            subscription=subscription, group=resource_group, workspace=workspace_name, url=url, token=token
        )
        if file is not None:
            entity = load_serverless_endpoint(file, params_override=[{"name": name}] if name else None)
            client.serverless_endpoints.get(entity.name)  # update only what exists
            _apply(entity, set_ or [])
        else:
            assert name is not None
            entity = client.serverless_endpoints.get(name)
            _apply(entity, set_ or [])
        result = finish(
            client.serverless_endpoints.begin_create_or_update(entity),
            no_wait,
            f"Updating serverless endpoint {entity.name}",
        )
        if result is None:
            return
    emit(as_dict(result), output, query)


@endpoint_app.command("delete")
def delete(
    name: NameOpt,
    yes: YesOpt = False,
    no_wait: NoWaitOpt = False,
    subscription: SubOpt = None,
    resource_group: GroupOpt = None,
    workspace_name: WorkspaceOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Delete a serverless endpoint."""
    confirm(f"serverless endpoint {name!r}", yes)
    with sdk_errors():
        client = ml_client(
            subscription=subscription, group=resource_group, workspace=workspace_name, url=url, token=token
        )
        finish(
            client.serverless_endpoints.begin_delete(name), no_wait, f"Deleting serverless endpoint {name}"
        )


@endpoint_app.command("get-credentials")
def get_credentials(
    name: NameOpt,
    subscription: SubOpt = None,
    resource_group: GroupOpt = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = "json",
    query: QueryOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """The endpoint's keys."""
    with sdk_errors():
        client = ml_client(
            subscription=subscription, group=resource_group, workspace=workspace_name, url=url, token=token
        )
        keys = client.serverless_endpoints.get_keys(name)
    emit(keys_dict(keys), output, query)


@endpoint_app.command("regenerate-keys")
def regenerate_keys(
    name: NameOpt,
    key_type: Annotated[
        Literal["primary", "secondary"], typer.Option("--key-type", help="Which key: primary or secondary.")
    ] = "primary",
    no_wait: NoWaitOpt = False,
    subscription: SubOpt = None,
    resource_group: GroupOpt = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = "json",
    query: QueryOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Replace one of the endpoint's keys; the other keeps working."""
    with sdk_errors():
        client = ml_client(
            subscription=subscription, group=resource_group, workspace=workspace_name, url=url, token=token
        )
        poller = client.serverless_endpoints.begin_regenerate_keys(name, key_type=key_type)
        if no_wait:
            return
        with progress(f"Regenerating the {key_type} key of {name}"):
            keys = poller.result()
    emit(keys_dict(keys), output, query)
