"""The `maas` command: `serve`, the `az`-shaped commands (`login`, `account`, `configure`,
`ml marketplace-subscription|serverless-endpoint|connection`, `deployment group`, `resource`,
`role`, `ad`, `monitor activity-log`) and the operator's (`model`, `offer`, `pool`, `quota`, `usage`).

The `ml` groups are also registered at the top level (`maas serverless-endpoint list`), the form
DESIGN.md §8 shows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import ValidationError

from maas.cli.account import account_app, configure, login, logout
from maas.cli.connections import connection_app
from maas.cli.deployments import deployment_app
from maas.cli.directory import ad_app
from maas.cli.endpoints import endpoint_app
from maas.cli.groups import group_app, workspace_app
from maas.cli.marketplace import marketplace_app
from maas.cli.monitor import monitor_app
from maas.cli.operator import model_app, offer_app, pool_app
from maas.cli.output import fail
from maas.cli.quota import quota_app
from maas.cli.resources import resource_app
from maas.cli.roles import role_app
from maas.cli.usage import usage_app
from maas.core.settings import Settings

app = typer.Typer(help="MaaS: models as serverless APIs, self-hosted.", no_args_is_help=True)
ml_app = typer.Typer(help="Workspace resources, as `az ml`.", no_args_is_help=True)

ML_GROUPS = (
    (marketplace_app, "marketplace-subscription"),
    (endpoint_app, "serverless-endpoint"),
    (connection_app, "connection"),
    (workspace_app, "workspace"),
)
for group, group_name in ML_GROUPS:
    ml_app.add_typer(group, name=group_name)
    app.add_typer(group, name=group_name)
app.add_typer(ml_app, name="ml")
app.command("login")(login)
app.command("logout")(logout)
app.command("configure")(configure)
app.add_typer(account_app, name="account")
app.add_typer(group_app, name="group")
app.add_typer(deployment_app, name="deployment")
app.add_typer(resource_app, name="resource")
app.add_typer(role_app, name="role")
app.add_typer(ad_app, name="ad")
app.add_typer(model_app, name="model")
app.add_typer(offer_app, name="offer")
app.add_typer(pool_app, name="pool")
app.add_typer(usage_app, name="usage")
app.add_typer(quota_app, name="quota")
app.add_typer(monitor_app, name="monitor")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Where state lives (default ~/.maas).")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="postgresql://… (default SQLite).")
    ] = None,
    tls: Annotated[bool, typer.Option("--tls", help="Serve HTTPS with a locally generated CA.")] = False,
    serving: Annotated[
        Literal["local", "ray"] | None,
        typer.Option(
            "--serving", help="Where model replicas run: local processes, or Ray Serve (or MAAS_SERVING)."
        ),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            help="Ray cluster to join with --serving ray (default: start a local one; or MAAS_RAY_ADDRESS).",
        ),
    ] = None,
    trusted_issuer: Annotated[
        str | None,
        typer.Option(
            "--trusted-issuer",
            help="Also accept access tokens of this OpenID Connect issuer, its exact 'iss' "
            "(or MAAS_TRUSTED_ISSUER; see docs/security.md).",
        ),
    ] = None,
    trusted_audience: Annotated[
        str | None,
        typer.Option(
            "--trusted-audience",
            help="The 'aud' accepted from it, comma-separated (default https://management.azure.com; "
            "or MAAS_TRUSTED_AUDIENCE).",
        ),
    ] = None,
    log_level: Annotated[
        Literal["debug", "info", "warning", "error"] | None,
        typer.Option("--log-level", help="Server log level (default info; or MAAS_LOG_LEVEL)."),
    ] = None,
    access_log: Annotated[
        bool | None,
        typer.Option(
            "--access-log/--no-access-log", help="Log one line per HTTP request (or MAAS_ACCESS_LOG)."
        ),
    ] = None,
) -> None:
    """Run the MaaS server (control plane) on HOST:PORT."""
    from maas.server.run import serve as run_server

    overrides: dict[str, Any] = {"host": host, "port": port, "tls": tls}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if database_url is not None:
        overrides["database_url"] = database_url
    if serving is not None:
        overrides["serving"] = serving
    if ray_address is not None:
        overrides["ray_address"] = ray_address
    if trusted_issuer is not None:
        overrides["trusted_issuer"] = trusted_issuer
    if trusted_audience is not None:
        overrides["trusted_audience"] = trusted_audience
    if log_level is not None:
        overrides["log_level"] = log_level
    if access_log is not None:
        overrides["access_log"] = access_log
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:  # a bad flag or MAAS_* variable: say which, no traceback
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        fail(f"invalid setting: {problems}", 2)
    run_server(settings, echo=typer.echo)


def run() -> None:
    app()
