"""The options most commands share, written once: connection, scope and output."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

Output = Literal["json", "table", "yaml", "tsv"]

UrlOpt = Annotated[str | None, typer.Option("--url", help="MaaS base URL (or MAAS_URL, or `maas login`).")]
TokenOpt = Annotated[
    str | None, typer.Option("--token", help="Bearer token (or MAAS_TOKEN, or `maas login`).")
]
SubOpt = Annotated[
    str | None,
    typer.Option(
        "--subscription", "-s", help="Account (subscription) id (or MAAS_SUBSCRIPTION, `maas account set`)."
    ),
]
GroupOpt = Annotated[
    str | None,
    typer.Option("--resource-group", "-g", help="Resource group (or `maas configure --defaults group=…`)."),
]
WorkspaceOpt = Annotated[
    str | None,
    typer.Option("--workspace-name", "-w", help="Workspace (or `maas configure --defaults workspace=…`)."),
]
OutputOpt = Annotated[Output, typer.Option("--output", "-o", help="Output format: json, table, yaml or tsv.")]
QueryOpt = Annotated[str | None, typer.Option("--query", help="JMESPath query applied to the result.")]
NoWaitOpt = Annotated[
    bool, typer.Option("--no-wait", help="Return once the server accepted the request; do not wait.")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not prompt for confirmation.")]
