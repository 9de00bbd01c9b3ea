"""`maas ad` against a running server, as `az ad` is used: users created, listed, shown,
updated and deleted; a service principal made for RBAC prints appId, password and tenant as az
does, holds its role, and a credential reset replaces its secret."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from maas.cli.main import app
from support.server import RunningServer, running_server

RA = "/providers/Microsoft.Authorization/roleAssignments"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("ad") / "data") as running:
        yield running


def run(server: RunningServer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--url", server.url, "--token", server.token])
    return result.exit_code, result.output


def _tenant(server: RunningServer) -> str:
    with server.client() as client:
        return str(client.get("/tenants").json()["value"][0]["tenantId"])


def test_serve_prints_the_tenant_kept_in_the_data_dir(server: RunningServer) -> None:
    tenant = _tenant(server)
    assert (server.data_dir / "tenant-id").read_text().strip() == tenant
    logs = "".join(p.read_text() for p in server.data_dir.parent.glob("server-*.log"))
    assert f"tenant:         {tenant}" in logs
    assert "/studio  (sign in as user 'admin', the admin token as password)" in logs  # scripts/serve says how


def test_ad_user_lifecycle(server: RunningServer) -> None:
    upn = "alice@contoso.example"
    code, out = run(
        server, "ad", "user", "create", "--display-name", "Alice", "--password", "Secret-pass-1",
        "--user-principal-name", upn,
    )  # fmt: skip
    assert code == 0, out
    created = json.loads(out)
    assert created["userPrincipalName"] == upn and created["accountEnabled"] is True
    assert "Secret-pass-1" not in out
    code, out = run(
        server, "ad", "user", "create", "--display-name", "A", "--password", "Secret-pass-1",
        "--user-principal-name", upn,
    )  # fmt: skip
    assert code == 1 and "already exists" in out
    code, out = run(server, "ad", "user", "list")
    assert code == 0, out
    assert sorted(u["userPrincipalName"] for u in json.loads(out)) == ["admin", upn]
    code, out = run(
        server,
        "ad",
        "user",
        "update",
        "--id",
        upn,
        "--password",
        "Other-pass-2",
        "--account-enabled",
        "false",
    )
    assert code == 0, out
    code, out = run(server, "ad", "user", "show", "--id", upn)
    assert code == 0, out
    assert json.loads(out)["accountEnabled"] is False and json.loads(out)["id"] == created["id"]
    code, out = run(
        server, "ad", "user", "update", "--id", "nobody@contoso.example", "--password", "Other-pass-2"
    )
    assert code == 1 and "does not exist" in out
    code, out = run(server, "ad", "user", "delete", "--id", upn)
    assert code == 0, out
    code, out = run(server, "ad", "user", "show", "--id", upn)
    assert code == 1 and "UserNotFound" in out


def test_ad_sp_create_for_rbac_and_credential_reset(server: RunningServer) -> None:
    sub = str(uuid.uuid4())
    body = {"properties": {"billingProfile": {"paymentMethod": "CreditCard", "offerType": "PayAsYouGo"}}}
    with server.client() as client:
        assert client.put(f"/subscriptions/{sub}", json=body).status_code in (200, 201)
    code, out = run(
        server,
        "ad",
        "sp",
        "create-for-rbac",
        "--name",
        "ci-bot",
        "--role",
        "Reader",
        "--scopes",
        f"/subscriptions/{sub}",
    )
    assert code == 0, out
    made = json.loads(out)
    assert set(made) == {"appId", "displayName", "password", "tenant"}
    assert made["displayName"] == "ci-bot" and made["tenant"] == _tenant(server)
    code, out = run(server, "ad", "sp", "show", "--id", made["appId"])
    assert code == 0, out
    shown = json.loads(out)
    assert made["password"] not in out and len(shown["passwordCredentials"]) == 1
    code, out = run(server, "role", "assignment", "list", "--scope", f"/subscriptions/{sub}")
    assert code == 0, out
    assert [a["properties"]["principalId"] for a in json.loads(out)] == [shown["id"]]

    code, out = run(server, "ad", "sp", "credential", "reset", "--id", made["appId"])
    assert code == 0, out
    reset = json.loads(out)
    assert reset["appId"] == made["appId"] and reset["password"] != made["password"]
    code, out = run(server, "ad", "sp", "show", "--id", made["appId"])
    assert [c["keyId"] for c in json.loads(out)["passwordCredentials"]] != [
        c["keyId"] for c in shown["passwordCredentials"]
    ]
    # the same name again reuses the service principal, with a new secret
    code, out = run(server, "ad", "sp", "create-for-rbac", "--name", "ci-bot")
    assert code == 0, out
    assert json.loads(out)["appId"] == made["appId"]
    code, out = run(server, "ad", "sp", "list")
    assert [sp["appId"] for sp in json.loads(out)] == [made["appId"]]
    code, out = run(server, "ad", "sp", "delete", "--id", made["appId"])
    assert code == 0, out
    code, out = run(server, "ad", "sp", "list")
    assert json.loads(out) == []
