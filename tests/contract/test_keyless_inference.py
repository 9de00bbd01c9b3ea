"""Contract: keyless calls with the real clients. azure-ai-inference's `ChatCompletionsClient`
built on the real azure-identity `ClientSecretCredential` (no key anywhere) against an endpoint of
a real `maas serve --tls`, the credential getting its token from the server's token endpoint.

What the clients do, as observed (and asserted below): azure-ai-inference 1.0.0b9 with a
`TokenCredential` asks it for `https://ml.azure.com/.default` unless `credential_scopes` says
otherwise, and sends only `Authorization: Bearer <token>` (no `api-key`), over HTTPS only (azure-core
refuses bearer tokens on plain HTTP). A 403 for a principal without the data action is an
`HttpResponseError` whose message names it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import openai
import pytest
from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.models import UserMessage
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.pipeline import PipelineRequest
from azure.identity import ClientSecretCredential

from contract.conftest import LOCATION, RG, SUB, Admin, Server
from support.fake_upstream import FakeUpstream, fake_upstream

pytestmark = pytest.mark.contract

MODEL = "azureml://registries/local/models/keyless-chat"
WS = "ws-keyless"
SCORE = "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints/score/action"
DATA_SCIENTIST = "f6c7c914-8db3-469d-8ca1-694a8f32e121"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
FAKE_TEXT = "Hello from the fake upstream."


class Recording:
    """The real credential, recording the scopes the client asked it for."""

    def __init__(self, inner: ClientSecretCredential) -> None:
        self.inner = inner
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        self.scopes.append(scopes)
        return self.inner.get_token(*scopes, **kwargs)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream() as running:
        yield running


@pytest.fixture(scope="module")
def endpoint_uri(world: Admin, upstream: FakeUpstream) -> str:
    """A serverless endpoint relaying to the fake upstream (a free first-party model): its Target URI."""
    artifact = {"kind": "openai-upstream", "url": upstream.url, "upstreamModel": "up-model"}
    world.ok("PUT", MODEL.removeprefix("azureml:/") + "/versions/1", {"properties": {"artifact": artifact}})
    offer = {"modelId": MODEL, "publisherId": "test", "kind": "FirstParty", "meters": []}
    world.ok("PUT", "/providers/Microsoft.MaaS/offers/keyless-chat", {"properties": offer})
    world.workspace(WS)
    path = f"{world.ws_path(WS)}/serverlessEndpoints/keyless-chat"
    created = world.request(
        "PUT", path, {"location": LOCATION, "properties": {"modelSettings": {"modelId": MODEL}}}
    )
    assert created.status_code == 201, created.text
    deadline = time.monotonic() + 30
    while world.http.get(created.headers["Azure-AsyncOperation"]).json()["status"] == "InProgress":
        assert time.monotonic() < deadline, "the endpoint did not come up in 30 s"
        time.sleep(0.1)
    return str(world.ok("GET", path)["properties"]["inferenceEndpoint"]["uri"])


@pytest.fixture(scope="module")
def tenant(world: Admin) -> str:
    return str(world.ok("GET", "/tenants")["value"][0]["tenantId"])


def _credential(world: Admin, server: Server, tenant: str, role: str, scope: str) -> Recording:
    """A new service principal holding `role` at `scope`, signed in with ClientSecretCredential."""
    app_id = str(uuid.uuid4())
    sps = "/providers/Microsoft.MaaS/servicePrincipals"
    created = world.ok("PUT", f"{sps}/{app_id}", {"properties": {"displayName": "keyless-bot"}})
    secret = world.ok("POST", f"{sps}/{app_id}/addPassword", {})["secretText"]
    definition = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"
    world.ok(
        "PUT",
        f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
        {"properties": {"roleDefinitionId": definition, "principalId": created["properties"]["principalId"]}},
    )
    return Recording(
        ClientSecretCredential(tenant, app_id, secret, authority=server.url, disable_instance_discovery=True)
    )


@pytest.fixture(scope="module")
def scientist(world: Admin, maas_server: Server, tenant: str, client_env: None) -> Recording:
    """AzureML Data Scientist on the workspace: allowed to call its endpoints keylessly."""
    return _credential(world, maas_server, tenant, DATA_SCIENTIST, world.ws_path(WS))


class Sent:
    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []

    def hook(self, request: PipelineRequest[Any]) -> None:
        self.headers.append({k.lower(): v for k, v in request.http_request.headers.items()})


def test_chat_completions_client_with_a_client_secret_credential(
    endpoint_uri: str, scientist: Recording, upstream: FakeUpstream
) -> None:
    sent = Sent()
    with ChatCompletionsClient(
        endpoint=endpoint_uri, credential=scientist, retry_total=0, raw_request_hook=sent.hook
    ) as client:
        answer = client.complete(messages=[UserMessage("Hello there")], max_tokens=8)
        assert answer.choices[0].message.content == FAKE_TEXT
        assert answer.usage.total_tokens > 0
        streamed = client.complete(messages=[UserMessage("Hello")], stream=True)
        text = "".join(u.choices[0].delta.content or "" for u in streamed if u.choices)
        assert text == FAKE_TEXT
        assert client.get_model_info().model_name == "keyless-chat"
    # the client asked for its default scope, and sent the token and nothing else
    assert set(scientist.scopes) == {("https://ml.azure.com/.default",)}
    for headers in sent.headers:
        assert "api-key" not in headers
        token = headers["authorization"].removeprefix("Bearer ")
        assert jwt.decode(token, options={"verify_signature": False})["aud"] == "https://ml.azure.com"
    assert upstream.requests[-1]["body"]["model"] == "up-model"


def test_the_cognitive_services_scope_works_too(endpoint_uri: str, scientist: Recording) -> None:
    scope = "https://cognitiveservices.azure.com/.default"
    with ChatCompletionsClient(
        endpoint=endpoint_uri, credential=scientist, credential_scopes=[scope], retry_total=0
    ) as client:
        assert client.complete(messages=[UserMessage("Hi")]).choices[0].message.content == FAKE_TEXT


def test_openai_with_a_token_from_the_credential(
    endpoint_uri: str, scientist: Recording, maas_server: Server
) -> None:
    token = scientist.get_token("https://ml.azure.com/.default").token
    with openai.OpenAI(
        base_url=endpoint_uri,
        api_key=token,
        max_retries=0,
        http_client=openai.DefaultHttpxClient(verify=str(maas_server.ca)),
    ) as client:
        answer = client.chat.completions.create(model="any", messages=[{"role": "user", "content": "Hi"}])
    assert answer.choices[0].message.content == FAKE_TEXT


def test_a_principal_without_the_data_action_gets_403_naming_it(
    world: Admin, maas_server: Server, tenant: str, endpoint_uri: str, client_env: None
) -> None:
    # Contributor on the subscription manages the endpoint but holds no data action
    contributor = _credential(
        world, maas_server, tenant, CONTRIBUTOR, f"/subscriptions/{SUB}/resourceGroups/{RG}"
    )
    client = ChatCompletionsClient(endpoint=endpoint_uri, credential=contributor, retry_total=0)
    with client, pytest.raises(HttpResponseError) as refused:
        client.complete(messages=[UserMessage("Hi")])
    assert refused.value.status_code == 403
    assert SCORE in str(refused.value) and "permission_denied" in str(refused.value)


def test_a_management_token_is_refused_with_401(
    endpoint_uri: str, scientist: Recording, maas_server: Server
) -> None:
    management = scientist.get_token("https://management.azure.com/.default").token

    class Management:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            return scientist.inner.get_token("https://management.azure.com/.default")

    client = ChatCompletionsClient(endpoint=endpoint_uri, credential=Management(), retry_total=0)
    with client, pytest.raises(ClientAuthenticationError) as refused:
        client.complete(messages=[UserMessage("Hi")])
    assert refused.value.status_code == 401 and "invalid_token" in str(refused.value)
    answer = httpx.post(
        f"{endpoint_uri}/chat/completions",
        json={"messages": [{"role": "user", "content": "Hi"}]},
        headers={"Authorization": f"Bearer {management}"},
        verify=str(maas_server.ca),
    )
    assert answer.status_code == 401
