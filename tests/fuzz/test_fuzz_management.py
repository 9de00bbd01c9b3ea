"""Schemathesis against the management API's published OpenAPI document, bodies included.

A real `maas serve` (SQLite, the shipped catalog) is fuzzed over HTTP as the admin: every operation
of `/openapi.json` with valid and invalid data (schemathesis' positive and negative modes). Path
parameters other than the last one are usually pinned to an existing subscription, resource group
and workspace, so generated bodies reach the services rather than stopping at a 404. Asserted:

- no 5xx, and nothing in the server's log that looks like a traceback;
- every status code, content type and body is what the document says: success codes per method,
  and every error in the ARM envelope `{"error": {"code", "message", ...}}`.

`MAAS_TEST_FUZZ_EXAMPLES` sets the examples per operation (default 8, about a minute here);
`scripts/fuzz` runs a deeper pass.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from support.api import Api, World
from support.server import RunningServer, running_server

TOKEN = "fuzz-management-admin-token-0123456789"
EXAMPLES = int(os.environ.get("MAAS_TEST_FUZZ_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
PINNED = {"sub": "fuzz-sub", "rg": "fuzz-rg", "ws": "fuzz-ws"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("fuzz-management") / "data", token=TOKEN) as running:
        with httpx.Client(base_url=running.url, timeout=60) as http:
            api = Api(http, TOKEN)  # type: ignore[arg-type]
            api.world(World(sub=PINNED["sub"], rg=PINNED["rg"], ws=PINNED["ws"]), catalog=False)
        yield running
        log = _log(running)
        assert "Traceback" not in log, log[-5000:]


def _log(running: RunningServer) -> str:
    logs = sorted(Path(running.data_dir).parent.glob("server-*.log"))
    return "\n".join(p.read_text(errors="replace") for p in logs)


@pytest.fixture(scope="module")
def management(server: RunningServer) -> Any:
    spec = httpx.get(server.url + "/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(spec)
    schema.config.update(base_url=server.url)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES, deterministic=True
    )
    return schema


schema = schemathesis.pytest.from_fixture("management")


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=EXAMPLES, derandomize=True)
def test_management_api(case: Any, server: RunningServer) -> None:
    path = case.path_parameters or {}
    names = [name for name in PINNED if name in path]
    # pin the parent scopes (not the last parameter, so PUT/DELETE of the scope itself stays fuzzed)
    last = names[-1] if names and case.operation.path.rstrip("/").endswith("{" + names[-1] + "}") else None
    if random.Random(repr(case.body)).random() < 0.8:
        for name in names:
            if name != last:
                path[name] = PINNED[name]
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)
