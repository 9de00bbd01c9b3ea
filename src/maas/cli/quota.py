"""`maas quota show|set`: a deployment's quota (tokens and requests per minute), and `maas quota
request create|list|show|cancel|approve|deny`: the requests to raise it.

Anyone who can read the endpoint can show its quota and the history of changes; only operators
(`Microsoft.MaaS/quotas/write` at `/`) can set it. Every change is recorded with its reason.

Whoever may write the endpoint files a request (`create`: the limits wanted and why) and may
cancel it while it is pending; an operator sees the queue (`list --status Pending`) and approves
(the limits are in force at once) or denies it with a message. `list` without scope flags shows
every request the caller may read; `-s`, `-g`, `-w` or `--endpoint` narrow it. A request is named
by its id as `list` shows it, or by its name with `--endpoint`.
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


def _endpoint_id(
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
        f"/workspaces/{workspace}/serverlessEndpoints/{name}"
    )


def _path(
    profile: config.Profile, sub: str | None, group: str | None, workspace: str | None, name: str
) -> str:
    return _endpoint_id(profile, sub, group, workspace, name) + "/providers/Microsoft.MaaS/quotas/default"


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


# -- quota increase requests -------------------------------------------------------------------
request_app = typer.Typer(
    help="Quota increase requests: file one, follow it, (operators) approve or deny it.", no_args_is_help=True
)
quota_app.add_typer(request_app, name="request")

EndpointOpt = Annotated[
    str | None, typer.Option("--endpoint", "-e", help="The serverless endpoint (deployment).")
]
IdOpt = Annotated[
    str,
    typer.Option("--id", help="The request: its id as `list` shows it, or its name with --endpoint."),
]
MessageOpt = Annotated[str | None, typer.Option("--message", "-m", help="A message the requester sees.")]
StatusOpt = Annotated[
    str | None,
    typer.Option("--status", help="Only requests in this status: Pending, Approved, Denied or Cancelled."),
]
STATUSES = ("Pending", "Approved", "Denied", "Cancelled")


def _request_id(
    connection: Connection,
    request_id: str,
    endpoint: str | None,
    sub: str | None,
    group: str | None,
    workspace: str | None,
) -> str:
    if request_id.startswith("/"):
        return request_id
    if not endpoint:
        fail("pass --id as `maas quota request list` shows it, or the request's name with --endpoint", 2)
    endpoint_id = _endpoint_id(connection.profile, sub, group, workspace, endpoint)
    return connection.quota().quota_requests.request_id(endpoint_id, request_id)


def _limit(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _requests_table(requests: list[dict[str, Any]]) -> None:
    if not requests:
        return
    typer.echo(
        f"{'NAME':<36} {'ENDPOINT':<24} {'STATUS':<9} {'TOKENS/MIN':>13} {'REQUESTS/MIN':>13} "
        f"{'REQUESTED BY':<16} {'SUBMITTED':<20} MESSAGE"
    )
    for request in requests:
        p = request["properties"]
        endpoint = p["endpointId"].rsplit("/", 1)[-1]
        typer.echo(
            f"{request['name']:<36} {endpoint:<24} {p['status']:<9} "
            f"{_limit(p['limits']['tokensPerMinute']):>13} {_limit(p['limits']['requestsPerMinute']):>13} "
            f"{p['requestedBy']:<16} {p['requestSubmitTime'][:19]:<20} {p['message']}"
        )


def _request_table(request: dict[str, Any]) -> None:
    p = request["properties"]
    wanted = ", ".join(
        f"{label} {p['previousLimits'][key]:,} → {p['limits'][key]:,}"
        for key, label in (("tokensPerMinute", "tokens/min"), ("requestsPerMinute", "requests/min"))
        if p["limits"][key] is not None
    )
    typer.echo(f"request   {request['name']}")
    typer.echo(f"endpoint  {p['endpointId']}")
    typer.echo(f"status    {p['status']}" + (f"  ({p['message']})" if p["message"] else ""))
    typer.echo(f"asks      {wanted}")
    typer.echo(f"reason    {p['reason']}")
    if p["appliedLimits"]:
        applied = p["appliedLimits"]
        tokens, requests = applied["tokensPerMinute"], applied["requestsPerMinute"]
        typer.echo(f"applied   tokens/min {tokens:,}, requests/min {requests:,}")
    for event in p["history"]:
        message = f"  ({event['message']})" if event["message"] else ""
        typer.echo(f"  {event['at']}  {event['by']}: {event['status']}{message}")


@request_app.command("create")
@connected
@printed_with(_request_table)
def request_create(
    connection: Connection,
    endpoint: Annotated[str, typer.Option("--endpoint", "-e", help="The serverless endpoint (deployment).")],
    reason: Annotated[str, typer.Option("--reason", help="Why the deployment needs more (required).")],
    tokens_per_minute: Annotated[
        int | None, typer.Option("--tokens-per-minute", min=1, help="The token limit per minute wanted.")
    ] = None,
    requests_per_minute: Annotated[
        int | None, typer.Option("--requests-per-minute", min=1, help="The request limit per minute wanted.")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="The request's name (default: a new GUID).")
    ] = None,
    resource_group: GroupOpt = None,
    workspace: WorkspaceOpt = None,
    subscription: SubOpt = None,
) -> Any:
    """Ask for a deployment's quota to be raised; an operator approves or denies it."""
    if tokens_per_minute is None and requests_per_minute is None:
        raise typer.BadParameter("pass --tokens-per-minute and/or --requests-per-minute")
    if not reason.strip():
        raise typer.BadParameter("say why with --reason")
    endpoint_id = _endpoint_id(connection.profile, subscription, resource_group, workspace, endpoint)
    filed = connection.quota().quota_requests.create(
        endpoint_id,
        reason=reason,
        tokens_per_minute=tokens_per_minute,
        requests_per_minute=requests_per_minute,
        name=name,
    )
    return filed.serialize()


