"""`maas ml marketplace-subscription create|show|list|delete`: a workspace's subscriptions to
marketplace offers (`az ml marketplace-subscription`), thin over `MLClient.marketplace_subscriptions`."""

from __future__ import annotations

import typer

from maas.cli.commands import WorkspaceResource, create_command, delete_command, list_command, show_command
from maas.sdk import load_marketplace_subscription

marketplace_app = typer.Typer(
    help="Workspace subscriptions to marketplace model offers.", no_args_is_help=True
)
SUBSCRIPTIONS = WorkspaceResource(
    "marketplace subscription",
    lambda client: client.marketplace_subscriptions,
    load_marketplace_subscription,
    set_help="Override a field of the file: key=value.",
)
marketplace_app.command(
    "create", help="Subscribe the workspace to a model's marketplace offer (accepts its terms)."
)(create_command(SUBSCRIPTIONS))
marketplace_app.command("show", help="One marketplace subscription.")(show_command(SUBSCRIPTIONS))
marketplace_app.command("list", help="The workspace's marketplace subscriptions.")(
    list_command(SUBSCRIPTIONS)
)
marketplace_app.command("delete", help="Unsubscribe: the offer's endpoints in the workspace stop serving.")(
    delete_command(SUBSCRIPTIONS)
)
