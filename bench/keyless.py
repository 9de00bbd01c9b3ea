"""Keyless calls benchmark: what an access token adds to a gateway call, compared with a key.

Starts `bench/fake_upstream.py` (its own process) and its own `maas serve` on 127.0.0.1 (SQLite in a
temporary directory), builds the gateway benchmark's world (an account, a workspace, a catalog model
relaying to the fake with a priced FirstParty offer, one serverless endpoint), then a service
principal with a client secret and AzureML Data Scientist on the workspace, and gets one access
token for `https://ml.azure.com` (azure-ai-inference's default scope) from the token endpoint.

It then sends `POST {Target URI}/chat/completions` one at a time (concurrency 1, one keep-alive
connection per kind), `--warmup` (50) untimed and then `--calls` (1000) timed of each kind,
interleaved so that drift hits every kind alike:

- `key (api-key)`: the endpoint's key in `api-key`, as azure-ai-inference sends it;
- `key (Bearer)`: the key as `Authorization: Bearer`, as openai sends it (the header a token comes
  in: this row shows the key path pays nothing for telling keys from tokens);
- `token (Bearer)`: the access token, verified (RS256), its principal and role grants read from
  the database and the data action checked on every call.

For each: p50, p99 and mean client latency, the p50 added over `key (api-key)`, and the median of
the gateway's own `x-maas-overhead-ms` (its time minus the upstream's). Quota, metering and the
usage ledger run on every call of every kind.

    python bench/keyless.py
    python bench/keyless.py --calls 3000 --keep
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import time
import uuid
from collections.abc import Sequence

import httpx
from controlplane import Api, Server, percentile, platform_facts, progress, table
from gateway import BODY, REGISTRY, UPSTREAM_MODEL, Upstream
from processes import BenchError, Harness, interrupt_on_sigterm
from serverless import Account, create_endpoint, register_model

ML_SCOPE = "https://ml.azure.com/.default"
DATA_SCIENTIST = "f6c7c914-8db3-469d-8ca1-694a8f32e121"
SPS = "/providers/Microsoft.MaaS/servicePrincipals"
WORKSPACE = "keyless"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1000, help="timed calls per kind (1000)")
    parser.add_argument("--warmup", type=int, default=50, help="untimed calls per kind first (50)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args(argv)


def setup(api: Api, upstream_url: str) -> tuple[str, str, str]:
    """The endpoint (Target URI, key) and an access token of a principal allowed to call it."""
    account = Account.create(api, "k")
    account.workspace(api, WORKSPACE)
    artifact = {"kind": "openai-upstream", "url": upstream_url, "upstreamModel": UPSTREAM_MODEL}
    meters = [
        {"meterId": "paygo-inference-input-tokens", "pricePer1K": 0.0001, "currency": "USD"},
        {"meterId": "paygo-inference-output-tokens", "pricePer1K": 0.0002, "currency": "USD"},
    ]
    model_id = register_model(api, REGISTRY, "keyless", artifact, description="keyless bench", meters=meters)
    world = account.world
    endpoint = create_endpoint(api, world, WORKSPACE, world.endpoint_name("keyless", 0), model_id, poll=0.02)
    tenant = api.get("/tenants").json()["value"][0]["tenantId"]
    app_id = str(uuid.uuid4())
    created = api.put(f"{SPS}/{app_id}", {"properties": {"displayName": "keyless-bench"}}).json()
    secret = api.request("POST", f"{SPS}/{app_id}/addPassword", {}).json()["secretText"]
    role = f"/providers/Microsoft.Authorization/roleDefinitions/{DATA_SCIENTIST}"
    api.put(
        f"{world.ws_path(WORKSPACE)}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
        {"properties": {"roleDefinitionId": role, "principalId": created["properties"]["principalId"]}},
    )
    form = {
        "grant_type": "client_credentials",
        "client_id": app_id,
        "client_secret": secret,
        "scope": ML_SCOPE,
    }
    answer = api.client.post(f"/{tenant}/oauth2/v2.0/token", data=form)
    if answer.status_code != 200:
        raise BenchError(f"the token endpoint answered {answer.status_code}: {answer.text}")
    return endpoint.uri, endpoint.key, str(answer.json()["access_token"])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    interrupt_on_sigterm()
    with Harness(args.keep, kept="temporary directory", log="maas server log") as harness:
        workdir = harness.tempdir("maas-keyless-")
        token = secrets.token_urlsafe(32)
        upstream = Upstream(workdir)
        harness.stop_at_end(upstream.stop)
        server = harness.serve(Server(workdir, None, token))
        upstream.start()
        progress(f"fake upstream on {upstream.url}; starting maas serve on {server.base_url}")
        server.start()
        api = Api(server.base_url, token)
        try:
            uri, key, access_token = setup(api, upstream.url)
        finally:
            api.close()
        progress(f"endpoint ready: {uri}")
        kinds = {
            "key (api-key)": {"api-key": key},
            "key (Bearer)": {"Authorization": f"Bearer {key}"},
            "token (Bearer)": {"Authorization": f"Bearer {access_token}"},
        }
        clients = {
            name: httpx.Client(headers={"content-type": "application/json", **headers}, timeout=30.0)
            for name, headers in kinds.items()
        }
        latency: dict[str, list[float]] = {name: [] for name in kinds}
        overhead: dict[str, list[float]] = {name: [] for name in kinds}
        try:
            progress(f"{args.warmup} warm-up + {args.calls} timed calls per kind, interleaved")
            for n in range(args.warmup + args.calls):
                for name, client in clients.items():
                    started = time.perf_counter()
                    answer = client.post(f"{uri}/chat/completions", content=BODY)
                    took = (time.perf_counter() - started) * 1000
                    if answer.status_code != 200:
                        raise BenchError(f"{name}: {answer.status_code} {answer.text}")
                    if n >= args.warmup:
                        latency[name].append(took)
                        overhead[name].append(float(answer.headers["x-maas-overhead-ms"]))
        finally:
            for client in clients.values():
                client.close()
    if harness.status:
        return harness.status
    base = percentile(latency["key (api-key)"], 50)
    rows = [
        [
            name,
            f"{percentile(values, 50):.3f}",
            f"{percentile(values, 99):.3f}",
            f"{statistics.fmean(values):.3f}",
            f"{percentile(values, 50) - base:+.3f}",
            f"{statistics.median(overhead[name]):.3f}",
            "",
        ]
        for name, values in latency.items()
    ]
    print()
    print(f"machine: {platform_facts()}; SQLite; concurrency 1; {args.calls} calls per kind")
    header = ["kind", "p50 ms", "p99 ms", "mean ms", "added p50 ms", "x-maas-overhead-ms p50", ""]
    print(table(header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
