"""The activity log (issue 13 item 7): every mutation and every refused attempt is recorded with
its caller, correlation id and client address, and listed as Azure Monitor's
`eventtypes/management/values`, filtered by time, resource group, resource, correlation id and
caller; the filter's rules, RBAC on the listing, paging and the retention prune."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from maas.controlplane.domain.activity import Actor, RequestInfo
from maas.controlplane.services import activity
from maas.controlplane.services.context import Services
from maas.controlplane.store.activity import ActivityLog
from maas.core.settings import Settings
from maas.server.app import create_server_app
from maas.server.bootstrap import prepare
from support.api import ML, Api, World

VALUES = "/providers/Microsoft.Insights/eventtypes/management/values"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


def _since(minutes: int = 10) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _events(api: Api, world: World, *clauses: str, **params: Any) -> list[dict[str, Any]]:
    text = " and ".join((f"eventTimestamp ge '{_since()}'", *clauses))
    body = api.ok(api.get(world.sub_path + VALUES, params={"$filter": text, **params}), 200)
    return list(body["value"])


def test_a_mutation_is_recorded_with_its_correlation_id_caller_and_address(api: Api) -> None:
    world = api.world(catalog=False)
    response = api.put(
        f"{world.rg_path}/providers/{ML}/workspaces/ws2",
        {"location": world.location},
        headers={"x-ms-correlation-request-id": "my-correlation-1"},
    )
    assert response.status_code in (200, 201), response.text
    assert response.headers["x-ms-correlation-request-id"] == "my-correlation-1"

    found = _events(api, world, "correlationId eq 'my-correlation-1'")
    assert len(found) == 1
    event = found[0]
    assert event["operationName"]["value"] == f"{ML}/workspaces/write"
    assert event["resourceId"] == f"{world.rg_path}/providers/{ML}/workspaces/ws2"
    assert event["authorization"] == {"action": f"{ML}/workspaces/write", "scope": event["resourceId"]}
    assert event["caller"] == "admin"
    assert event["status"]["value"] == "Succeeded"
    assert event["level"] == "Informational"
    assert event["httpRequest"] == {"clientIpAddress": "testclient", "method": "PUT"}
    assert event["resourceGroupName"] == "rg1"
    assert event["subscriptionId"] == world.sub
    assert event["category"]["value"] == "Administrative"
    assert event["id"].startswith(event["resourceId"] + "/events/" + event["eventDataId"] + "/ticks/")
    assert event["eventTimestamp"].endswith("Z")


def test_a_request_without_a_correlation_id_gets_one_in_the_answer(api: Api) -> None:
    world = api.world(catalog=False)
    response = api.put(f"{world.rg_path}/providers/{ML}/workspaces/ws3", {"location": world.location})
    correlation = response.headers["x-ms-correlation-request-id"]
    assert len(correlation) == 36
    assert [
        e["resourceId"].rsplit("/", 1)[-1] for e in _events(api, world, f"correlationId eq '{correlation}'")
    ] == ["ws3"]
    # An unacceptable one (too long) is replaced, not stored.
    response = api.get(world.sub_path, headers={"x-ms-correlation-request-id": "x" * 200})
    assert response.headers["x-ms-correlation-request-id"] != "x" * 200


def test_a_denied_attempt_is_recorded(api: Api) -> None:
    world = api.world(catalog=False)
    principal_id, token = api.principal("reader1")
    api.ok(api.assign(world.sub_path, principal_id, READER), 201)
    reader = api.as_token(token)
    path = f"{world.rg_path}/providers/{ML}/workspaces/denied"
    response = reader.put(path, {"location": world.location})
    assert response.status_code == 403
    correlation = response.headers["x-ms-correlation-request-id"]

    (event,) = _events(api, world, f"correlationId eq '{correlation}'")
    assert event["caller"] == "reader1"
    assert event["status"]["value"] == "Failed"
    assert event["subStatus"]["value"] == "Forbidden"
    assert event["level"] == "Error"
    assert event["operationName"]["value"] == f"{ML}/workspaces/write"
    assert event["authorization"]["scope"] == path
    assert event["httpRequest"]["method"] == "PUT"
    # Nothing was created, and the reader may read the log (Reader's */read).
    assert reader.get(path).status_code == 404
    assert any(e["correlationId"] == correlation for e in _events(reader, world, "caller eq 'reader1'"))


def test_a_failed_sign_in_is_recorded_as_unknown(api: Api) -> None:
    world = api.world(catalog=False)
    response = api.as_token("not-a-token").get(world.rg_path)
    assert response.status_code == 401
    (event,) = _events(api, world, "caller eq 'unknown'")
    assert event["operationName"]["value"] == "Microsoft.MaaS/signIn/action"
    assert event["status"]["value"] == "Failed"
    assert event["subStatus"]["value"] == "Unauthorized"
    assert event["resourceId"] == world.sub_path
    assert event["correlationId"] == response.headers["x-ms-correlation-request-id"]


def test_filters_by_resource_group_resource_and_caller(api: Api) -> None:
    world = api.world(catalog=False)
    other = World(rg="Other-RG", ws="ws9")
    api.ok(api.put(other.rg_path, {"location": other.location}))
    api.ok(api.put(other.ws_path, {"location": other.location}))

    in_other = _events(api, world, "resourceGroupName eq 'other-rg'")
    assert {e["resourceId"] for e in in_other} == {other.rg_path, other.ws_path}
    assert {e["resourceGroupName"] for e in in_other} == {"other-rg"}
    assert {e["resourceId"] for e in _events(api, world, "resourceGroupName eq 'RG1'")} == {
        world.rg_path,
        world.ws_path,
    }
    assert [e["resourceId"] for e in _events(api, world, f"resourceUri eq '{other.ws_path}'")] == [
        other.ws_path
    ]
    assert _events(api, world, "caller eq 'somebody-else'") == []
    everything = _events(api, world)
    assert [e["eventTimestamp"] for e in everything] == sorted(
        (e["eventTimestamp"] for e in everything), reverse=True
    )
    # The time range: an hour ago to thirty minutes ago holds nothing.
    old = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    older = (datetime.now(UTC) - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = f"eventTimestamp ge '{old}' and eventTimestamp le '{older}'"
    assert api.ok(api.get(world.sub_path + VALUES, params={"$filter": text}))["value"] == []


def test_pages_follow_next_link(api: Api) -> None:
    world = api.world(catalog=False)
    for n in range(3):
        api.ok(api.put(f"{world.rg_path}/providers/{ML}/workspaces/page{n}", {"location": world.location}))
    first = api.ok(
        api.get(world.sub_path + VALUES, params={"$filter": f"eventTimestamp ge '{_since()}'", "$top": "2"})
    )
    assert len(first["value"]) == 2
    seen = [e["eventDataId"] for e in first["value"]]
    link = first["nextLink"]
    while link:
        page = api.ok(api.client.get(link, headers={"Authorization": f"Bearer {api.token}"}))
        seen += [e["eventDataId"] for e in page["value"]]
        link = page.get("nextLink")
    assert len(seen) == len(set(seen)) == len(_events(api, world))
    bad = api.get(
        world.sub_path + VALUES, params={"$filter": f"eventTimestamp ge '{_since()}'", "$skiptoken": "xx"}
    )
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (None, "is required"),
        ("resourceGroupName eq 'rg1'", "start time"),
        ("eventTimestamp ge '2026-01-01T00:00:00Z' and eventTimestamp le '2026-05-01T00:00:00Z'", "90 days"),
        ("eventTimestamp ge '2026-02-01T00:00:00Z' and eventTimestamp le '2026-01-01T00:00:00Z'", "before"),
        ("eventTimestamp ge 'yesterday'", "ISO 8601"),
        ("eventTimestamp ge '2026-01-01T00:00:00Z' or caller eq 'x'", "not supported"),
        ("eventTimestamp ge '2026-01-01T00:00:00Z' and level eq 'Error'", "not supported"),
    ],
)
def test_a_bad_filter_is_a_400_in_the_arm_envelope(api: Api, text: str | None, says: str) -> None:
    world = api.world(catalog=False)
    params = {"$filter": text} if text is not None else {}
    response = api.get(world.sub_path + VALUES, params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert says in error["message"]
    assert error["target"] == "$filter"


def test_listing_needs_read_on_the_subscription_or_the_named_group(api: Api) -> None:
    world = api.world(catalog=False)
    principal_id, token = api.principal("rg-reader")
    api.ok(api.assign(world.rg_path, principal_id, READER), 201)
    reader = api.as_token(token)
    since = f"eventTimestamp ge '{_since()}'"
    denied = reader.get(world.sub_path + VALUES, params={"$filter": since})
    assert denied.status_code == 403
    assert "Microsoft.Insights/eventtypes/values/read" in denied.json()["error"]["message"]
    allowed = reader.get(
        world.sub_path + VALUES, params={"$filter": f"{since} and resourceGroupName eq 'rg1'"}
    )
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["value"]
    # A principal with no role at all sees nothing.
    _, stranger = api.principal("stranger")
    assert api.as_token(stranger).get(world.sub_path + VALUES, params={"$filter": since}).status_code == 403


def test_retention_prunes_old_events(client: TestClient, settings: Settings) -> None:
    services: Services = client.app.state.process.services  # type: ignore[attr-defined]
    short = Services(services.db, services.vault, settings.model_copy(update={"activity_retention_days": 1}))
    actor = Actor("p", "someone", RequestInfo())
    with services.db.write() as connection:
        ActivityLog(connection).append(
            actor, "Microsoft.Test/things/write", "/subscriptions/s1/x", "Succeeded"
        )
    now = datetime.now(UTC)
    assert activity.prune(short, now) == 0
    assert activity.prune(short, now + timedelta(days=1, minutes=1)) >= 1
    with services.db.read() as connection:
        assert ActivityLog(connection).events(activity_query("s1", now), before_seq=None, limit=10) == []


def activity_query(sub: str, now: datetime) -> Any:
    from maas.controlplane.domain.activity import EventQuery

    return EventQuery(sub, now - timedelta(days=1), now + timedelta(days=1))


@pytest.fixture
def forwarded_api(settings: Settings) -> Iterator[Api]:
    trusting = settings.model_copy(update={"trust_forwarded_for": True})
    prepare(trusting)
    with TestClient(create_server_app(trusting), raise_server_exceptions=False) as test_client:
        yield Api(test_client, "test-admin-token-0123456789")


def test_the_forwarded_address_is_recorded_only_when_trusted(forwarded_api: Api) -> None:
    world = forwarded_api.world(catalog=False)
    response = forwarded_api.put(
        f"{world.rg_path}/providers/{ML}/workspaces/fwd",
        {"location": world.location},
        headers={"x-forwarded-for": "198.51.100.7, 203.0.113.9"},
    )
    correlation = response.headers["x-ms-correlation-request-id"]
    (event,) = _events(forwarded_api, world, f"correlationId eq '{correlation}'")
    assert event["httpRequest"]["clientIpAddress"] == "203.0.113.9"


def test_the_reconciler_loop_prunes_once_per_interval(client: TestClient, settings: Settings) -> None:
    from sqlalchemy import update

    from maas.controlplane.reconciler.loop import Reconciler
    from maas.controlplane.store import tables

    services: Services = client.app.state.process.services  # type: ignore[attr-defined]
    short = Services(services.db, services.vault, settings.model_copy(update={"activity_retention_days": 1}))
    actor = Actor("p", "someone", RequestInfo())
    with services.db.write() as connection:
        ActivityLog(connection).append(
            actor, "Microsoft.Test/things/write", "/subscriptions/s2/old", "Succeeded"
        )
        connection.execute(
            update(tables.activity_log)
            .where(tables.activity_log.c.resource_id == "/subscriptions/s2/old")
            .values(at=datetime.now(UTC) - timedelta(days=2))
        )
    reconciler = Reconciler(short, {}, prune_seconds=3600)
    assert reconciler.prune_if_due() == 1
    with services.db.write() as connection:
        ActivityLog(connection).append(
            actor, "Microsoft.Test/things/write", "/subscriptions/s2/old", "Succeeded"
        )
    assert reconciler.prune_if_due() == 0  # not due again for an hour (and the new event is kept)
