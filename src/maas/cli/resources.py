"""`maas resource list|delete`: the generic resource listing of an account or resource group
(`az resource`), with `--query` applied client-side as az does.

The seed's `az resource list --query "[?type=='Microsoft.SaaS']"` compares `type` with a bare
namespace, which matches nothing on Azure either (SaaS items list as `Microsoft.SaaS/resources`).
We keep az's exact semantics and, when a query does that, say on stderr which types it could
have meant.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

import typer

from maas.cli.connection import Connection, connected
from maas.cli.options import GroupOpt, NoWaitOpt, OutputOpt, QueryOpt, SubOpt
from maas.cli.output import emit, fail, progress, required, warn
from maas.sdk import ArmClient

resource_app = typer.Typer(help="Generic resources of an account or resource group.", no_args_is_help=True)

API_VERSION = "2021-04-01"
KNOWN_TYPES = (
    "Microsoft.SaaS/resources",
    "Microsoft.MachineLearningServices/workspaces",
    "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints",
    "Microsoft.MachineLearningServices/workspaces/marketplaceSubscriptions",
    "Microsoft.MachineLearningServices/workspaces/connections",
    "Microsoft.Resources/deployments",
)
# `type == 'X'`, `'X' == type`, with quoted or backtick literals, where X has no '/'.
_BARE_TYPE = re.compile(
    r"""(?:\btype\s*==\s*(?P<q1>['`])(?P<a>[^'`/]+)(?P=q1))|(?:(?P<q2>['`])(?P<b>[^'`/]+)(?P=q2)\s*==\s*type\b)"""
)


def type_hints(query: str | None, items: list[dict[str, Any]]) -> list[str]:
    """For each bare namespace a query compares `type` with, a line naming the types it could mean."""
    if not query:
        return []
    hints = []
    for match in _BARE_TYPE.finditer(query):
        namespace = (match.group("a") or match.group("b") or "").strip('"')
        prefix = namespace.lower() + "/"
        seen = {
            str(item.get("type")) for item in items if str(item.get("type", "")).lower().startswith(prefix)
        }
        seen.update(t for t in KNOWN_TYPES if t.lower().startswith(prefix))
        if seen:
            types = ", ".join(f"'{t}'" for t in sorted(seen))
            hints.append(
                f"--query compares type with '{namespace}', a namespace; resource types look like "
                f"'Namespace/type'. Did you mean {types}?"
            )
        else:
            hints.append(
                f"--query compares type with '{namespace}', which has no '/': resource types look like "
                f"'Namespace/type', so it matches nothing."
            )
    return hints


def _scope(connection: Connection, subscription: str | None, group: str | None) -> tuple[str, str | None]:
    profile = connection.profile
    sub = required(
        subscription or profile.subscription,
        "missing --subscription (or `maas account set --subscription ID`)",
    )
    return sub, group or profile.group


def list_resources(
    client: ArmClient, sub: str, group: str | None, resource_type: str | None, name: str | None
) -> list[dict[str, Any]]:
    path = f"/subscriptions/{sub}" + (f"/resourceGroups/{group}" if group else "") + "/resources"
    clauses = []
    if resource_type:
        clauses.append(f"resourceType eq '{resource_type}'")
    if name:
        clauses.append(f"name eq '{name}'")
    if clauses:
        path += "?api-version=" + API_VERSION + "&$filter=" + quote(" and ".join(clauses))
    return list(client.list(path, api_version=API_VERSION))


@resource_app.command("list")
@connected
def list_(
    connection: Connection,
    resource_group: GroupOpt = None,
    resource_type: Annotated[
        str | None, typer.Option("--resource-type", help="Only this type, e.g. Microsoft.SaaS/resources.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Only resources with this name.")] = None,
    subscription: SubOpt = None,
    output: OutputOpt = "json",
    query: QueryOpt = None,
) -> None:
    """List resources; `--query` filters them client-side (JMESPath)."""
    sub, group = _scope(connection, subscription, resource_group)
    items = list_resources(connection.arm(), sub, group, resource_type, name)
    for hint in type_hints(query, items):
        warn(hint)
    emit(items, output, query)


@resource_app.command("delete")
@connected
def delete(
    connection: Connection,
    name: Annotated[str | None, typer.Option("--name", "-n", help="The resource's name.")] = None,
    ids: Annotated[
        list[str] | None, typer.Option("--ids", help="Full resource ids (repeat, or instead of --name).")
    ] = None,
    resource_group: GroupOpt = None,
    resource_type: Annotated[
        str | None, typer.Option("--resource-type", help="The resource's type, when the name is ambiguous.")
    ] = None,
    no_wait: NoWaitOpt = False,
    subscription: SubOpt = None,
) -> None:
    """Delete resources by name (found through the listing) or by id."""
    if bool(name) == bool(ids):
        fail("give either --name or --ids", 2)
    client = connection.arm()
    targets = list(ids or [])
    if name:
        sub, group = _scope(connection, subscription, resource_group)
        found = [
            item
            for item in list_resources(client, sub, group, None, None)
            if item.get("name") == name
            and (not resource_type or str(item.get("type", "")).lower() == resource_type.lower())
        ]
        if not found:
            where = f"resource group '{group}'" if group else f"account '{sub}'"
            fail(f"(ResourceNotFound) No resource named '{name}' in {where}.")
        if len(found) > 1:
            candidates = "; ".join(f"{item['type']} {item['id']}" for item in found)
            fail(f"more than one resource is named '{name}': {candidates}. Use --resource-type or --ids.", 2)
        targets = [str(found[0]["id"])]
    for target in targets:
        poller = client.begin_delete(target, api_version=API_VERSION)
        if not no_wait:
            with progress(f"Deleting {target}"):
                poller.result()
