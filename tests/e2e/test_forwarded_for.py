"""`maas serve` believes X-Forwarded-For only when the operator says a proxy is in front
(`MAAS_TRUST_FORWARDED_FOR`): otherwise a client on the same host could name any address and
never be throttled for guessing keys. Through uvicorn, on a real port."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from support.api import Api, World
from support.gateway import deploy
from support.server import running_server

EMBED = "azureml://registries/maas/models/wordllama-embed"
TOKEN = "forwarded-for-admin-token-0123456789"


@pytest.mark.parametrize("trusted", [False, True])
def test_forwarded_addresses_count_only_behind_a_trusted_proxy(tmp_path: Path, trusted: bool) -> None:
    env = {"MAAS_AUTH_FAILURES_PER_MINUTE": "3", "MAAS_TRUST_FORWARDED_FOR": str(trusted).lower()}
    with (
        running_server(tmp_path / "data", token=TOKEN, extra_env=env) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        api = Api(http, TOKEN)  # type: ignore[arg-type]
        world = api.world(World(sub=str(uuid.uuid4())), catalog=False)
        endpoint = deploy(api, world, "embed", EMBED)
        statuses = [
            http.get(
                endpoint.route + "/info",
                headers={"api-key": f"wrong-{n}", "x-forwarded-for": f"198.51.100.{n}"},
            ).status_code
            for n in range(6)
        ]
    # trusted: six different clients, one wrong key each; untrusted: one client, six wrong keys
    assert statuses == ([401] * 6 if trusted else [401, 401, 401, 429, 429, 429])
