"""Quota increase requests (issue 14 item 10), in-process app on SQLite and PostgreSQL:

- a workspace Contributor files a request; an operator (Owner at `/`) approves it; the limits
  reach the endpoint in the same transaction and the gateway admits calls beyond the old limit;
- deny with a message, cancel, one pending request per endpoint (409), a repeated PUT;
- RBAC: Reader reads but cannot file, Contributor files but cannot approve or deny;
- every change of state is in the request's history and in the activity log;
- bad input is a 400 in the ARM envelope; deleting the endpoint cancels its pending request;
- listings at the root, account, group, workspace and endpoint, filtered by status, paged, and
  holding only what the caller may read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from support.api import FREE_MODEL, Api, World
from support.fake_upstream import FakeUpstream, fake_upstream
from support.gateway import UPSTREAM_MODEL, Deployed, deploy, put_model, upstream_artifact

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
ML = "Microsoft.MachineLearningServices"
FILE = f"{ML}/workspaces/serverlessEndpoints/quotaRequests/write"
CANCEL = f"{ML}/workspaces/serverlessEndpoints/quotaRequests/cancel/action"
APPROVE = "Microsoft.MaaS/quotaRequests/approve/action"
DENY = "Microsoft.MaaS/quotaRequests/deny/action"
CHAT = [{"role": "user", "content": "hi"}]
REQUESTS = "/providers/Microsoft.MaaS/quotaRequests"


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream() as running:
        yield running


@pytest.fixture
def world(api: Api) -> World:
    return api.world()  # with the catalog's free model, for endpoints that are never called


def request_path(world: World, endpoint: str, name: str) -> str:
    return f"{world.endpoint(endpoint)}{REQUESTS}/{name}"


def file(api: Api, world: World, endpoint: str, name: str, reason: str = "launch", **limits: Any) -> Any:
    body = {"properties": {"limits": limits, "reason": reason}}
    return api.put(request_path(world, endpoint, name), body)


def member(api: Api, name: str, scope: str, role: str) -> Api:
    principal_id, token = api.principal(name)
    api.ok(api.assign(scope, principal_id, role), 201)
    return api.as_token(token)


def endpoint(api: Api, world: World, name: str, model: str = FREE_MODEL) -> str:
    created = api.create_endpoint(world, name, model)
    assert created.status_code == 201, created.text
    assert api.wait_operation(created)["status"] == "Succeeded"
    return world.endpoint(name)


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    found: dict[str, Any] = response.json()["error"]
    assert found["code"] and found["message"]
    return found


def events(api: Api, world: World) -> list[tuple[str, str, str]]:
    """(action, resource id, caller) of the account's activity log, oldest first."""
    since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    listed = api.ok(
        api.get(
            f"{world.sub_path}/providers/Microsoft.Insights/eventtypes/management/values",
            params={"$filter": f"eventTimestamp ge '{since}'", "$top": "1000"},
        ),
        200,
    )["value"]
    return [(e["operationName"]["value"], e["resourceId"], e["caller"]) for e in reversed(listed)]


def chat(api: Api, deployed: Deployed) -> httpx.Response:
    return api.client.post(
        f"{deployed.route}/chat/completions", json={"messages": CHAT}, headers=deployed.headers()
    )


