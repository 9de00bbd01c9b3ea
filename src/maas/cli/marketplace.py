"""`maas ml marketplace-subscription create|show|list|delete`: a workspace's subscriptions to
marketplace offers (`az ml marketplace-subscription`), thin over `MLClient.marketplace_subscriptions`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
from maas.cli.output import emit
from maas.cli.workspace import as_dict, confirm, finish, ml_client, sdk_errors, set_overrides
from maas.sdk import load_marketplace_subscription

marketplace_app = typer.Typer(
    help="Workspace subscriptions to marketplace model offers.", no_args_is_help=True
)

FileOpt = Annotated[
    Path,
    typer.Option("--file", "-f", exists=True, dir_okay=False, readable=True, help="subscription.yml"),
]
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Subscription name.")]
NameOverrideOpt = Annotated[str | None, typer.Option("--name", "-n", help="Name (overrides the file's).")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="Override a field of the file: key=value.")]


@marketplace_app.command("create")
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
    """Subscribe the workspace to a model's marketplace offer (accepts its terms)."""
    overrides = set_overrides(set_) + ([{"name": name}] if name else [])
    with sdk_errors():
        entity = load_marketplace_subscription(file, params_override=overrides)
        client = ml_client(
            subscription=subscription, group=resource_group, workspace=workspace_name, url=url, token=token
        )
        result = finish(
            client.marketplace_subscriptions.begin_create_or_update(entity),
            no_wait,
            f"Creating marketplace subscription {entity.name}",
        )
        if result is None:
            return
    emit(as_dict(result), output, query)


@marketplace_app.command("show")
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
    """One marketplace subscription."""
    with sdk_errors():
        client = ml_client(
            subscription=subscription, group=resource_group, workspace=workspace_name, url=url, token=token
        )
        result = client.marketplace_subscriptions.get(name)
    emit(as_dict(result), output, query)


@marketplace_app.command("list")
def list_(
    subscription: SubOpt = None,
    resource_group: GroupOpt = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = "json",
    query: QueryOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """The workspace's marketplace subscriptions."""
    with sdk_errors():
        client = ml_client(
            subscription=subscription, group=resource_group, workspace=workspace_name, url=url, token=token
        )
        result = list(client.marketplace_subscriptions.list())
    emit(as_dict(result), output, query)


@marketplace_app.command("delete")
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
    """Unsubscribe: the offer's endpoints in the workspace stop serving."""
    confirm(f"marketplace subscription {name!r}", yes)
    with sdk_errors():
        client = ml_client(
            subscription=subscription, group=resource_group, workspace=workspace_name, url=url, token=token
        )
        finish(
            client.marketplace_subscriptions.begin_delete(name),
            no_wait,
            f"Deleting marketplace subscription {name}",
        )
