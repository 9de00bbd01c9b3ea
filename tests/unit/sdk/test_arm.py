"""`ArmClient` over `httpx.MockTransport` (no server): per-call api-versions, paging, the three
ways ARM reports a long-running operation, and errors with their details."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from maas.sdk import ArmClient, HttpResponseError, MaasTokenCredential

Handler = Callable[[httpx.Request], httpx.Response]


def arm(handler: Handler) -> ArmClient:
    return ArmClient(
        MaasTokenCredential("tok"),
        "http://maas.test",
        polling_interval=0,
        transport=httpx.MockTransport(handler),
    )


def test_a_request_sends_its_own_api_version_or_the_clients() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"name": "rg"})

    client = arm(handler)
    assert client.request("GET", "/subscriptions/s1/resourceGroups/rg") == {"name": "rg"}
    client.request("GET", "/subscriptions/s1/resources", api_version="2021-04-01")
    client.request("GET", "/x?api-version=2022-04-01")
    assert [r.url.params["api-version"] for r in seen] == ["2024-01-01-preview", "2021-04-01", "2022-04-01"]
    assert seen[0].headers["Authorization"] == "Bearer tok"


def test_list_follows_next_links_on_the_configured_server() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if "$skiptoken" in request.url.params:
            return httpx.Response(200, json={"value": [{"name": "b"}]})
        link = "https://elsewhere.example/subscriptions/s1/resources?api-version=2021-04-01&$skiptoken=x"
        return httpx.Response(200, json={"value": [{"name": "a"}], "nextLink": link})

    items = list(arm(handler).list("/subscriptions/s1/resources", api_version="2021-04-01"))
    assert [item["name"] for item in items] == ["a", "b"]
    assert all(url.startswith("http://maas.test/") for url in seen)


def test_begin_delete_polls_the_async_operation_or_a_202_location() -> None:
    polls = {"status": 0, "location": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE" and request.url.path == "/a":
            return httpx.Response(202, headers={"Azure-AsyncOperation": "http://maas.test/ops/1"})
        if request.method == "DELETE":
            return httpx.Response(202, headers={"Location": "http://maas.test/results/1"})
        if request.url.path == "/ops/1":
            polls["status"] += 1
            return httpx.Response(200, json={"status": "Succeeded" if polls["status"] > 1 else "InProgress"})
        polls["location"] += 1
        return httpx.Response(202 if polls["location"] < 2 else 204)

    client = arm(handler)
    assert client.begin_delete("/a").result() is None
    assert client.begin_delete("/b").result() is None
    assert polls == {"status": 2, "location": 2}


def test_a_delete_answered_at_once_is_done() -> None:
    poller = arm(lambda request: httpx.Response(204)).begin_delete("/a")
    assert poller.done() and poller.result() is None


def test_create_polls_the_provisioning_state_and_reports_its_error() -> None:
    gets = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal gets
        if request.method == "PUT":
            return httpx.Response(201, json={"name": "d", "properties": {"provisioningState": "Accepted"}})
        gets += 1
        state = "Running" if gets < 2 else "Failed"
        error = {
            "code": "DeploymentFailed",
            "message": "It failed.",
            "details": [{"code": "InvalidTemplate", "message": "bad", "target": "resources[0]"}],
        }
        return httpx.Response(
            200, json={"name": "d", "properties": {"provisioningState": state, "error": error}}
        )

    poller = arm(handler).begin_create_or_update("/d", {"properties": {}})
    with pytest.raises(HttpResponseError) as caught:
        poller.result()
    assert caught.value.code == "DeploymentFailed"
    [detail] = caught.value.details
    assert (detail.code, detail.message, detail.target) == ("InvalidTemplate", "bad", "resources[0]")
    assert gets == 2


def test_create_that_succeeds_returns_the_provisioned_resource() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        state = "Accepted" if request.method == "PUT" else "Succeeded"
        return httpx.Response(200, json={"name": "d", "properties": {"provisioningState": state}})

    resource = arm(handler).begin_create_or_update("/d", {}).result()
    assert resource["properties"]["provisioningState"] == "Succeeded"


def test_error_details_are_read_from_the_envelope() -> None:
    body = {
        "error": {
            "code": "ValidationFailed",
            "message": "Two fields are wrong.",
            "target": "properties",
            "details": [{"code": "Missing", "message": "name"}, "not an object"],
        }
    }
    with pytest.raises(HttpResponseError) as caught:
        arm(lambda request: httpx.Response(400, json=body)).request("PUT", "/x", {})
    error = caught.value
    assert (error.code, error.target, error.status_code) == ("ValidationFailed", "properties", 400)
    assert [(d.code, d.message, d.target) for d in error.error.details] == [("Missing", "name", None)]
