"""`MLClient`'s transport and pollers over `httpx.MockTransport` (no server): the token and
api-version it sends, paging, operation URLs kept on the configured server, failed operations,
and the defaults it reads from the environment."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from maas.sdk import (
    HttpResponseError,
    LROPoller,
    MaasClientError,
    MaasTokenCredential,
    MLClient,
    ServerlessEndpoint,
    ServiceRequestError,
)

WS = "/subscriptions/s1/resourceGroups/rg%201/providers/Microsoft.MachineLearningServices/workspaces/ws1"
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, **kwargs: object) -> MLClient:
    return MLClient(
        MaasTokenCredential("tok"),
        "s1",
        "rg 1",
        "ws1",
        base_url="http://maas.test",
        polling_interval=0,
        transport=httpx.MockTransport(handler),
        **kwargs,  # type: ignore[arg-type]
    )


def endpoint_body(state: str = "Succeeded") -> dict[str, object]:
    return {"name": "ep", "properties": {"modelSettings": {"modelId": "m"}, "provisioningState": state}}


def test_requests_carry_the_token_and_api_version_and_follow_next_links() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if "$skiptoken" in request.url.params:
            return httpx.Response(200, json={"value": [{"name": "b", "properties": {}}]})
        link = (
            f"https://elsewhere.example{WS}/serverlessEndpoints?api-version=2024-01-01-preview&$skiptoken=x"
        )
        return httpx.Response(200, json={"value": [{"name": "a", "properties": {}}], "nextLink": link})

    names = [e.name for e in client(handler).serverless_endpoints.list()]
    assert names == ["a", "b"]
    first, second = seen
    assert first.url.raw_path.split(b"?")[0] == (WS + "/serverlessEndpoints").encode()
    assert first.url.params["api-version"] == "2024-01-01-preview"
    assert first.headers["Authorization"] == "Bearer tok"
    # The nextLink is followed on the configured server only, with its own query kept.
    assert second.url.host == "maas.test"
    assert second.url.params["$skiptoken"] == "x"
    assert second.url.params.get_list("api-version") == ["2024-01-01-preview"]


def test_an_endpoint_create_polls_the_async_operation_then_reads_the_endpoint() -> None:
    statuses = iter(["InProgress", "InProgress", "Succeeded"])
    polls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            op = "https://public.example/subscriptions/s1/providers/x/locations/eastus2/mfeOperationsStatus/op1"
            headers = {"Azure-AsyncOperation": op + "?api-version=2024-01-01-preview", "Retry-After": "5"}
            return httpx.Response(201, json=endpoint_body("Creating"), headers=headers)
        if "mfeOperationsStatus" in request.url.path:
            polls.append(str(request.url))
            return httpx.Response(200, json={"status": next(statuses)}, headers={"Retry-After": "1"})
        return httpx.Response(200, json=endpoint_body())

    poller = client(handler).serverless_endpoints.begin_create_or_update(ServerlessEndpoint("ep", "m"))
    assert isinstance(poller, LROPoller)
    assert poller.status() == "InProgress" and not poller.done()
    assert poller.result().provisioning_state == "succeeded"
    assert poller.done() and poller.status() == "Succeeded"
    assert len(polls) == 3 and all(url.startswith("http://maas.test/subscriptions/s1/") for url in polls)


def test_a_failed_operation_raises_its_error_from_result() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(
                202, headers={"Azure-AsyncOperation": "/ops/1", "Location": "/ops/1/result"}
            )
        error = {"code": "DeploymentFailed", "message": "the pool could not start"}
        return httpx.Response(200, json={"status": "Failed", "error": error})

    poller = client(handler).serverless_endpoints.begin_delete("ep")
    poller.wait()
    assert poller.done() and poller.status() == "Failed"
    with pytest.raises(HttpResponseError) as caught:
        poller.result()
    assert (caught.value.code, caught.value.message) == ("DeploymentFailed", "the pool could not start")


def test_wait_gives_up_at_its_timeout_and_result_then_says_so() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(202, headers={"Azure-AsyncOperation": "/ops/1"})
        return httpx.Response(200, json={"status": "InProgress"})

    poller = client(handler).serverless_endpoints.begin_delete("ep")
    poller.wait(timeout=0)
    assert poller.status() == "InProgress"
    with pytest.raises(MaasClientError, match="still in progress"):
        poller.result(timeout=0)


def test_arm_errors_and_unreachable_servers() -> None:
    envelope = {
        "error": {"code": "ResourceNotFound", "message": "Workspace 'ws1' was not found.", "target": None}
    }
    with pytest.raises(HttpResponseError) as caught:
        client(lambda request: httpx.Response(404, json=envelope)).workspaces.get()
    assert (caught.value.status_code, caught.value.error, caught.value.error.code) == (
        404,
        "ResourceNotFound",
        "ResourceNotFound",
    )
    assert caught.value.error.message == "Workspace 'ws1' was not found."

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ServiceRequestError, match=r"cannot reach MaaS at http://maas\.test"):
        client(refuse).marketplace_subscriptions.get("x")


def test_defaults_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAAS_URL", "http://maas.example:9000/")
    monkeypatch.delenv("MAAS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    ml = MLClient(MaasTokenCredential("t"), "sub")
    assert ml.base_url == "http://maas.example:9000"
    assert (ml.subscription_id, ml.resource_group_name, ml.workspace_name) == ("sub", None, None)
    with pytest.raises(MaasClientError, match="resource_group_name"):
        ml.workspaces.list()
    with pytest.raises(MaasClientError, match="workspace_name"):
        MLClient(MaasTokenCredential("t"), "sub", "rg").serverless_endpoints.list()
    monkeypatch.delenv("MAAS_URL")
    assert MLClient(MaasTokenCredential("t"), "sub").base_url == "http://127.0.0.1:8000"
