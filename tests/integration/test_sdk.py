"""`maas.sdk` against a live in-process server (uvicorn in a thread, real HTTP).

The seed's `# [Python SDK]` snippets run as the seed writes them, with only the import line and
the credential changed (the server's URL comes from $MAAS_URL, as a user would set it). Each test
works in its own workspace so that the tests do not depend on each other's order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from maas.sdk import (
    HttpResponseError,
    LROPoller,
    MaasClientError,
    MaasTokenCredential,
    MLClient,
    ServerlessConnection,
    ServerlessEndpoint,
    ServiceRequestError,
    Workspace,
)
from support.api import FREE_MODEL, MODEL, World
from support.gateway import ADMIN_TOKEN, LiveServer, live_server

HEX64 = re.compile(r"[0-9a-f]{64}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("sdk")) as running:
        running.api.world()
        yield running


def workspace(server: LiveServer, name: str) -> World:
    world = World(ws=name)
    server.api.ok(server.api.put(world.ws_path, {"location": world.location}))
    return world


def client_for(server: LiveServer, world: World) -> MLClient:
    return MLClient(
        MaasTokenCredential(ADMIN_TOKEN),
        world.sub,
        world.rg,
        world.ws,
        base_url=server.url,
        polling_interval=0.05,
    )


def test_seed_snippets_run_end_to_end(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world = workspace(server, "ws-seed")
    monkeypatch.setenv("MAAS_URL", server.url)
    token = ADMIN_TOKEN

    # -- the seed, with the import and the credential changed ------------------------------------
    from maas.sdk import MarketplaceSubscription, MLClient, ServerlessEndpoint

    client = MLClient(
        credential=MaasTokenCredential(token),
        subscription_id=world.sub,
        resource_group_name=world.rg,
        workspace_name=world.ws,
    )

    model_id = "azureml://registries/azureml-meta/models/Meta-Llama-3-8B-Instruct"
    subscription_name = "Meta-Llama-3-8B-Instruct"

    marketplace_subscription = MarketplaceSubscription(
        model_id=model_id,
        name=subscription_name,
    )

    marketplace_subscription = client.marketplace_subscriptions.begin_create_or_update(
        marketplace_subscription
    ).result()

    assert marketplace_subscription.name == subscription_name
    assert marketplace_subscription.model_id == model_id == MODEL
    assert marketplace_subscription.provisioning_state == "succeeded"
    assert marketplace_subscription.status == "subscribed"
    assert marketplace_subscription.marketplace_plan is not None
    assert marketplace_subscription.marketplace_plan.publisher_id == "metagenai"
    assert marketplace_subscription.marketplace_plan.plan_id == "meta-llama-3-8b-instruct"
    assert marketplace_subscription.id == world.subscription(subscription_name)

    marketplace_sub_list = client.marketplace_subscriptions.list()

    for sub in marketplace_sub_list:
        print(sub.as_dict())

    printed = capsys.readouterr().out
    assert subscription_name in printed and model_id in printed and "'status': 'subscribed'" in printed

    endpoint_name = "meta-llama3-8b-qwerty"

    serverless_endpoint = ServerlessEndpoint(name=endpoint_name, model_id=model_id)

    created_endpoint = client.serverless_endpoints.begin_create_or_update(serverless_endpoint).result()

    assert created_endpoint.name == endpoint_name
    assert created_endpoint.model_id == model_id
    assert created_endpoint.location == "eastus2"
    assert created_endpoint.provisioning_state == "succeeded"
    assert created_endpoint.endpoint_state == "online"
    assert created_endpoint.auth_mode == "key"
    assert created_endpoint.scoring_uri and endpoint_name in created_endpoint.scoring_uri

    # The seed's "see the endpoints" snippet repeats the create: a PUT of the same body.
    serverless_endpoint = ServerlessEndpoint(name=endpoint_name, model_id=model_id)

    created_endpoint = client.serverless_endpoints.begin_create_or_update(serverless_endpoint).result()

    assert created_endpoint.provisioning_state == "succeeded"
    listed = list(client.serverless_endpoints.list())
    assert [endpoint.name for endpoint in listed] == [endpoint_name]
    assert listed[0].scoring_uri == created_endpoint.scoring_uri

    endpoint_keys = client.serverless_endpoints.get_keys(endpoint_name)
    print(endpoint_keys.primary_key)
    print(endpoint_keys.secondary_key)

    lines = capsys.readouterr().out.split()
    assert lines == [endpoint_keys.primary_key, endpoint_keys.secondary_key]
    assert all(HEX64.fullmatch(key) for key in lines)

    client.serverless_endpoints.begin_delete(endpoint_name).wait()

    with pytest.raises(HttpResponseError) as caught:
        client.serverless_endpoints.get(endpoint_name)
    assert caught.value.status_code == 404
    assert list(client.serverless_endpoints.list()) == []

    client.marketplace_subscriptions.begin_delete(subscription_name).wait()

    with pytest.raises(HttpResponseError) as caught:
        client.marketplace_subscriptions.get(subscription_name)
    assert caught.value.status_code == 404
    assert list(client.marketplace_subscriptions.list()) == []


def _deploy(client: MLClient, name: str, model: str = MODEL) -> ServerlessEndpoint:
    from maas.sdk import MarketplaceSubscription

    if model == MODEL:
        client.marketplace_subscriptions.begin_create_or_update(
            MarketplaceSubscription(name="llama", model_id=MODEL)
        ).result()
    return client.serverless_endpoints.begin_create_or_update(ServerlessEndpoint(name, model)).result()


@pytest.mark.parametrize("key_type", ["primary", "secondary"])
def test_regenerate_keys_replaces_one_key(server: LiveServer, key_type: str) -> None:
    client = client_for(server, workspace(server, f"ws-regen-{key_type}"))
    name = f"regen-{key_type}"  # endpoint names are unique in a region
    _deploy(client, name)
    before = client.serverless_endpoints.get_keys(name)

    poller = client.serverless_endpoints.begin_regenerate_keys(name, key_type=key_type)
    returned = poller.result()

    after = client.serverless_endpoints.get_keys(name)
    assert (returned.primary_key, returned.secondary_key) == (after.primary_key, after.secondary_key)
    changed, kept = (
        ("primary_key", "secondary_key") if key_type == "primary" else ("secondary_key", "primary_key")
    )
    assert getattr(after, kept) == getattr(before, kept)
    assert HEX64.fullmatch(getattr(after, changed))
    assert getattr(after, changed) not in (before.primary_key, before.secondary_key)
    with pytest.raises(MaasClientError, match="key_type must be 'primary' or 'secondary'"):
        client.serverless_endpoints.begin_regenerate_keys(name, key_type="tertiary")


def test_connections_to_an_endpoint(server: LiveServer) -> None:
    client = client_for(server, workspace(server, "ws-conn"))
    endpoint = _deploy(client, "conn-target", FREE_MODEL)
    keys = client.serverless_endpoints.get_keys("conn-target")
    assert endpoint.scoring_uri

    created = client.connections.create_or_update(
        ServerlessConnection(
            name="my-llm", endpoint=endpoint.scoring_uri, api_key=keys.primary_key, tags={"team": "a"}
        )
    )
    assert (created.name, created.endpoint, created.type) == ("my-llm", endpoint.scoring_uri, "serverless")
    assert created.api_key is None  # the server never echoes a secret
    assert created.tags == {"team": "a"}

    got = client.connections.get("my-llm")
    assert got.endpoint == endpoint.scoring_uri and got.api_key is None
    assert client.connections.get("my-llm", populate_secrets=True).api_key == keys.primary_key
    assert [c.name for c in client.connections.list()] == ["my-llm"]
    assert got.as_dict()["endpoint"] == endpoint.scoring_uri

    client.connections.delete("my-llm")
    assert list(client.connections.list()) == []
    with pytest.raises(HttpResponseError) as caught:
        client.connections.get("my-llm")
    assert caught.value.status_code == 404


def test_workspaces_get_and_list(server: LiveServer) -> None:
    world = workspace(server, "ws-read")
    client = client_for(server, world)

    got = client.workspaces.get()
    assert isinstance(got, Workspace)
    assert (got.name, got.location, got.resource_group, got.id) == (
        "ws-read",
        "eastus2",
        "rg1",
        world.ws_path,
    )
    assert client.workspaces.get("ws1").name == "ws1"
    assert {"ws1", "ws-read"} <= {w.name for w in client.workspaces.list()}


def test_pollers_report_progress_and_finish(server: LiveServer) -> None:
    client = client_for(server, workspace(server, "ws-poll"))

    creating = client.serverless_endpoints.begin_create_or_update(ServerlessEndpoint("polled", FREE_MODEL))
    assert isinstance(creating, LROPoller)
    assert creating.status() in ("InProgress", "Succeeded")
    creating.wait()
    assert creating.done() and creating.status() == "Succeeded"
    endpoint = creating.result()
    assert endpoint.provisioning_state == "succeeded" and endpoint.name == "polled"
    assert creating.result() is endpoint  # resolved once

    deleting = client.serverless_endpoints.begin_delete("polled")
    assert deleting.status() in ("InProgress", "Succeeded")
    assert deleting.result() is None
    assert deleting.done() and deleting.status() == "Succeeded"

    # Deleting what is not there: a 204, so a poller that is done at once.
    gone = client.serverless_endpoints.begin_delete("polled")
    assert gone.done() and gone.status() == "Succeeded"
    gone.wait()


def test_server_errors_carry_the_server_code(server: LiveServer) -> None:
    from maas.sdk import MarketplaceSubscription

    world = workspace(server, "ws-errors")
    client = client_for(server, world)

    with pytest.raises(HttpResponseError) as caught:
        client.marketplace_subscriptions.begin_create_or_update(
            MarketplaceSubscription(name="versioned", model_id=MODEL + "/versions/1")
        ).result()
    assert (caught.value.status_code, caught.value.error) == (400, "VersionedModelIdNotAllowed")
    assert caught.value.error.code == caught.value.code == "VersionedModelIdNotAllowed"
    assert "includes a version" in str(caught.value)

    with pytest.raises(HttpResponseError) as caught:
        client.serverless_endpoints.begin_create_or_update(
            ServerlessEndpoint(name="versioned", model_id=FREE_MODEL + "/versions/1")
        ).result()
    assert (caught.value.status_code, caught.value.code) == (400, "VersionedModelIdNotAllowed")

    unknown = "azureml://registries/azureml-meta/models/NoSuchModel"
    with pytest.raises(HttpResponseError) as caught:
        client.marketplace_subscriptions.begin_create_or_update(
            MarketplaceSubscription(name="nosuch", model_id=unknown)
        ).result()
    assert (caught.value.status_code, caught.value.code) == (404, "ModelNotFound")
    assert f"The model '{unknown}' is not in the catalog." in caught.value.message

    with pytest.raises(HttpResponseError) as caught:
        client.serverless_endpoints.begin_create_or_update(ServerlessEndpoint("nosuch", unknown)).result()
    assert (caught.value.status_code, caught.value.code) == (404, "ModelNotFound")

    missing = MLClient(
        MaasTokenCredential(ADMIN_TOKEN), world.sub, world.rg, "no-such-ws", base_url=server.url
    )
    with pytest.raises(HttpResponseError) as caught:
        missing.workspaces.get()
    assert caught.value.status_code == 404
    assert caught.value.code == "ResourceNotFound"
    with pytest.raises(HttpResponseError) as caught:
        list(missing.serverless_endpoints.list())
    assert caught.value.status_code == 404

    bad_token = MLClient(
        MaasTokenCredential("not-a-token"), world.sub, world.rg, world.ws, base_url=server.url
    )
    with pytest.raises(HttpResponseError) as caught:
        bad_token.workspaces.get()
    assert caught.value.status_code == 401


def test_get_modify_put_updates_an_endpoints_tags(server: LiveServer) -> None:
    client = client_for(server, workspace(server, "ws-update"))
    _deploy(client, "tagged", FREE_MODEL)

    endpoint = client.serverless_endpoints.get("tagged")
    endpoint.tags = {"team": "search"}
    updated = client.serverless_endpoints.begin_create_or_update(endpoint).result()

    assert updated.tags == {"team": "search"}
    assert updated.provisioning_state == "succeeded" and updated.scoring_uri == endpoint.scoring_uri
    assert client.serverless_endpoints.get("tagged").tags == {"team": "search"}


def test_over_tls_with_the_servers_ca_bundle(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from support.server import running_server

    with running_server(tmp_path_factory.mktemp("tls") / "data", tls=True) as tls:
        assert tls.ca_bundle is not None
        with tls.client() as http:
            for path, body in (
                ("/subscriptions/s-tls", {"properties": {}}),
                ("/subscriptions/s-tls/resourceGroups/rg", {"location": "eastus2"}),
                (
                    "/subscriptions/s-tls/resourceGroups/rg/providers/Microsoft.MachineLearningServices"
                    "/workspaces/ws-tls",
                    {"location": "eastus2"},
                ),
            ):
                answer = http.put(path, json=body, params={"api-version": "2024-01-01-preview"})
                assert answer.status_code in (200, 201), answer.text
        monkeypatch.setenv("MAAS_CA_BUNDLE", str(tls.ca_bundle))
        client = MLClient(MaasTokenCredential(tls.token), "s-tls", "rg", "ws-tls", base_url=tls.url)
        assert client.workspaces.get().name == "ws-tls"
        monkeypatch.delenv("MAAS_CA_BUNDLE")
        monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
        untrusted = MLClient(MaasTokenCredential(tls.token), "s-tls", "rg", "ws-tls", base_url=tls.url)
        with pytest.raises(ServiceRequestError, match="cannot reach MaaS"):
            untrusted.workspaces.get()
