"""The `maas` command: `serve`, and the operator's `model` and `offer` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from maas.cli.client import Client
from maas.cli.quota import quota_app
from maas.cli.usage import usage_app
from maas.core.settings import Settings

app = typer.Typer(help="MaaS: models as serverless APIs, self-hosted.", no_args_is_help=True)
model_app = typer.Typer(help="Operator: the model catalog.", no_args_is_help=True)
offer_app = typer.Typer(
    help="Operator: offers (how a model is sold as a serverless API).", no_args_is_help=True
)
app.add_typer(model_app, name="model")
app.add_typer(offer_app, name="offer")
pool_app = typer.Typer(
    help="Operator: the serverless pools (replicas, queues, cold starts).", no_args_is_help=True
)
app.add_typer(pool_app, name="pool")
app.add_typer(usage_app, name="usage")
app.add_typer(quota_app, name="quota")

UrlOpt = Annotated[str | None, typer.Option("--url", help="MaaS base URL (or MAAS_URL).")]
TokenOpt = Annotated[str | None, typer.Option("--token", help="Bearer token (or MAAS_TOKEN).")]


def _print(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


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
    run_server(Settings(**overrides), echo=typer.echo)


@model_app.command("add")
def model_add(
    model_id: Annotated[str, typer.Argument(help="azureml://registries/<r>/models/<m>/versions/<v>")],
    hf: Annotated[Path | None, typer.Option("--hf", help="A Hugging Face model folder.")] = None,
    gguf: Annotated[Path | None, typer.Option("--gguf", help="A GGUF file.")] = None,
    upstream: Annotated[str | None, typer.Option("--upstream", help="An OpenAI-compatible base URL.")] = None,
    upstream_model: Annotated[
        str | None, typer.Option("--upstream-model", help="Model name upstream.")
    ] = None,
    upstream_key: Annotated[
        str | None, typer.Option("--upstream-key", help="API key for the upstream.")
    ] = None,
    task: Annotated[
        str, typer.Option(help="chat-completion, text-generation or embeddings.")
    ] = "chat-completion",
    description: Annotated[str, typer.Option(help="Model card summary.")] = "",
    provider: Annotated[str, typer.Option(help="Who made the model.")] = "",
    license_: Annotated[str, typer.Option("--license", help="The model's licence.")] = "",
    keep_alive: Annotated[
        str | None,
        typer.Option(
            help="Seconds the pool stays up after its last request (0 = scale to zero at once), or 'pinned'."
        ),
    ] = None,
    max_replicas: Annotated[int | None, typer.Option(help="Most replicas the pool may run.")] = None,
    max_concurrency: Annotated[
        int | None, typer.Option(help="Requests in flight per replica (they batch together).")
    ] = None,
    cold_start_timeout: Annotated[
        float | None, typer.Option(help="Seconds a request may wait for a replica before 503.")
    ] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Add a model version to the catalog from a folder, a GGUF file or an upstream URL."""
    from maas.core.ids import ModelId

    parsed = ModelId.parse(model_id)
    if parsed.version is None:
        raise typer.BadParameter("give the version: azureml://registries/<r>/models/<m>/versions/<v>")
    sources = [s for s in (hf, gguf, upstream) if s is not None]
    if len(sources) != 1:
        raise typer.BadParameter("give exactly one of --hf, --gguf, --upstream")
    artifact: dict[str, Any]
    if hf is not None:
        artifact = {"kind": "huggingface", "path": str(hf.resolve())}
    elif gguf is not None:
        artifact = {"kind": "gguf", "path": str(gguf.resolve())}
    else:
        artifact = {"kind": "openai-upstream", "url": upstream}
        if upstream_model:
            artifact["upstreamModel"] = upstream_model
        if upstream_key:
            artifact["apiKey"] = upstream_key
    body = {
        "properties": {
            "task": task,
            "description": description,
            "provider": provider,
            "license": license_,
            "artifact": artifact,
        }
    }
    serving: dict[str, Any] = {}
    if keep_alive is not None:
        if keep_alive != "pinned" and not keep_alive.isdigit():
            raise typer.BadParameter("--keep-alive takes a number of seconds or 'pinned'")
        serving["keepAlive"] = keep_alive if keep_alive == "pinned" else int(keep_alive)
    for name, value in (
        ("maxReplicas", max_replicas),
        ("maxConcurrency", max_concurrency),
        ("coldStartTimeout", cold_start_timeout),
    ):
        if value is not None:
            serving[name] = value
    if serving:
        body["properties"]["serving"] = serving
    path = f"/registries/{parsed.registry}/models/{parsed.model}/versions/{parsed.version}"
    _print(Client(url, token).request("PUT", path, body))


