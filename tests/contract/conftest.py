"""Fixtures for the real-client contract tests: a `maas serve --tls` subprocess and a world on it.

The server is started once per module on a free port with a fresh data directory, as an operator
would start it (`python -m maas serve --tls ...`, admin token from `MAAS_ADMIN_TOKEN`). The world
(account with a payment method, resource group, workspace in eastus2, a catalog model with a paid
Marketplace offer) is built over HTTPS with httpx, verifying the server against the generated CA.
Clients are then pointed at it through `AZUREML_DEV_URL_MFE` and `REQUESTS_CA_BUNDLE`.
"""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ADMIN_TOKEN = "contract-admin-token-0123456789abcdef"
SUB = "00000000-0000-0000-0000-0000000000c1"
RG = "rg-contract"
LOCATION = "eastus2"
ML = "Microsoft.MachineLearningServices"
MODEL = "azureml://registries/azureml-meta/models/Meta-Llama-3-8B-Instruct"
API_VERSION = "2024-01-01-preview"
START_DEADLINE_S = 60.0
STOP_WAIT_S = 10.0


@dataclass(frozen=True)
class Server:
    url: str
    ca: Path
    data_dir: Path
    log: Path

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError as exc:  # pragma: no cover - diagnostics only
            return f"<no server output: {exc}>"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_WAIT_S)


@pytest.fixture(scope="module")
def maas_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("maas-contract")
    data_dir = root / "data"
    log = root / "server.log"
    port = _free_port()
    # Only our own MAAS_* settings: a developer's MAAS_DATABASE_URL etc. must not leak in.
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAAS_")}
    env["MAAS_ADMIN_TOKEN"] = ADMIN_TOKEN
    env["PYTHONUNBUFFERED"] = "1"
    command = [
        sys.executable,
        "-m",
        "maas",
        "serve",
        "--tls",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    ca = data_dir / "tls" / "ca.pem"
    server = Server(url=f"https://127.0.0.1:{port}", ca=ca, data_dir=data_dir, log=log)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=root
        )
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        last_error = "not tried"
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"maas serve exited with {process.returncode} before answering /health:\n"
                    f"{server.output()}"
                )
            if server.ca.exists():
                try:
                    response = httpx.get(f"{server.url}/health", verify=str(server.ca), timeout=2.0)
                    if response.status_code == 200:
                        break
                    last_error = f"HTTP {response.status_code}: {response.text}"
                except (httpx.HTTPError, OSError) as exc:  # not listening yet, or CA half-written
                    last_error = repr(exc)
            if time.monotonic() > deadline:
                pytest.fail(
                    f"maas serve did not answer {server.url}/health within {START_DEADLINE_S:.0f} s "
                    f"(last error: {last_error}); its output:\n{server.output()}"
                )
            time.sleep(0.2)
        yield server
    finally:
        _stop(process)


@dataclass(frozen=True)
class Admin:
    """HTTPS calls to the server as the bootstrap admin (ARM paths, api-version added)."""

    http: httpx.Client
    server: Server

    def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.http.request(method, path, json=body, params={"api-version": API_VERSION})

    def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = self.request(method, path, body)
        assert response.status_code in (200, 201), (
            f"{method} {path} -> {response.status_code} {response.text}\n"
            f"server output:\n{self.server.output()}"
        )
        return response.json() if response.content else {}

    @staticmethod
    def ws_path(workspace: str) -> str:
        return f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/{ML}/workspaces/{workspace}"

    def workspace(self, name: str) -> str:
        self.ok("PUT", self.ws_path(name), {"location": LOCATION})
        return name


@pytest.fixture(scope="module")
def admin(maas_server: Server) -> Iterator[Admin]:
    with httpx.Client(
        base_url=maas_server.url,
        verify=str(maas_server.ca),
        timeout=30.0,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ) as http:
        yield Admin(http, maas_server)


@pytest.fixture(scope="module")
def world(admin: Admin) -> Admin:
    """Account with a payment method, resource group, and the catalog of tests/support/api.py."""
    billing = {"billingProfile": {"paymentMethod": "CreditCard", "offerType": "PayAsYouGo"}}
    admin.ok("PUT", f"/subscriptions/{SUB}", {"properties": billing})
    admin.ok("PUT", f"/subscriptions/{SUB}/resourceGroups/{RG}", {"location": LOCATION})
    upstream = {"kind": "openai-upstream", "url": "http://127.0.0.1:9/v1"}
    admin.ok(
        "PUT",
        MODEL.removeprefix("azureml:/") + "/versions/1",
        {"properties": {"artifact": upstream, "description": "test model"}},
    )
    meters = [
        {"meterId": "paygo-inference-input-tokens", "pricePer1K": 0.0003},
        {"meterId": "paygo-inference-output-tokens", "pricePer1K": 0.0006},
    ]
    admin.ok(
        "PUT",
        "/providers/Microsoft.MaaS/offers/meta-llama-3-8b-instruct",
        {
            "properties": {
                "modelId": MODEL,
                "publisherId": "metagenai",
                "planId": "meta-llama-3-8b-instruct",
                "kind": "Marketplace",
                "terms": "Llama 3 licence",
                "regions": ["eastus2", "westus3"],
                "meters": meters,
            }
        },
    )
    return admin


class StaticToken:
    """A credential handing out the admin token, recording the scopes it was asked for."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


@pytest.fixture(scope="module")
def client_env(maas_server: Server) -> Iterator[None]:
    """AZUREML_DEV_URL_MFE and REQUESTS_CA_BUNDLE for the module; restored afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AZUREML_DEV_URL_MFE", maas_server.url)
        patch.setenv("REQUESTS_CA_BUNDLE", str(maas_server.ca))
        patch.delenv("CURL_CA_BUNDLE", raising=False)
        # A CI flag that makes azure-ai-ml's telemetry wrapper rewrap errors; keep the client's own types.
        patch.delenv("IS_IN_CI_PIPELINE", raising=False)
        yield


@pytest.fixture(scope="module")
def resource_group() -> str:
    return RG


@pytest.fixture(scope="module")
def credential() -> StaticToken:
    return StaticToken(ADMIN_TOKEN)


def _close_connections(client: Any) -> None:
    """Close the HTTP sessions of an MLClient's service clients (MLClient has no close()).

    Idle keep-alive TLS connections otherwise hold the server's graceful shutdown for about 30 s.
    """
    for name, value in vars(client).items():
        if name.startswith("_service_client") and callable(getattr(value, "close", None)):
            value.close()


@pytest.fixture(scope="module")
def make_client(world: Admin, client_env: None, credential: StaticToken) -> Iterator[Callable[[str], Any]]:
    """An MLClient for a fresh workspace (created over HTTPS first) in the module's world."""
    from azure.ai.ml import MLClient

    made: list[Any] = []

    def make(workspace: str) -> Any:
        world.workspace(workspace)
        client = MLClient(
            credential=credential,
            subscription_id=SUB,
            resource_group_name=RG,
            workspace_name=workspace,
            enable_telemetry=False,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        _close_connections(client)
    # A few responses sit in reference cycles with their (checked-out) TLS connection; collect
    # them now so the server sees every connection closed and its SIGTERM shutdown is prompt.
    gc.collect()
