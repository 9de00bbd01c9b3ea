"""`maas.sdk`'s public surface: exactly the names in `__all__`, and how the cost client and the
credential behave through them (over `httpx.MockTransport`, no server)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

import maas.sdk
from maas.sdk import (
    AccessToken,
    CostManagementClient,
    HttpResponseError,
    MaasClientError,
    MaasTokenCredential,
    QueryColumn,
    QueryResult,
    ServiceRequestError,
)

EXPECTED = {
    "AccessToken",
    "ArmClient",
    "CostManagementClient",
    "EndpointAuthKeys",
    "EndpointQuota",
    "HttpResponseError",
    "LROPoller",
    "MLClient",
    "MaasClientError",
    "MaasTokenCredential",
    "MarketplacePlan",
    "MarketplaceSubscription",
    "QueryColumn",
    "QueryOperations",
    "QueryResult",
    "QuotaClient",
    "QuotaOperations",
    "QuotaRequest",
    "QuotaRequestEvent",
    "QuotaRequestOperations",
    "ServerlessConnection",
    "ServerlessEndpoint",
    "ServiceRequestError",
    "TokenCredential",
    "ValidationError",
    "Workspace",
    "load_connection",
    "load_marketplace_subscription",
    "load_serverless_endpoint",
}
ANSWER = {
    "id": "/subscriptions/s1/providers/Microsoft.CostManagement/query/q1",
    "name": "q1",
    "type": "microsoft.costmanagement/Query",
    "properties": {
        "nextLink": None,
        "columns": [
            {"name": "PreTaxCost", "type": "Number"},
            {"name": "UsageDate", "type": "Number"},
            {"name": "Currency", "type": "String"},
        ],
        "rows": [[0.5, 20250301, "USD"]],
    },
}


def test_all_is_exactly_the_public_names() -> None:
    assert set(maas.sdk.__all__) == EXPECTED
    assert len(maas.sdk.__all__) == len(EXPECTED)
    for name in maas.sdk.__all__:
        assert getattr(maas.sdk, name).__module__.startswith("maas.sdk.")
    public = {n for n in vars(maas.sdk) if not n.startswith("_")} - {"annotations"}
    modules = {
        "arm",
        "client",
        "costs",
        "credentials",
        "entities",
        "errors",
        "loaders",
        "operations",
        "pollers",
        "quota",
    }
    assert public - modules <= EXPECTED


def test_the_credential_looks_like_azure_cores() -> None:
    credential = MaasTokenCredential(" tok-123 ")
    token = credential.get_token("https://management.azure.com/.default", tenant_id=None)
    assert isinstance(token, AccessToken)
    assert token.token == "tok-123"
    assert token.expires_on > time.time()
    assert "tok-123" not in repr(credential)
    with pytest.raises(ValueError, match="token is required"):
        MaasTokenCredential("  ")


def client(handler: Any) -> CostManagementClient:
    return CostManagementClient(
        MaasTokenCredential("tok"), "http://maas.test/", transport=httpx.MockTransport(handler)
    )


def test_query_usage_posts_the_definition_and_reads_the_result() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=ANSWER)

    definition = {"type": "Usage", "timeframe": "MonthToDate", "dataset": {"granularity": "Daily"}}
    with client(handler) as costs:
        result = costs.query.usage("subscriptions/s1/resourceGroups/my rg", definition)
    request = seen[0]
    assert request.method == "POST"
    assert (
        request.url.raw_path.split(b"?")[0]
        == b"/subscriptions/s1/resourceGroups/my%20rg/providers/Microsoft.CostManagement/query"
    )
    assert request.url.params["api-version"] == "2023-11-01"
    assert request.headers["Authorization"] == "Bearer tok"
    assert json.loads(request.content) == definition
    assert isinstance(result, QueryResult)
    assert result.columns == [
        QueryColumn("PreTaxCost", "Number"),
        QueryColumn("UsageDate", "Number"),
        QueryColumn("Currency", "String"),
    ]
    assert result.columns[0].name == "PreTaxCost" and result.columns[2].type == "String"
    assert result.rows == [[0.5, 20250301, "USD"]]
    assert result.next_link is None and result.name == "q1"
    assert result.as_dict() == {
        "id": ANSWER["id"],
        "name": "q1",
        "type": "microsoft.costmanagement/Query",
        "next_link": None,
        "columns": ANSWER["properties"]["columns"],  # type: ignore[index]
        "rows": [[0.5, 20250301, "USD"]],
    }


def test_an_empty_answer_is_an_empty_result() -> None:
    with client(lambda request: httpx.Response(204)) as costs:
        result = costs.query.usage("/subscriptions/s1", {})
    assert (result.columns, result.rows, result.next_link) == ([], [], None)


def test_arm_errors_raise_with_their_code_message_and_target() -> None:
    envelope = {"error": {"code": "AuthorizationFailed", "message": "no", "target": "scope"}}
    with (
        client(lambda request: httpx.Response(403, json=envelope)) as costs,
        pytest.raises(HttpResponseError) as caught,
    ):
        costs.query.usage("/subscriptions/s1", {})
    error = caught.value
    assert (error.status_code, error.code, error.message, error.target) == (
        403,
        "AuthorizationFailed",
        "no",
        "scope",
    )
    assert str(error) == "(AuthorizationFailed) no"
    assert isinstance(error, MaasClientError)
    with (
        client(lambda request: httpx.Response(502, text="bad gateway")) as costs,
        pytest.raises(HttpResponseError) as caught,
    ):
        costs.query.usage("/subscriptions/s1", {})
    assert (caught.value.code, caught.value.message) == ("Http502", "bad gateway")


def test_no_answer_is_a_service_request_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with (
        client(handler) as costs,
        pytest.raises(ServiceRequestError, match=r"cannot reach MaaS at http://maas\.test"),
    ):
        costs.query.usage("/subscriptions/s1", {})
