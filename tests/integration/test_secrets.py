"""Secrets only their own actions reveal: connection credentials come from listsecrets, endpoint
keys from listKeys/regenerateKeys, and none of them reaches the activity log or the server logs."""

from __future__ import annotations

import logging
import secrets

import pytest
from sqlalchemy import select

from maas.controlplane.store import tables
from support.api import FREE_MODEL, Api, World
from support.fake_upstream import fake_upstream
from support.gateway import UPSTREAM_MODEL, deploy, put_model, upstream_artifact

CONNECTION = {
    "properties": {
        "category": "Serverless",
        "target": "https://maas.example/endpoints/eastus2/llama",
        "authType": "ApiKey",
        "credentials": {"key": "connection-secret-0123456789abcdef"},
    }
}


CHOSEN = "chosen-key-0123456789-abcdefghijk"  # 32 characters of the key alphabet


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

    chosen = api.ok(api.post(path + "/regenerateKeys", {"keyType": "Primary", "keyValue": CHOSEN}), 200)
    assert chosen["primaryKey"] == CHOSEN
    reuse = api.post(path + "/regenerateKeys", {"keyType": "Secondary", "keyValue": CHOSEN})
    assert reuse.status_code == 400 and reuse.json()["error"]["target"] == "keyValue"
    assert "differ from both current keys" in reuse.json()["error"]["message"]
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
    custom = {"keyType": "Secondary", "keyValue": "operator-chosen-key-0123456789-abcdef"}
    secrets += list(api.ok(api.post(path + "/regenerateKeys", custom), 200).values())
    connection = _connection(api, world)
    api.ok(api.post(connection + "/listsecrets"), 200)
    secrets.append(CONNECTION["properties"]["credentials"]["key"])  # type: ignore[index]
    _principal_id, token = api.principal("log-check")
    secrets.append(token)
    api.as_token(token).get(world.ws_path)
    api.ok(api.post(path + "/listKeys"), 200)

    services = api.client.app.state.process.services  # type: ignore[attr-defined]
    with services.db.read() as connection_:
        rows = [" ".join(str(v) for v in row) for row in connection_.execute(select(tables.activity_log))]
    assert any("regenerateKeys" in row for row in rows)
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records, "nothing was logged at DEBUG; the check would be empty"
    for secret in set(secrets):
        assert secret not in "\n".join(rows)
        assert secret not in logged


WEAK = [
    "chosen-key-0123456789",  # 21 characters: too short
    "x" * 31,
    "chosen key with spaces 0123456789",  # outside the alphabet
    "chosen-key-0123456789/abcdefghijk",
    "chosen-key-0123456789+abcdefghijk",
    "chosen-key-0123456789-abcdéfghijk",
    "a" * 64,  # too few different characters
    "abcdefg" * 10,
    "k" * 257,  # too long (the wire type's bound)
]
STRONG = [
    secrets.token_hex(32),  # what the platform generates
    secrets.token_urlsafe(24),  # 32 characters of URL-safe base64
    "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6",  # Azure's shape: 32 alphanumerics
]


def test_chosen_keys_must_be_strong(api: Api) -> None:
    world = api.world()
    api.wait_operation(api.create_endpoint(world, "phi", FREE_MODEL))
    path = world.endpoint("phi")
    before = api.ok(api.post(path + "/listKeys"), 200)
    for value in WEAK:
        response = api.post(path + "/regenerateKeys", {"keyType": "Primary", "keyValue": value})
        assert response.status_code == 400, (value, response.text)
        error = response.json()["error"]
        assert error["target"] == "keyValue", value
        assert value not in response.text  # a chosen key is a secret: never echoed
        if len(value) <= 256:
            assert error["code"] == "InvalidKeyValue", value
            assert "32 to 256 characters" in error["message"]
    assert api.ok(api.post(path + "/listKeys"), 200) == before  # nothing changed
    for value in STRONG:
        keys = api.ok(api.post(path + "/regenerateKeys", {"keyType": "Secondary", "keyValue": value}), 200)
        assert keys["secondaryKey"] == value


def test_a_chosen_key_never_tells_that_another_endpoint_holds_it(api: Api) -> None:
    """Setting another tenant's key (generated or chosen) on your own endpoint answers exactly as
    any other strong value does: the same value on two endpoints is two different digests."""
    with fake_upstream() as upstream:
        mine, theirs = World(), World(sub="00000000-0000-0000-0000-0000000000b2", ws="theirs")
        api.world(mine, catalog=False)
        api.world(theirs, catalog=False)
        put_model(api, UPSTREAM_MODEL, upstream_artifact(upstream.url))
        a = deploy(api, mine, "endpoint-a", UPSTREAM_MODEL)
        b = deploy(api, theirs, "endpoint-b", UPSTREAM_MODEL)
        chosen_by_b = secrets.token_urlsafe(30)
        body = {"keyType": "Secondary", "keyValue": chosen_by_b}
        api.ok(api.post(theirs.endpoint("endpoint-b") + "/regenerateKeys", body), 200)

        # A takes B's generated primary as its secondary, and B's chosen secondary as its primary
        regenerate = mine.endpoint("endpoint-a") + "/regenerateKeys"
        response = api.post(regenerate, {"keyType": "Secondary", "keyValue": b.key})
        assert response.status_code == 200, response.text
        assert response.json() == {"primaryKey": a.key, "secondaryKey": b.key}
        response = api.post(regenerate, {"keyType": "Primary", "keyValue": chosen_by_b})
        assert response.status_code == 200, response.text
        assert response.json() == {"primaryKey": chosen_by_b, "secondaryKey": b.key}

        # B's keys are untouched, and each endpoint opens with the values it holds
        assert api.ok(api.post(theirs.endpoint("endpoint-b") + "/listKeys"), 200) == {
            "primaryKey": b.key,
            "secondaryKey": chosen_by_b,
        }
        for endpoint in (a, b):
            for value in (b.key, chosen_by_b):
                response = api.client.get(endpoint.route + "/info", headers={"api-key": value})
                assert response.status_code == 200, response.text
        assert api.client.get(b.route + "/info", headers={"api-key": a.key}).status_code == 401
        assert api.client.get(a.route + "/info", headers={"api-key": a.key}).status_code == 401  # replaced
