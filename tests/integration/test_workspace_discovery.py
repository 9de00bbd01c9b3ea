"""A workspace's `discoveryUrl` answers: the document azure-ai-ml reads for the base URL of the
workspace's APIs (`api`), without a token, as Azure's discovery endpoint does."""

from __future__ import annotations

from support.api import Api


def test_the_discovery_url_serves_a_discovery_document(api: Api) -> None:
    world = api.world(catalog=False)
    workspace = api.ok(api.get(world.ws_path), 200)
    url = workspace["properties"]["discoveryUrl"]
    assert url == "http://testserver/discovery"
    answer = api.client.get(url.removeprefix("http://testserver"))  # no Authorization header
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"api": "http://testserver"}
