"""Secrets only their own actions reveal: connection credentials come from listsecrets, endpoint
keys from listKeys/regenerateKeys, and none of them reaches the activity log or the server logs."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from maas.controlplane.store import tables
from support.api import FREE_MODEL, Api, World

CONNECTION = {
    "properties": {
        "category": "Serverless",
        "target": "https://maas.example/endpoints/eastus2/llama",
        "authType": "ApiKey",
        "credentials": {"key": "connection-secret-0123456789abcdef"},
    }
}


def _connection(api: Api, world: World, name: str = "llama-conn") -> str:
    path = f"{world.ws_path}/connections/{name}"
    api.ok(api.put(path, CONNECTION), 201)
    return path


def test_connection_credentials_only_come_from_listsecrets(api: Api) -> None:
    world = api.world(catalog=False)
    path = _connection(api, world)
    created = api.ok(api.put(path, CONNECTION), 200)
    for body in (created, api.ok(api.get(path), 200), api.ok(api.get(f"{world.ws_path}/connections"), 200)):
        assert "connection-secret" not in str(body)
    secrets = api.ok(api.post(path + "/listsecrets"), 200)
    assert secrets["properties"]["credentials"] == {"key": "connection-secret-0123456789abcdef"}
    assert secrets["id"] == path


def test_regenerate_keys(api: Api) -> None:
    world = api.world()
    api.wait_operation(api.create_endpoint(world, "phi", FREE_MODEL))
    path = world.endpoint("phi")
    keys = api.ok(api.post(path + "/listKeys"), 200)

    primary = api.ok(api.post(path + "/regenerateKeys", {"keyType": "Primary"}), 200)
    assert primary["primaryKey"] != keys["primaryKey"] and len(primary["primaryKey"]) == 64
    assert primary["secondaryKey"] == keys["secondaryKey"]
    assert api.ok(api.post(path + "/listKeys"), 200) == primary

    # azure-ai-ml sends the key being replaced as keyValue: that regenerates it too.
    body = {"keyType": "Secondary", "keyValue": primary["secondaryKey"]}
    secondary = api.ok(api.post(path + "/regenerateKeys", body), 200)
    assert secondary["secondaryKey"] not in (primary["secondaryKey"], primary["primaryKey"])
    assert secondary["primaryKey"] == primary["primaryKey"]

    chosen = api.ok(
        api.post(path + "/regenerateKeys", {"keyType": "Primary", "keyValue": "chosen-key-0123456789"}), 200
    )
    assert chosen["primaryKey"] == "chosen-key-0123456789"
    reuse = api.post(path + "/regenerateKeys", {"keyType": "Secondary", "keyValue": "chosen-key-0123456789"})
    assert reuse.status_code == 400 and reuse.json()["error"]["target"] == "keyValue"
    bad = api.post(path + "/regenerateKeys", {"keyType": "Tertiary"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidRequestContent"


def test_keys_never_reach_the_activity_log_or_the_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    world = api.world()
    api.ok(api.subscribe(world), 201)
    api.wait_operation(api.create_endpoint(world, "llama"))
    path = world.endpoint("llama")
    secrets = list(api.ok(api.post(path + "/listKeys"), 200).values())
    secrets += list(api.ok(api.post(path + "/regenerateKeys", {"keyType": "Primary"}), 200).values())
    custom = {"keyType": "Secondary", "keyValue": "operator-chosen-key-0123456789"}
    secrets += list(api.ok(api.post(path + "/regenerateKeys", custom), 200).values())
    connection = _connection(api, world)
    api.ok(api.post(connection + "/listsecrets"), 200)
    secrets.append(CONNECTION["properties"]["credentials"]["key"])  # type: ignore[index]
    _principal_id, token = api.principal("log-check")
    secrets.append(token)
    api.as_token(token).get(world.ws_path)
    api.ok(api.post(path + "/listKeys"), 200)

    services = api.client.app.state.services  # type: ignore[attr-defined]
    with services.db.read() as connection_:
        rows = [" ".join(str(v) for v in row) for row in connection_.execute(select(tables.activity_log))]
    assert any("regenerateKeys" in row for row in rows)
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records, "nothing was logged at DEBUG; the check would be empty"
    for secret in set(secrets):
        assert secret not in "\n".join(rows)
        assert secret not in logged
