"""Contract: the real azure-ai-ml client (1.35.2) against a real `maas serve --tls`.

The seed's Python SDK snippets run unchanged apart from the import and the connection arguments
of `MLClient`. Each test works in its own workspace so that the tests do not depend on each
other's order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from azure.ai.ml.entities import MarketplaceSubscription, ServerlessEndpoint
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

pytestmark = pytest.mark.contract

MODEL = "azureml://registries/azureml-meta/models/Meta-Llama-3-8B-Instruct"
HEX64 = re.compile(r"[0-9a-f]{64}")
MakeClient = Callable[[str], Any]


def _subscribe_and_deploy(client: Any, endpoint_name: str) -> Any:
    client.marketplace_subscriptions.begin_create_or_update(
        MarketplaceSubscription(model_id=MODEL, name="Meta-Llama-3-8B-Instruct")
    ).result()
    return client.serverless_endpoints.begin_create_or_update(
        ServerlessEndpoint(name=endpoint_name, model_id=MODEL)
    ).result()


def test_seed_snippets_run_end_to_end(
    make_client: MakeClient, credential: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client("ws-seed")

    # -- Subscribe the workspace to the offer -------------------------------------------------
    model_id = "azureml://registries/azureml-meta/models/Meta-Llama-3-8B-Instruct"
    subscription_name = "Meta-Llama-3-8B-Instruct"

    marketplace_subscription = MarketplaceSubscription(
        model_id=model_id,
        name=subscription_name,
    )

    marketplace_subscription = client.marketplace_subscriptions.begin_create_or_update(
        marketplace_subscription
    ).result()

    assert marketplace_subscription is not None
    assert marketplace_subscription.name == subscription_name
    assert marketplace_subscription.model_id == model_id
    assert marketplace_subscription.provisioning_state == "succeeded"
    assert marketplace_subscription.status == "subscribed"
    assert marketplace_subscription.marketplace_plan is not None

    marketplace_sub_list = client.marketplace_subscriptions.list()

    for sub in marketplace_sub_list:
        print(sub.as_dict())

    printed = capsys.readouterr().out
    assert subscription_name in printed and model_id in printed, printed

    fetched = client.marketplace_subscriptions.get(subscription_name)
    assert fetched.name == subscription_name and fetched.model_id == model_id

    # -- Deploy to a serverless API endpoint --------------------------------------------------
    endpoint_name = "meta-llama3-8b-qwerty"

    serverless_endpoint = ServerlessEndpoint(name=endpoint_name, model_id=model_id)

    created_endpoint = client.serverless_endpoints.begin_create_or_update(serverless_endpoint).result()

    assert created_endpoint.name == endpoint_name
    assert created_endpoint.model_id == model_id
    assert created_endpoint.location == "eastus2"
    assert created_endpoint.provisioning_state == "succeeded"
    assert created_endpoint.scoring_uri, created_endpoint

    got = client.serverless_endpoints.get(endpoint_name)
    assert got.name == endpoint_name
    assert got.provisioning_state == "succeeded"
    assert got.scoring_uri == created_endpoint.scoring_uri

    listed = list(client.serverless_endpoints.list())
    assert [endpoint.name for endpoint in listed] == [endpoint_name]

    endpoint_keys = client.serverless_endpoints.get_keys(endpoint_name)
    print(endpoint_keys.primary_key)
    print(endpoint_keys.secondary_key)

    assert HEX64.fullmatch(endpoint_keys.primary_key), endpoint_keys.primary_key
    assert HEX64.fullmatch(endpoint_keys.secondary_key), endpoint_keys.secondary_key
    assert endpoint_keys.primary_key != endpoint_keys.secondary_key

    # -- Delete endpoints and subscriptions ---------------------------------------------------
    client.serverless_endpoints.begin_delete(endpoint_name).wait()

    with pytest.raises(ResourceNotFoundError):
        client.serverless_endpoints.get(endpoint_name)
    assert list(client.serverless_endpoints.list()) == []

    client.marketplace_subscriptions.begin_delete(subscription_name).wait()

    with pytest.raises(ResourceNotFoundError):
        client.marketplace_subscriptions.get(subscription_name)

    # The client asked for an ARM token and the server accepted it as a bearer token.
    arm_scope = ("https://management.azure.com/.default",)
    assert credential.scopes and all(scopes == arm_scope for scopes in credential.scopes)


def test_public_begin_regenerate_keys_is_broken_in_this_client(make_client: MakeClient) -> None:
    """azure-ai-ml 1.35.2 passes `endpoint_name=` to a generated method whose parameter is `name`.

    This pins the known client bug: when a fixed azure-ai-ml is installed this test fails, and
    the public call should then be tested for real (it should send regenerateKeys).
    """
    client = make_client("ws-regen-public")
    _subscribe_and_deploy(client, "regen-public")
    before = client.serverless_endpoints.get_keys("regen-public")

    with pytest.raises(TypeError, match=r"\bname\b"):
        client.serverless_endpoints.begin_regenerate_keys("regen-public", key_type="secondary")

    # Nothing reached regenerateKeys: the keys are unchanged.
    after = client.serverless_endpoints.get_keys("regen-public")
    assert (after.primary_key, after.secondary_key) == (before.primary_key, before.secondary_key)


def test_regenerate_keys_through_the_generated_operation(
    make_client: MakeClient, resource_group: str
) -> None:
    """The wire call the public wrapper intends: POST regenerateKeys {keyType, keyValue=<old key>}."""
    from azure.ai.ml._restclient.arm_ml_service.models import RegenerateEndpointKeysRequest

    workspace = "ws-regen-direct"
    endpoint_name = "regen-direct"
    client = make_client(workspace)
    _subscribe_and_deploy(client, endpoint_name)
    before = client.serverless_endpoints.get_keys(endpoint_name)

    result = client._service_client_01_2024_preview_arm.serverless_endpoints.begin_regenerate_keys(
        resource_group,
        workspace,
        endpoint_name,
        RegenerateEndpointKeysRequest(key_type="Secondary", key_value=before.secondary_key),
    ).result()

    after = client.serverless_endpoints.get_keys(endpoint_name)
    assert after.primary_key == before.primary_key
    assert HEX64.fullmatch(after.secondary_key), after.secondary_key
    assert after.secondary_key not in (before.secondary_key, before.primary_key)
    # The operation's own result carries the same keys as listKeys afterwards.
    assert result["primaryKey"] == after.primary_key
    assert result["secondaryKey"] == after.secondary_key


def test_versioned_model_id_is_refused_by_the_client(make_client: MakeClient) -> None:
    from azure.ai.ml.exceptions import ValidationException

    client = make_client("ws-versioned")
    client.marketplace_subscriptions.begin_create_or_update(
        MarketplaceSubscription(model_id=MODEL, name="Meta-Llama-3-8B-Instruct")
    ).result()

    with pytest.raises(ValidationException):
        client.serverless_endpoints.begin_create_or_update(
            ServerlessEndpoint(name="versioned", model_id=MODEL + "/versions/1")
        ).result()
    with pytest.raises(ResourceNotFoundError):
        client.serverless_endpoints.get("versioned")


def test_versioned_model_id_is_refused_by_the_server(make_client: MakeClient) -> None:
    """The client does not check marketplace subscriptions; the server's 400 reaches the caller."""
    client = make_client("ws-versioned-sub")

    with pytest.raises(HttpResponseError) as caught:
        client.marketplace_subscriptions.begin_create_or_update(
            MarketplaceSubscription(model_id=MODEL + "/versions/1", name="versioned")
        ).result()

    assert caught.value.status_code == 400
    assert caught.value.error is not None and caught.value.error.code == "VersionedModelIdNotAllowed"
    assert "includes a version" in str(caught.value)


def test_unknown_model_is_refused_by_the_server(make_client: MakeClient) -> None:
    unknown = "azureml://registries/azureml-meta/models/NoSuchModel"
    client = make_client("ws-unknown")

    with pytest.raises(ResourceNotFoundError) as caught:
        client.marketplace_subscriptions.begin_create_or_update(
            MarketplaceSubscription(model_id=unknown, name="NoSuchModel")
        ).result()
    assert caught.value.status_code == 404
    assert caught.value.error is not None and caught.value.error.code == "ModelNotFound"
    assert f"The model '{unknown}' is not in the catalog." in str(caught.value)

    with pytest.raises(ResourceNotFoundError) as caught:
        client.serverless_endpoints.begin_create_or_update(
            ServerlessEndpoint(name="no-such-model", model_id=unknown)
        ).result()
    assert caught.value.status_code == 404
    assert caught.value.error is not None and caught.value.error.code == "ModelNotFound"
    assert unknown in str(caught.value)
