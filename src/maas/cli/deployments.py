"""`maas deployment group create|show|list` (`az deployment group`): an ARM template deployed
into a resource group, then followed until its `provisioningState` is terminal.

The template is read here only to send it: a file that is not JSON is refused with its line and
column, before any request. Template errors (an undeclared parameter, a bad expression) come from
the server as ARM errors whose target is the JSON path; they print with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from maas.cli.connection import Connection, connected
from maas.cli.errors import sdk_errors
from maas.cli.options import GroupOpt, NoWaitOpt, SubOpt
from maas.cli.output import fail, printed, progress, required

deployment_app = typer.Typer(help="ARM template deployments.", no_args_is_help=True)
group_app = typer.Typer(help="Deployments into a resource group.", no_args_is_help=True)
deployment_app.add_typer(group_app, name="group")

API_VERSION = "2021-04-01"


def read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text()
    except OSError as exc:
        fail(f"{what} {path}: {exc.strerror or exc}", 2)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{what} {path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", 2)


def _typed(value: str, declared: Any) -> Any:
    kind = str(declared.get("type", "")).lower() if isinstance(declared, dict) else ""
    try:
        if kind == "int":
            return int(value)
        if kind == "bool":
            if value.lower() not in ("true", "false"):
                raise ValueError(value)
            return value.lower() == "true"
        if kind in ("object", "secureobject", "array"):
            return json.loads(value)
    except ValueError:
        fail(f"--parameters: '{value}' is not a valid {declared.get('type')}", 2)
    return value


def parameters(values: list[str], template: Any) -> dict[str, Any]:
    """`k=v` pairs, `@file.json` and inline JSON objects, merged left to right as az does."""
    declared = template.get("parameters") or {} if isinstance(template, dict) else {}
    merged: dict[str, Any] = {}
    for item in values:
        if item.startswith("@") or item.lstrip().startswith("{"):
            data = read_json(Path(item[1:]), "parameters file") if item.startswith("@") else _inline(item)
            if isinstance(data, dict) and isinstance(data.get("parameters"), dict):
                data = data["parameters"]
            if not isinstance(data, dict):
                fail(f"--parameters {item}: expected a JSON object of parameters", 2)
            for key, value in data.items():
                merged[key] = (
                    value
                    if isinstance(value, dict) and ("value" in value or "reference" in value)
                    else {"value": value}
                )
            continue
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"--parameters: expected NAME=VALUE or @FILE, got {item!r}", 2)
        merged[key] = {"value": _typed(value, declared.get(key))}
    return merged


def _inline(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"--parameters: not valid JSON at column {exc.colno}: {exc.msg}", 2)


def _path(sub: str, group: str, name: str | None = None) -> str:
    path = f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Resources/deployments"
    return f"{path}/{name}" if name else path


def _path_in(
    connection: Connection, subscription: str | None, group: str | None, name: str | None = None
) -> str:
    """The deployments of the resource group the flags (or the defaults) name, or one of them."""
    profile = connection.profile
    sub = required(
        subscription or profile.subscription,
        "missing --subscription (or `maas account set --subscription ID`)",
    )
    group = required(
        group or profile.group, "missing -g/--resource-group (or `maas configure --defaults group=…`)"
    )
    return _path(sub, group, name)


@group_app.command("create", context_settings={"allow_extra_args": True, "ignore_unknown_options": False})
@connected
@printed
def create(
    connection: Connection,
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", "-n", help="The deployment's name.")],
    template_file: Annotated[
        Path, typer.Option("--template-file", "-f", exists=True, dir_okay=False, help="template.json")
    ],
    parameters_: Annotated[
        list[str] | None,
        typer.Option("--parameters", "-p", help="NAME=VALUE, @params.json or a JSON object (repeatable)."),
    ] = None,
    resource_group: GroupOpt = None,
    mode: Annotated[str, typer.Option("--mode", help="Incremental or Complete.")] = "Incremental",
    no_wait: NoWaitOpt = False,
    subscription: SubOpt = None,
) -> Any:
    """Deploy a template into a resource group and wait for it to finish."""
    # az takes `--parameters a=1 b=2`: the values after the first arrive as extra arguments.
    values = [*(parameters_ or []), *ctx.args]
    if ctx.args and not parameters_:
        fail(f"unexpected arguments: {' '.join(ctx.args)}", 2)
    template = read_json(template_file, "template file")
    if not isinstance(template, dict):
        fail(f"template file {template_file}: expected a JSON object", 2)
    body = {"properties": {"mode": mode, "template": template, "parameters": parameters(values, template)}}
    path = _path_in(connection, subscription, resource_group, name)
    client = connection.arm()
    # The template's errors (and the deployment's failure) print after the file's name.
    with sdk_errors(about=str(template_file)):
        if no_wait:
            return client.request("PUT", path, body, api_version=API_VERSION)
        poller = client.begin_create_or_update(path, body, api_version=API_VERSION)
        with progress(f"Deploying {name}"):
            return poller.result()


@group_app.command("show")
@connected
@printed
def show(
    connection: Connection,
    name: Annotated[str, typer.Option("--name", "-n", help="The deployment's name.")],
    resource_group: GroupOpt = None,
    subscription: SubOpt = None,
) -> Any:
    """One deployment: its state, outputs and the resources it made."""
    path = _path_in(connection, subscription, resource_group, name)
    return connection.arm().request("GET", path, api_version=API_VERSION)


@group_app.command("list")
@connected
@printed
def list_(
    connection: Connection,
    resource_group: GroupOpt = None,
    subscription: SubOpt = None,
) -> Any:
    """The resource group's deployments."""
    path = _path_in(connection, subscription, resource_group)
    return list(connection.arm().list(path, api_version=API_VERSION))