@model_app.command("list")
def model_list(
    registry: Annotated[str, typer.Argument(help="Registry name.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """List the models of a registry."""
    _print(Client(url, token).request("GET", f"/registries/{registry}/models")["value"])


@offer_app.command("create")
def offer_create(
    name: Annotated[str, typer.Argument(help="Offer id.")],
    model_id: Annotated[
        str, typer.Option("--model-id", help="azureml://registries/<r>/models/<m> (no version).")
    ],
    publisher: Annotated[str, typer.Option(help="Publisher id.")],
    plan: Annotated[str, typer.Option(help="Plan id.")] = "default",
    first_party: Annotated[
        bool, typer.Option("--first-party", help="Needs no marketplace subscription.")
    ] = False,
    input_price: Annotated[float, typer.Option("--input-price", help="Price per 1K input tokens.")] = 0.0,
    output_price: Annotated[float, typer.Option("--output-price", help="Price per 1K output tokens.")] = 0.0,
    currency: Annotated[str, typer.Option(help="ISO currency code.")] = "USD",
    terms: Annotated[str, typer.Option(help="Terms of use text.")] = "",
    region: Annotated[
        list[str] | None, typer.Option("--region", help="A region it deploys in (repeat).")
    ] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Create or update an offer for a catalog model."""
    meters = [
        {"meterId": "paygo-inference-input-tokens", "pricePer1K": input_price, "currency": currency},
        {"meterId": "paygo-inference-output-tokens", "pricePer1K": output_price, "currency": currency},
    ]
    body = {
        "properties": {
            "modelId": model_id,
            "publisherId": publisher,
            "planId": plan,
            "kind": "FirstParty" if first_party else "Marketplace",
            "terms": terms,
            "regions": region or [],
            "meters": meters,
        }
    }
    _print(Client(url, token).request("PUT", f"/providers/Microsoft.MaaS/offers/{name}", body))


@offer_app.command("list")
def offer_list(url: UrlOpt = None, token: TokenOpt = None) -> None:
    """List offers."""
    _print(Client(url, token).request("GET", "/providers/Microsoft.MaaS/offers")["value"])


def run() -> None:
    app()


POOLS = "/providers/Microsoft.MaaS/pools"


def _pool_row(pool: dict[str, Any]) -> str:
    p = pool["properties"]
    last = p.get("lastColdStart") or {}
    return (
        f"{pool['name']:<36} {p['backend']:<7} {p['state']:<9} {p['replicaCount']:>3}/{p['maxReplicas']:<3} "
        f"{p['queueDepth']:>5} {p['inFlight']:>6} {p['keepAlive']!s:>9} {p['coldStarts']:>5} "
        f"{(str(last.get('seconds')) + ' s') if last else '-':>9}"
    )


@pool_app.command("list")
def pool_list(
    output: Annotated[str, typer.Option("-o", "--output", help="table or json.")] = "table",
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """The pools this server runs: replicas, queue depth, in flight, keep-alive, cold starts."""
    pools = Client(url, token).request("GET", POOLS)["value"]
    if output == "json":
        _print(pools)
        return
    typer.echo(
        f"{'POOL':<36} {'BACKEND':<7} {'STATE':<9} {'REPLICAS':>7} {'QUEUE':>5} {'FLIGHT':>6} "
        f"{'KEEPALIVE':>9} {'COLD':>5} {'LASTCOLD':>9}"
    )
    for pool in pools:
        typer.echo(_pool_row(pool))
        error = pool["properties"].get("error")
        if error:
            typer.echo(f"    error: {error}")


@pool_app.command("show")
def pool_show(
    name: Annotated[str, typer.Argument(help="Pool name (from `maas pool list`).")],
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """One pool, with its replicas."""
    _print(Client(url, token).request("GET", f"{POOLS}/{name}"))


@pool_app.command("restart")
def pool_restart(
    name: Annotated[str, typer.Argument(help="Pool name (from `maas pool list`).")],
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Stop a pool's replicas and clear a load failure; the next request starts it again."""
    _print(Client(url, token).request("POST", f"{POOLS}/{name}/restart"))
