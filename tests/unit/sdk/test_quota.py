"""`QuotaClient` over `httpx.MockTransport` (no server): the paths and bodies of each call, the
status filter and paging of a listing, local checks, and the answer read into `QuotaRequest`."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from maas.sdk import HttpResponseError, MaasTokenCredential, QuotaClient, ValidationError

WS = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
EP = WS + "/serverlessEndpoints/chat"
RID = EP + "/providers/Microsoft.MaaS/quotaRequests/r1"


def answer(status: str = "Pending", name: str = "r1") -> dict[str, Any]:
    return {
        "id": f"{EP}/providers/Microsoft.MaaS/quotaRequests/{name}",
        "name": name,
        "type": "Microsoft.MaaS/quotaRequests",
        "properties": {
            "endpointId": EP,
            "limits": {"tokensPerMinute": 500000, "requestsPerMinute": None},
            "reason": "launch",
            "status": status,
            "provisioningState": "InProgress",
            "message": "",
            "requestSubmitTime": "2026-01-01T00:00:00.000000Z",
            "requestedBy": "dev",
            "previousLimits": {"tokensPerMinute": 200000, "requestsPerMinute": 1000},
            "appliedLimits": None,
            "history": [
                {"status": "Pending", "at": "2026-01-01T00:00:00.000000Z", "by": "dev", "message": "x"}
            ],
        },
    }


def client(seen: list[httpx.Request], replies: list[httpx.Response]) -> QuotaClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return replies.pop(0)

    return QuotaClient(MaasTokenCredential("tok"), "http://maas.test", transport=httpx.MockTransport(handler))


def test_create_puts_the_limits_and_reason_under_the_endpoint() -> None:
    seen: list[httpx.Request] = []
    with client(seen, [httpx.Response(201, json=answer())]) as quota:
        filed = quota.quota_requests.create(EP, tokens_per_minute=500_000, reason="launch", name="r1")
    [request] = seen
    assert (request.method, request.url.path) == ("PUT", RID)
    assert json.loads(request.content) == {
        "properties": {"limits": {"tokensPerMinute": 500000}, "reason": "launch"}
    }
    assert request.headers["Authorization"] == "Bearer tok"
    assert (filed.name, filed.status, filed.tokens_per_minute, filed.requests_per_minute) == (
        "r1",
        "Pending",
        500000,
        None,
    )
    assert filed.history[0].by == "dev" and filed.previous_limits["tokensPerMinute"] == 200000
    assert filed.serialize() == answer()
    assert filed.as_dict()["endpoint_id"] == EP


def test_a_name_is_made_when_none_is_given_and_local_checks_come_first() -> None:
    seen: list[httpx.Request] = []
    with client(seen, [httpx.Response(201, json=answer(name="x"))]) as quota:
        quota.quota_requests.create(EP, requests_per_minute=5000, reason="r")
        with pytest.raises(ValidationError):
            quota.quota_requests.create(EP, reason="r")
        with pytest.raises(ValidationError):
            quota.quota_requests.create(EP, tokens_per_minute=5, reason="  ")
        with pytest.raises(ValidationError):
            quota.quota_requests.get("")
    assert len(seen) == 1
    name = seen[0].url.path.rsplit("/", 1)[1]
    assert len(name) == 36 and name.count("-") == 4


def test_list_filters_by_status_and_follows_next_links() -> None:
    seen: list[httpx.Request] = []
    first = {
        "value": [answer(name="a")],
        "nextLink": "http://maas.test/providers/Microsoft.MaaS/quotaRequests?api-version=2024-01-01-preview&x=1",
    }
    second = {"value": [answer(name="b")]}
    with client(seen, [httpx.Response(200, json=first), httpx.Response(200, json=second)]) as quota:
        names = [r.name for r in quota.quota_requests.list(status="Pending")]
    assert names == ["a", "b"]
    assert seen[0].url.path == "/providers/Microsoft.MaaS/quotaRequests"
    assert seen[0].url.params["$filter"] == "status eq 'Pending'"
    assert seen[0].url.params["api-version"] == "2024-01-01-preview"
    assert seen[1].url.params["x"] == "1"


def test_decisions_post_their_message_and_errors_are_the_sdks() -> None:
    seen: list[httpx.Request] = []
    refused = httpx.Response(
        409,
        json={"error": {"code": "QuotaRequestNotPending", "message": "The quota request 'r1' is Approved."}},
    )
    with client(seen, [httpx.Response(200, json=answer("Approved")), refused]) as quota:
        assert quota.quota_requests.approve(RID, message="granted").status == "Approved"
        with pytest.raises(HttpResponseError) as info:
            quota.quota_requests.deny(RID)
    assert (seen[0].method, seen[0].url.path) == ("POST", RID + "/approve")
    assert json.loads(seen[0].content) == {"message": "granted"}
    assert seen[1].url.path == RID + "/deny" and seen[1].content == b""
    assert info.value.status_code == 409 and info.value.error.code == "QuotaRequestNotPending"
