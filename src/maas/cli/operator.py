"""Operator commands: `maas model add|list`, `maas offer create|list`, `maas pool list|show|restart`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from maas.cli.connection import Connection, connected
from maas.cli.output import printed, printed_with

model_app = typer.Typer(help="Operator: the model catalog.", no_args_is_help=True)
offer_app = typer.Typer(
    help="Operator: offers (how a model is sold as a serverless API).", no_args_is_help=True
)
pool_app = typer.Typer(
    help="Operator: the serverless pools (replicas, queues, cold starts).", no_args_is_help=True
)


@model_app.command("add")
@connected
@printed
def model_add(
    connection: Connection,
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
) -> Any:
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
    return connection.arm().request("PUT", path, body)


@model_app.command("list")
@connected
@printed
def model_list(
    connection: Connection,
    registry: Annotated[str, typer.Argument(help="Registry name.")],
) -> Any:
    """List the models of a registry."""
    return connection.arm().request("GET", f"/registries/{registry}/models")["value"]


@offer_app.command("create")
@connected
@printed
def offer_create(
    connection: Connection,
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
) -> Any:
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
    return connection.arm().request("PUT", f"/providers/Microsoft.MaaS/offers/{name}", body)


@offer_app.command("list")
@connected
@printed
def offer_list(connection: Connection) -> Any:
    """List offers: each model's terms, regions and prices per 1K tokens."""
    return connection.arm().request("GET", "/providers/Microsoft.MaaS/offers")["value"]


POOLS = "/providers/Microsoft.MaaS/pools"
PoolNameArg = Annotated[str, typer.Argument(help="Pool name (from `maas pool list`).")]


def _pool_row(pool: dict[str, Any]) -> str:
    p = pool["properties"]
    last = p.get("lastColdStart") or {}
    return (
        f"{pool['name']:<36} {p['backend']:<7} {p['state']:<9} {p['replicaCount']:>3}/{p['maxReplicas']:<3} "
        f"{p['queueDepth']:>5} {p['inFlight']:>6} {p['keepAlive']!s:>9} {p['coldStarts']:>5} "
        f"{(str(last.get('seconds')) + ' s') if last else '-':>9}"
    )


def _pools_table(pools: list[dict[str, Any]]) -> None:
    typer.echo(
        f"{'POOL':<36} {'BACKEND':<7} {'STATE':<9} {'REPLICAS':>7} {'QUEUE':>5} {'FLIGHT':>6} "
        f"{'KEEPALIVE':>9} {'COLD':>5} {'LASTCOLD':>9}"
    )
    for pool in pools:
        typer.echo(_pool_row(pool))
        error = pool["properties"].get("error")
        if error:
            typer.echo(f"    error: {error}")


@pool_app.command("list")
@connected
@printed_with(_pools_table)
def pool_list(connection: Connection) -> Any:
    """The pools this server runs: replicas, queue depth, in flight, keep-alive, cold starts."""
    return connection.arm().request("GET", POOLS)["value"]


@pool_app.command("show")
@connected
@printed
def pool_show(connection: Connection, name: PoolNameArg) -> Any:
    """One pool, with its replicas."""
    return connection.arm().request("GET", f"{POOLS}/{name}")


@pool_app.command("restart")
@connected
@printed
def pool_restart(connection: Connection, name: PoolNameArg) -> Any:
    """Stop a pool's replicas and clear a load failure; the next request starts it again."""
    return connection.arm().request("POST", f"{POOLS}/{name}/restart")