def test_an_approved_request_raises_the_limit_the_gateway_enforces(api: Api, upstream: FakeUpstream) -> None:
    world = api.world(catalog=False)
    put_model(api, UPSTREAM_MODEL, upstream_artifact(upstream.url))
    deployed = deploy(api, world, "chat", UPSTREAM_MODEL)
    quota = world.endpoint("chat") + "/providers/Microsoft.MaaS/quotas/default"
    api.ok(api.put(quota, {"properties": {"requestsPerMinute": 2, "reason": "small"}}), 200)
    contributor = member(api, "dev", world.ws_path, CONTRIBUTOR)

    filed = file(contributor, world, "chat", "more", "demo day", requestsPerMinute=4)
    assert filed.status_code == 201, filed.text
    props = filed.json()["properties"]
    assert (props["status"], props["provisioningState"], props["requestedBy"]) == (
        "Pending",
        "InProgress",
        "dev",
    )
    assert props["limits"] == {"tokensPerMinute": None, "requestsPerMinute": 4}
    assert props["previousLimits"] == {"tokensPerMinute": 200000, "requestsPerMinute": 2}
    assert props["appliedLimits"] is None and props["reason"] == "demo day"
    assert [e["status"] for e in props["history"]] == ["Pending"]
    assert filed.json()["id"].lower() == request_path(world, "chat", "more").lower()
    assert filed.json()["type"] == "Microsoft.MaaS/quotaRequests"

    assert [chat(api, deployed).status_code for _ in range(3)] == [200, 200, 429]
    # the requester sees it pending in the listings; the operator's queue holds it
    mine = contributor.ok(contributor.get(world.endpoint("chat") + REQUESTS), 200)["value"]
    assert [r["name"] for r in mine] == ["more"]
    queue = api.ok(api.get(REQUESTS, params={"$filter": "status eq 'Pending'"}), 200)["value"]
    assert [r["name"] for r in queue] == ["more"]

    approved = api.ok(api.post(request_path(world, "chat", "more") + "/approve", {"message": "enjoy"}), 200)
    props = approved["properties"]
    assert (props["status"], props["provisioningState"], props["message"]) == (
        "Approved",
        "Succeeded",
        "enjoy",
    )
    assert props["appliedLimits"] == {"tokensPerMinute": 200000, "requestsPerMinute": 4}
    assert [(e["status"], e["by"], e["message"]) for e in props["history"]] == [
        ("Pending", "dev", "demo day"),
        ("Approved", "admin", "enjoy"),
    ]
    # the gateway enforces the new limit at once: two more calls fit the minute, a fifth does not
    statuses = [chat(api, deployed) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[0].headers["x-ratelimit-limit-requests"] == "4"
    # the endpoint's quota shows the limit and the change, with the request named as its reason
    shown = api.ok(contributor.get(quota), 200)["properties"]
    assert (shown["requestsPerMinute"], shown["tokensPerMinute"]) == (4, 200000)
    assert shown["history"][-1]["reason"] == "quota request more: demo day"
    # both see the status; the queue is empty
    assert contributor.ok(contributor.get(request_path(world, "chat", "more")), 200)["properties"][
        "status"
    ] == ("Approved")
    assert api.ok(api.get(REQUESTS, params={"$filter": "status eq 'pending'"}), 200)["value"] == []
    # a decided request is decided
    again = error(api.post(request_path(world, "chat", "more") + "/approve"), 409)
    assert again["code"] == "QuotaRequestNotPending" and "Approved" in again["message"]
    assert (
        error(api.post(request_path(world, "chat", "more") + "/deny"), 409)["code"]
        == "QuotaRequestNotPending"
    )
    assert error(contributor.post(request_path(world, "chat", "more") + "/cancel"), 409)["code"] == (
        "QuotaRequestNotPending"
    )

    logged = events(api, world)
    rid = filed.json()["id"]
    assert (FILE, rid, "dev") in logged
    assert (APPROVE, rid, "admin") in logged
    assert ("Microsoft.MaaS/quotas/write", quota, "admin") in logged
    # the quota change and the approval were one transaction: the change comes right before it
    actions = [action for action, _, _ in logged]
    assert actions[actions.index(APPROVE) - 1] == "Microsoft.MaaS/quotas/write"


def test_deny_with_a_message_cancel_and_one_pending_request_per_endpoint(api: Api, world: World) -> None:
    endpoint(api, world, "ep")
    contributor = member(api, "dev", world.ws_path, CONTRIBUTOR)
    first = contributor.ok(file(contributor, world, "ep", "r1", "batch job", tokensPerMinute=400_000), 201)
    # the same PUT again is a retry: 200, nothing new
    repeated = file(contributor, world, "ep", "r1", "batch job", tokensPerMinute=400_000)
    assert repeated.status_code == 200 and repeated.json() == first
    changed = error(file(contributor, world, "ep", "r1", "other", tokensPerMinute=400_000), 409)
    assert changed["code"] == "QuotaRequestExists"
    second = error(file(contributor, world, "ep", "r2", "more", tokensPerMinute=300_000), 409)
    assert second["code"] == "QuotaRequestPending"
    assert "'r1'" in second["message"] and "cancel" in second["message"]

    denied = api.ok(
        api.post(request_path(world, "ep", "r1") + "/deny", {"message": "Use a second endpoint."}), 200
    )["properties"]
    assert (denied["status"], denied["provisioningState"]) == ("Denied", "Failed")
    assert denied["message"] == "Use a second endpoint." and denied["appliedLimits"] is None
    shown = contributor.ok(contributor.get(request_path(world, "ep", "r1")), 200)["properties"]
    assert shown["message"] == "Use a second endpoint."
    quota = api.ok(api.get(world.endpoint("ep") + "/providers/Microsoft.MaaS/quotas/default"), 200)
    assert quota["properties"]["tokensPerMinute"] == 200000 and quota["properties"]["isDefault"]
    assert (
        error(api.post(request_path(world, "ep", "r1") + "/approve"), 409)["code"] == "QuotaRequestNotPending"
    )

    # denied, the endpoint may take a new request; its requester may cancel it
    contributor.ok(file(contributor, world, "ep", "r2", "retry", requestsPerMinute=2000), 201)
    cancelled = contributor.ok(contributor.post(request_path(world, "ep", "r2") + "/cancel"), 200)[
        "properties"
    ]
    assert (cancelled["status"], cancelled["provisioningState"]) == ("Cancelled", "Canceled")
    assert [e["status"] for e in cancelled["history"]] == ["Pending", "Cancelled"]
    assert (
        error(api.post(request_path(world, "ep", "r2") + "/approve"), 409)["code"] == "QuotaRequestNotPending"
    )
    # and file the next one
    contributor.ok(file(contributor, world, "ep", "r3", "again", requestsPerMinute=2000), 201)
    statuses = {
        r["name"]: r["properties"]["status"]
        for r in contributor.ok(contributor.get(world.endpoint("ep") + REQUESTS), 200)["value"]
    }
    assert statuses == {"r1": "Denied", "r2": "Cancelled", "r3": "Pending"}
    logged = {(action, rid.rsplit("/", 1)[1]) for action, rid, _ in events(api, world)}
    assert {(FILE, "r1"), (DENY, "r1"), (FILE, "r2"), (CANCEL, "r2"), (FILE, "r3")} <= logged


def test_who_may_file_read_cancel_and_decide(api: Api, world: World) -> None:
    endpoint(api, world, "ep")
    reader = member(api, "reader", world.ws_path, READER)
    contributor = member(api, "dev", world.ws_path, CONTRIBUTOR)
    sub_owner = member(api, "sub-owner", world.sub_path, OWNER)
    stranger = api.as_token(api.principal("stranger")[1])

    refused = error(file(reader, world, "ep", "r1", tokensPerMinute=300_000), 403)
    assert refused["code"] == "AuthorizationFailed" and FILE in refused["message"]
    contributor.ok(file(contributor, world, "ep", "r1", tokensPerMinute=300_000), 201)
    assert reader.ok(reader.get(request_path(world, "ep", "r1")), 200)["properties"]["status"] == "Pending"
    assert [r["name"] for r in reader.ok(reader.get(world.endpoint("ep") + REQUESTS), 200)["value"]] == ["r1"]
    assert CANCEL in error(reader.post(request_path(world, "ep", "r1") + "/cancel"), 403)["message"]
    assert error(stranger.get(request_path(world, "ep", "r1")), 403)["code"] == "AuthorizationFailed"
    assert error(stranger.get(world.endpoint("ep") + REQUESTS), 403)["code"] == "AuthorizationFailed"
    # deciding is the platform operator's: no Owner or Contributor below `/` may
    for who in (contributor, sub_owner):
        assert APPROVE in error(who.post(request_path(world, "ep", "r1") + "/approve"), 403)["message"]
        assert DENY in error(who.post(request_path(world, "ep", "r1") + "/deny"), 403)["message"]
    # a stranger's attempt on a name that does not exist is refused before it is looked up
    assert error(stranger.post(request_path(world, "ep", "nope") + "/approve"), 403)["code"] == (
        "AuthorizationFailed"
    )
    assert error(api.post(request_path(world, "ep", "nope") + "/approve"), 404)["code"] == "ResourceNotFound"
    assert error(api.get(request_path(world, "ep", "nope")), 404)["code"] == "ResourceNotFound"
    # an Owner at the root scope (the admin) decides
    assert (
        api.ok(api.post(request_path(world, "ep", "r1") + "/approve"), 200)["properties"]["status"]
        == "Approved"
    )


def test_deleting_the_endpoint_cancels_its_pending_request(api: Api, world: World) -> None:
    endpoint(api, world, "ep")
    api.ok(file(api, world, "ep", "r1", tokensPerMinute=300_000), 201)
    deleting = api.delete(world.endpoint("ep"))
    assert deleting.status_code == 202, deleting.text
    found = api.ok(api.get(request_path(world, "ep", "r1")), 200)["properties"]
    assert (found["status"], found["message"]) == ("Cancelled", "The endpoint was deleted.")
    assert (
        error(api.post(request_path(world, "ep", "r1") + "/approve"), 409)["code"] == "QuotaRequestNotPending"
    )
    refused = file(api, world, "ep", "r2", tokensPerMinute=300_000)
    assert refused.status_code in (404, 409), refused.text  # deleting (409), then gone (404)
    api.wait_operation(deleting)
    assert error(file(api, world, "ep", "r2", tokensPerMinute=300_000), 404)["code"] == "ResourceNotFound"
    # the request stays in the workspace's history
    listed = api.ok(api.get(world.ws_path + REQUESTS), 200)["value"]
    assert [(r["name"], r["properties"]["status"]) for r in listed] == [("r1", "Cancelled")]
    assert (CANCEL, request_path(world, "ep", "r1"), "admin") in events(api, world)


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"properties": {"limits": {"tokensPerMinute": 300000}}}, "properties.reason"),
        ({"properties": {"limits": {"tokensPerMinute": 300000}, "reason": ""}}, "properties.reason"),
        ({"properties": {"limits": {"tokensPerMinute": 300000}, "reason": "   "}}, "properties.reason"),
        ({"properties": {"limits": {"tokensPerMinute": 300000}, "reason": "x" * 1001}}, "properties.reason"),
        ({"properties": {"limits": {}, "reason": "r"}}, "properties.limits"),
        ({"properties": {"reason": "r"}}, "properties.limits"),
        (
            {"properties": {"limits": {"tokensPerMinute": 0}, "reason": "r"}},
            "properties.limits.tokensPerMinute",
        ),
        (
            {"properties": {"limits": {"tokensPerMinute": -5}, "reason": "r"}},
            "properties.limits.tokensPerMinute",
        ),
        (
            {"properties": {"limits": {"tokensPerMinute": "500000"}, "reason": "r"}},
            "properties.limits.tokensPerMinute",
        ),
        (
            {"properties": {"limits": {"tokensPerMinute": 1.5}, "reason": "r"}},
            "properties.limits.tokensPerMinute",
        ),
        (
            {"properties": {"limits": {"tokensPerMinute": True}, "reason": "r"}},
            "properties.limits.tokensPerMinute",
        ),
        (
            {"properties": {"limits": {"requestsPerMinute": 10**10}, "reason": "r"}},
            "properties.limits.requestsPerMinute",
        ),
        ({"properties": {"limits": {"tokens": 5}, "reason": "r"}}, "properties.limits.tokens"),
        (
            {"properties": {"limits": {"tokensPerMinute": 100}, "reason": "r"}},
            "properties.limits.tokensPerMinute",
        ),
        (
            {"properties": {"limits": {"requestsPerMinute": 1000}, "reason": "r"}},
            "properties.limits.requestsPerMinute",
        ),
        ({"properties": "nope"}, "properties"),
    ],
)
def test_bad_requests_are_400_in_the_arm_envelope(
    api: Api, world: World, body: dict[str, Any], target: str
) -> None:
    endpoint(api, world, "ep")
    found = error(api.put(request_path(world, "ep", "r1"), body), 400)
    assert found["target"] == target, found
    assert api.ok(api.get(world.endpoint("ep") + REQUESTS), 200)["value"] == []


