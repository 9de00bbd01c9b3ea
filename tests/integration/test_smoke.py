from __future__ import annotations

from support.api import Api


def test_seed_flow_creates_endpoint_and_lists_keys(api: Api) -> None:
    world = api.world()
    api.ok(api.subscribe(world), 201)
    created = api.create_endpoint(world, "meta-llama3-8b-qwerty")
    assert created.status_code == 201
    assert api.wait_operation(created)["status"] == "Succeeded"
    endpoint = api.ok(api.get(world.endpoint("meta-llama3-8b-qwerty")), 200)
    assert endpoint["properties"]["provisioningState"] == "Succeeded"
    assert endpoint["properties"]["endpointState"] == "Online"
    keys = api.ok(api.post(world.endpoint("meta-llama3-8b-qwerty") + "/listKeys"), 200)
    assert len(keys["primaryKey"]) == 64 and keys["primaryKey"] != keys["secondaryKey"]