@request_app.command("list")
@connected
@printed_with(_requests_table)
def request_list(
    connection: Connection,
    status: StatusOpt = None,
    endpoint: EndpointOpt = None,
    resource_group: GroupOpt = None,
    workspace: WorkspaceOpt = None,
    subscription: SubOpt = None,
) -> Any:
    """Quota requests, newest first: all you may read, or a scope's (-s, -g, -w, --endpoint).

    Operators: `--status Pending` is the queue."""
    chosen = next((s for s in STATUSES if status and s.lower() == status.lower()), None)
    if status and chosen is None:
        raise typer.BadParameter(f"choose one of {', '.join(STATUSES)}", param_hint="--status")
    profile = connection.profile
    if endpoint:
        scope = _endpoint_id(profile, subscription, resource_group, workspace, endpoint)
    elif workspace or resource_group or subscription:
        sub = subscription or profile.subscription
        if not sub:
            fail("pass --subscription, set MAAS_SUBSCRIPTION or run `maas account set`", 2)
        scope = f"/subscriptions/{sub}"
        group = resource_group or (profile.group if workspace else None)
        if group:
            scope += f"/resourceGroups/{group}"
        if workspace:
            if not group:
                fail("pass -g with -w (or `maas configure --defaults group=…`)", 2)
            scope += f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace}"
    else:
        scope = "/"
    return [r.serialize() for r in connection.quota().quota_requests.list(scope, status=chosen)]


@request_app.command("show")
@connected
@printed_with(_request_table)
def request_show(
    connection: Connection,
    request_id: IdOpt,
    endpoint: EndpointOpt = None,
    resource_group: GroupOpt = None,
    workspace: WorkspaceOpt = None,
    subscription: SubOpt = None,
) -> Any:
    """A request: what it asks, its status and its history."""
    rid = _request_id(connection, request_id, endpoint, subscription, resource_group, workspace)
    return connection.quota().quota_requests.get(rid).serialize()


def _decision(verb: str, doc: str) -> None:
    def decide(
        connection: Connection,
        request_id: IdOpt,
        message: MessageOpt = None,
        endpoint: EndpointOpt = None,
        resource_group: GroupOpt = None,
        workspace: WorkspaceOpt = None,
        subscription: SubOpt = None,
    ) -> Any:
        rid = _request_id(connection, request_id, endpoint, subscription, resource_group, workspace)
        act = getattr(connection.quota().quota_requests, verb)
        return act(rid, message=message).serialize()

    decide.__doc__ = doc
    decide.__name__ = f"request_{verb}"
    request_app.command(verb)(connected(printed_with(_request_table)(decide)))


_decision("cancel", "Withdraw a pending request (its requester, or anyone who may write the endpoint).")
_decision("approve", "Operator: approve a pending request; its limits are in force at once.")
_decision("deny", "Operator: deny a pending request, saying why with --message.")