def test_bad_names_filters_pages_and_messages_are_400(api: Api, world: World) -> None:
    endpoint(api, world, "ep")
    good = {"properties": {"limits": {"tokensPerMinute": 300000}, "reason": "r"}}
    assert error(api.put(request_path(world, "ep", "bad.name"), good), 400)["code"] == "InvalidResourceName"
    api.ok(api.put(request_path(world, "ep", "r1"), good), 201)
    for params in (
        {"$filter": "status eq 'Maybe'"},
        {"$filter": "name eq 'r1'"},
        {"$skiptoken": "garbage"},
        {"$top": "0"},
    ):
        assert error(api.get(REQUESTS, params=params), 400)["code"], params
    too_long = error(api.post(request_path(world, "ep", "r1") + "/deny", {"message": "m" * 1001}), 400)
    assert too_long["target"] == "message"
    assert (
        error(api.post(request_path(world, "ep", "r1") + "/deny", {"reason": "x"}), 400)["target"] == "reason"
    )
    not_json = api.client.post(
        request_path(world, "ep", "r1") + "/deny",
        content=b"{nope",
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )
    assert error(not_json, 400)["code"]
    # none of it changed the request
    assert api.ok(api.get(request_path(world, "ep", "r1")), 200)["properties"]["status"] == "Pending"


