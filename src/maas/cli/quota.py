"""`maas quota show|set`: a deployment's quota (tokens and requests per minute).

Anyone who can read the endpoint can show its quota and the history of changes; only operators
(`Microsoft.MaaS/quotas/write` at `/`) can set it. Every change is recorded with its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from maas.cli import config
from maas.cli.connection import Connection, connected
from maas.cli.options import GroupOpt, SubOpt, WorkspaceOpt
from maas.cli.output import fail, printed_with
from maas.cli.signatures import REQUIRED, add_options, option

quota_app = typer.Typer(
    help="Per-deployment quotas: show them, or (operators) raise or lower one.", no_args_is_help=True
)

NameOpt = Annotated[str, typer.Option("--name", "-n", help="The serverless endpoint (deployment).")]
Request = Callable[..., Any]


def _path(
    profile: config.Profile, sub: str | None, group: str | None, workspace: str | None, name: str
) -> str:
    sub, group, workspace = (
        sub or profile.subscription,
        group or profile.group,
        workspace or profile.workspace,
    )
    if not sub:
        fail("pass --subscription, set MAAS_SUBSCRIPTION or run `maas account set`", 2)
    if not group or not workspace:
        fail("pass -g and -w (or `maas configure --defaults group=… workspace=…`)", 2)
    return (
        f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.MachineLearningServices"
        f"/workspaces/{workspace}/serverlessEndpoints/{name}/providers/Microsoft.MaaS/quotas/default"
    )


QUOTA_OPTIONS = (
    option("name", NameOpt, REQUIRED),
    option("resource_group", GroupOpt),
    option("workspace", WorkspaceOpt),
    option("subscription", SubOpt),
)


def at_quota(command: Callable[..., None]) -> Callable[..., None]:
    """A connected command on one deployment's quota, with `-n`, `-g`, `-w` and `-s` before its
    own options. It is called with `request(method, body=None)`, the ARM request to the quota:
    the flags are checked when it is first called, after the command has checked its own input."""

    def run(
        connection: Connection,
        *args: Any,
        name: str,
        resource_group: str | None = None,
        workspace: str | None = None,
        subscription: str | None = None,
        **kwargs: Any,
    ) -> None:
        def request(method: str, body: Any = None) -> Any:
            path = _path(connection.profile, subscription, resource_group, workspace, name)
            return connection.arm().request(method, path, body)

        command(request, *args, **kwargs)

    return connected(add_options(run, command, QUOTA_OPTIONS, after="request"))


def _table(quota: dict[str, Any]) -> None:
    props = quota["properties"]
    origin = "default" if props["isDefault"] else "set by an operator"
    typer.echo(f"tokens/min    {props['tokensPerMinute']:>12,}")
    typer.echo(f"requests/min  {props['requestsPerMinute']:>12,}   ({origin})")
    for change in props["history"]:
        tokens = f"{change['previousTokensPerMinute']:,} → {change['tokensPerMinute']:,}"
        requests = f"{change['previousRequestsPerMinute']:,} → {change['requestsPerMinute']:,}"
        reason = f"  ({change['reason']})" if change["reason"] else ""
        who = f"{change['changedAt']}  {change['changedBy']}"
        typer.echo(f"  {who}: tokens/min {tokens}, requests/min {requests}{reason}")


@quota_app.command("show")
@at_quota
@printed_with(_table)
def quota_show(request: Request) -> Any:
    """A deployment's quota and the changes made to it."""
    return request("GET")


@quota_app.command("set")
@at_quota
@printed_with(_table)
def quota_set(
    request: Request,
    tokens_per_minute: Annotated[
        int | None, typer.Option("--tokens-per-minute", min=1, help="New token limit per minute.")
    ] = None,
    requests_per_minute: Annotated[
        int | None, typer.Option("--requests-per-minute", min=1, help="New request limit per minute.")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the change).")] = "",
) -> Any:
    """Operator: raise or lower a deployment's quota; the change is recorded."""
    if tokens_per_minute is None and requests_per_minute is None:
        raise typer.BadParameter("pass --tokens-per-minute and/or --requests-per-minute")
    properties: dict[str, Any] = {"reason": reason}
    if tokens_per_minute is not None:
        properties["tokensPerMinute"] = tokens_per_minute
    if requests_per_minute is not None:
        properties["requestsPerMinute"] = requests_per_minute
    return request("PUT", {"properties": properties})
