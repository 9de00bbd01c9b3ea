"""Token endpoint benchmark: client-credentials tokens per second, and what verifying an access
token (a JWT) adds to a management call compared with a static token.

Starts its own `maas serve` on 127.0.0.1 (a free port, a temporary data directory, a random admin
token), makes a service principal with a client secret and Reader at `/` over HTTP, then measures:

1. `POST /{tenant}/oauth2/v2.0/token` with grant_type=client_credentials, one client, sequential:
   tokens/s and p50 latency (the secret is a keyed digest; RS256 signing and the store dominate);
2. `GET /subscriptions` with the admin's static token and with the service principal's access
   token, interleaved (--calls each): p50/p99 of both and the added p50 of the JWT path.

    python bench/tokens.py
    python bench/tokens.py --tokens 50 --calls 2000
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

SCOPE = "https://management.azure.com/.default"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=30, help="client-credentials requests (30)")
    parser.add_argument("--calls", type=int, default=1000, help="management calls per token kind (1000)")
    args = parser.parse_args()
    admin_token = "bench-" + secrets.token_urlsafe(24)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAAS_")}
        env |= {"MAAS_ADMIN_TOKEN": admin_token, "MAAS_DEFAULT_MODELS": "false"}
        command = [sys.executable, "-m", "maas", "serve", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--data-dir", str(Path(tmp) / "data")]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with httpx.Client(base_url=base, timeout=30.0) as http:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if http.get("/health").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline or server.poll() is not None:
                        print("maas serve did not start", file=sys.stderr)
                        return 1
                    time.sleep(0.2)
                auth = {"Authorization": f"Bearer {admin_token}"}
                params = {"api-version": "2024-01-01-preview"}
                tenant = http.get("/tenants", headers=auth, params=params).json()["value"][0]["tenantId"]
                app_id = str(uuid.uuid4())
                sps = f"/providers/Microsoft.MaaS/servicePrincipals/{app_id}"
                body = {"properties": {"displayName": "bench"}}
                sp = http.put(sps, json=body, headers=auth, params=params).json()
                secret = http.post(f"{sps}/addPassword", json={}, headers=auth, params=params).json()[
                    "secretText"
                ]
                assignment = f"/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
                role = f"/providers/Microsoft.Authorization/roleDefinitions/{READER}"
                props = {
                    "properties": {"roleDefinitionId": role, "principalId": sp["properties"]["principalId"]}
                }
                assert http.put(assignment, json=props, headers=auth, params=params).status_code == 201
                form = {
                    "grant_type": "client_credentials",
                    "client_id": app_id,
                    "client_secret": secret,
                    "scope": SCOPE,
                }
                issued: list[float] = []
                access_token = ""
                for _ in range(args.tokens):
                    started = time.perf_counter()
                    answer = http.post(f"/{tenant}/oauth2/v2.0/token", data=form)
                    issued.append(time.perf_counter() - started)
                    assert answer.status_code == 200, answer.text
                    access_token = answer.json()["access_token"]
                static_ms: list[float] = []
                jwt_ms: list[float] = []
                for _ in range(args.calls):
                    for token, sink in ((admin_token, static_ms), (access_token, jwt_ms)):
                        started = time.perf_counter()
                        answer = http.get(
                            "/subscriptions", headers={"Authorization": f"Bearer {token}"}, params=params
                        )
                        sink.append((time.perf_counter() - started) * 1000)
                        assert answer.status_code == 200, answer.text
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}, SQLite")
    print()
    rows = [
        (
            f"client_credentials tokens/s (1 client, sequential, n={args.tokens})",
            f"{len(issued) / sum(issued):.1f}",
        ),
        ("client_credentials p50 latency", f"{statistics.median(issued) * 1000:.1f} ms"),
        (
            "GET /subscriptions, static token: p50 / p99",
            f"{_pct(static_ms, 0.5):.2f} / {_pct(static_ms, 0.99):.2f} ms",
        ),
        (
            "GET /subscriptions, access token: p50 / p99",
            f"{_pct(jwt_ms, 0.5):.2f} / {_pct(jwt_ms, 0.99):.2f} ms",
        ),
        ("added p50 of JWT validation per call", f"{_pct(jwt_ms, 0.5) - _pct(static_ms, 0.5):+.2f} ms"),
    ]
    print("| measurement | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