def test_listings_hold_what_the_caller_may_read_at_each_scope_and_page(api: Api) -> None:
    api.catalog()
    here = api.world(World(rg="rg-a", ws="ws-a"), catalog=False)
    there = api.world(World(rg="rg-b", ws="ws-b"), catalog=False)
    for w, names in ((here, ("a1", "a2", "a3")), (there, ("b1",))):
        for name in names:
            model = f"azureml://registries/local/models/model-{name}"  # one endpoint per model and workspace
            put_model(api, model, upstream_artifact("http://127.0.0.1:9/v1"))
            endpoint(api, w, name, model)
            api.ok(file(api, w, name, f"{name}-req", tokensPerMinute=300_000), 201)
    api.ok(api.post(request_path(here, "a1", "a1-req") + "/deny", {"message": "no"}), 200)
    dev = member(api, "dev", here.ws_path, CONTRIBUTOR)

    def names(who: Api, path: str, **params: str) -> list[str]:
        found = who.ok(who.get(path, params=params), 200)
        return [r["name"] for r in found["value"]]

    everything = ["b1-req", "a3-req", "a2-req", "a1-req"]  # newest first
    assert names(api, REQUESTS) == everything
    assert names(api, here.sub_path + REQUESTS) == everything
    assert names(api, here.rg_path + REQUESTS) == ["a3-req", "a2-req", "a1-req"]
    assert names(api, there.ws_path + REQUESTS) == ["b1-req"]
    assert names(api, here.endpoint("a2") + REQUESTS) == ["a2-req"]
    assert names(api, here.rg_path + REQUESTS, **{"$filter": "status eq 'Denied'"}) == ["a1-req"]
    # a workspace's Contributor sees that workspace's requests, at any wider scope
    assert names(dev, REQUESTS) == ["a3-req", "a2-req", "a1-req"]
    assert names(dev, here.sub_path + REQUESTS, **{"$filter": "status eq 'Pending'"}) == ["a3-req", "a2-req"]
    assert names(dev, there.rg_path + REQUESTS) == []
    assert error(api.get(f"{here.sub_path}/resourceGroups/nope{REQUESTS}"), 404)["code"] == "ResourceNotFound"
    # pages of two, by nextLink
    seen: list[str] = []
    page = api.ok(api.get(REQUESTS, params={"$top": "2"}), 200)
    while True:
        seen += [r["name"] for r in page["value"]]
        if not page.get("nextLink"):
            break
        link = page["nextLink"]  # it carries its own query ($top, $skiptoken, api-version)
        page = api.ok(api.client.get(link, headers={"Authorization": f"Bearer {api.token}"}), 200)
    assert seen == everything
