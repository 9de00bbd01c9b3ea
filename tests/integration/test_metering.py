"""Metering and quotas through the gateway (in-process app, SQLite and PostgreSQL):

- one usage record per answered request, keyed by its x-request-id, counted by the engine, priced
  from the offer, billed to the SaaS resource (marketplace) or the endpoint (first party), and
  added to the hourly running totals in the same transaction;
- requests refused or failing before generation bill nothing and use no quota;
- x-ratelimit-* headers on every response of an endpoint (errors included), 429 with Retry-After
  past the quota, reservations settled to the real count;
- operators set a deployment's quota (recorded with who and why); others cannot;
- removing the account's payment method suspends its paid endpoints (403) until restored.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from maas.controlplane.store import tables as t
from maas.controlplane.store.database import Database
from maas.core.settings import Settings
from support.api import Api, World
from support.fake_upstream import FakeUpstream, fake_upstream
from support.gateway import (
    UPSTREAM_EMBED_MODEL,
    UPSTREAM_MODEL,
    Deployed,
    deploy,
    put_model,
    upstream_artifact,
)

CHAT = [{"role": "user", "content": "hi"}]
RATE_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
)
PRICES = [
    {"meterId": "paygo-inference-input-tokens", "pricePer1K": 0.0003, "currency": "USD"},
    {"meterId": "paygo-inference-output-tokens", "pricePer1K": 0.0006, "currency": "USD"},
]


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream() as running:
        yield running


@pytest.fixture
def world(api: Api) -> World:
    return api.world(catalog=False)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.resolved_database_url)
    yield database
    database.dispose()


def priced_offer(api: Api, model_id: str, *, kind: str = "FirstParty") -> None:
    offer = model_id.rsplit("/", 1)[-1]
    properties = {"modelId": model_id, "publisherId": "test", "kind": kind, "meters": PRICES}
    api.ok(api.put(f"/providers/Microsoft.MaaS/offers/{offer}", {"properties": properties}))


@pytest.fixture
def chat(api: Api, world: World, upstream: FakeUpstream) -> Deployed:
    put_model(api, UPSTREAM_MODEL, upstream_artifact(upstream.url))
    priced_offer(api, UPSTREAM_MODEL)
    return deploy(api, world, "chat", UPSTREAM_MODEL)


def flush(client: TestClient) -> None:
    ledger = client.app.process.gateway().metering.ledger  # type: ignore[attr-defined]
    assert ledger.flush(30)


def records(client: TestClient, db: Database) -> list[dict[str, Any]]:
    flush(client)
    with db.read() as connection:
        return [dict(r) for r in connection.execute(select(t.usage_records)).mappings()]


def totals(client: TestClient, db: Database) -> dict[str, tuple[int, int, str]]:
    flush(client)
    with db.read() as connection:
        rows = connection.execute(select(t.usage_totals)).mappings()
        return {r["meter_id"]: (r["quantity"], r["records"], r["price_per_1k"]) for r in rows}


def post(api: Api, endpoint: Deployed, body: dict[str, Any], route: str = "chat/completions") -> Any:
    return api.client.post(f"{endpoint.route}/{route}", json=body, headers=endpoint.headers())


def set_quota(api: Api, world: World, name: str, **properties: Any) -> Any:
    return api.put(
        world.endpoint(name) + "/providers/Microsoft.MaaS/quotas/default", {"properties": properties}
    )


# -- the ledger ----------------------------------------------------------------------------------
def test_an_answer_has_one_record_priced_from_the_offer_and_in_the_totals(
    api: Api, client: TestClient, db: Database, world: World, chat: Deployed
) -> None:
    response = post(api, chat, {"messages": CHAT})
    assert response.status_code == 200, response.text
    usage = response.json()["usage"]
    [record] = records(client, db)
    assert record["request_id"] == response.headers["x-request-id"]
    assert (record["input_tokens"], record["output_tokens"]) == (
        usage["prompt_tokens"],
        usage["completion_tokens"],
    )
    assert record["status"] == "Succeeded"
    assert record["route"] == "chat/completions"
    assert record["endpoint_id"].lower() == world.endpoint("chat").lower()
    assert record["billed_resource_id"] == record["endpoint_id"]  # first party: billed on the endpoint
    assert (record["subscription"], record["resource_group"], record["workspace"]) == (
        world.sub,
        world.rg,
        world.ws,
    )
    assert record["started_at"] <= record["ended_at"]
    assert {m["meterId"]: m["pricePer1K"] for m in record["meters"]} == {
        "paygo-inference-input-tokens": "0.0003",
        "paygo-inference-output-tokens": "0.0006",
    }
    assert totals(client, db) == {
        "paygo-inference-input-tokens": (usage["prompt_tokens"], 1, "0.0003"),
        "paygo-inference-output-tokens": (usage["completion_tokens"], 1, "0.0006"),
    }


def test_a_stream_is_billed_from_its_usage_chunk_and_private_counts_never_leak(
    api: Api, client: TestClient, db: Database, chat: Deployed
) -> None:
    response = post(api, chat, {"messages": CHAT, "stream": True})
    assert response.status_code == 200
    assert b"_maas_usage" not in response.content
    [record] = records(client, db)
    assert record["request_id"] == response.headers["x-request-id"]
    assert (record["input_tokens"], record["output_tokens"], record["status"]) == (7, 6, "Succeeded")


def test_a_stream_broken_by_the_model_bills_what_was_generated(
    api: Api, client: TestClient, db: Database, chat: Deployed
) -> None:
    response = post(api, chat, {"messages": [{"role": "user", "content": "BREAK"}], "stream": True})
    assert response.status_code == 200
    assert b'"error"' in response.content
    [record] = records(client, db)
    assert record["status"] == "Failed"
    assert record["output_tokens"] == 2  # the two chunks relayed before the upstream broke off


def test_embeddings_are_metered_on_the_input_meter(
    api: Api, client: TestClient, db: Database, world: World, upstream: FakeUpstream
) -> None:
    put_model(api, UPSTREAM_EMBED_MODEL, upstream_artifact(upstream.url), task="embeddings")
    embed = deploy(api, world, "embed", UPSTREAM_EMBED_MODEL)
    response = post(api, embed, {"input": ["a", "b", "c"]}, "embeddings")
    assert response.status_code == 200, response.text
    [record] = records(client, db)
    assert (record["input_tokens"], record["output_tokens"], record["route"]) == (3, 0, "embeddings")
    # a free offer: its tokens are on the free meters at price 0, never on a paid meter
    assert totals(client, db) == {
        "free-inference-input-tokens": (3, 1, "0"),
        "free-inference-output-tokens": (0, 1, "0"),
    }


def test_requests_refused_or_failing_before_generation_bill_nothing_and_use_no_quota(
    api: Api, client: TestClient, db: Database, chat: Deployed
) -> None:
    assert post(api, chat, {"messages": CHAT, "temperature": 9}).status_code == 422
    assert post(api, chat, {"messages": [{"role": "user", "content": "FAIL500"}]}).status_code == 502
    assert post(api, chat, {"messages": [{"role": "user", "content": "FAIL400"}]}).status_code == 400
    assert records(client, db) == []
    ok = post(api, chat, {"messages": CHAT})
    assert ok.headers["x-ratelimit-remaining-requests"] == "999"  # only this request holds a slot


# -- quotas ----------------------------------------------------------------------------------------
def test_every_response_of_an_endpoint_carries_the_quota_headers(api: Api, chat: Deployed) -> None:
    responses = [
        post(api, chat, {"messages": CHAT}),
        post(api, chat, {"messages": CHAT, "stream": True}),
        post(api, chat, {"messages": CHAT, "bogus": 1}),
        post(api, chat, {"messages": [{"role": "user", "content": "FAIL500"}]}),
        api.client.get(f"{chat.route}/info", headers=chat.headers()),
    ]
    assert [r.status_code for r in responses] == [200, 200, 422, 502, 200]
    for response in responses:
        for name in RATE_HEADERS:
            assert name in response.headers, (response.status_code, name)
        assert response.headers["x-ratelimit-limit-requests"] == "1000"
        assert response.headers["x-ratelimit-limit-tokens"] == "200000"
    assert responses[0].headers["x-ratelimit-remaining-requests"] == "999"
    assert responses[1].headers["x-ratelimit-remaining-requests"] == "998"
    unknown_key = api.client.get(f"{chat.route}/info", headers={"api-key": "wrong"})
    assert unknown_key.status_code == 401
    assert "x-ratelimit-limit-requests" not in unknown_key.headers  # nothing is told to strangers


def test_over_the_request_quota_is_a_429_with_retry_after_and_no_record(
    api: Api, client: TestClient, db: Database, world: World, chat: Deployed
) -> None:
    api.ok(set_quota(api, world, "chat", requestsPerMinute=3, reason="load test"), 200)
    statuses = [post(api, chat, {"messages": CHAT}) for _ in range(5)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429]
    refused = statuses[3]
    error = refused.json()["error"]
    assert error["code"] == "rate_limit_exceeded"
    assert "3 requests" in error["message"]
    assert refused.headers["x-ms-error-code"] == "rate_limit_exceeded"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert 0 < int(refused.headers["retry-after-ms"]) <= 60_000
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-ratelimit-limit-requests"] == "3"
    assert len(records(client, db)) == 3


def test_token_reservations_are_settled_to_the_real_count(api: Api, world: World, chat: Deployed) -> None:
    api.ok(set_quota(api, world, "chat", tokensPerMinute=700), 200)
    body = {"messages": CHAT, "max_tokens": 500}
    first = post(api, chat, body)
    assert first.status_code == 200
    # the first reservation (~500 tokens) was settled to the 13 tokens really used, so a second
    # request of the same size fits in 700 tokens
    second = post(api, chat, body)
    assert second.status_code == 200, second.text
    assert int(second.headers["x-ratelimit-remaining-tokens"]) < 700 - 500
    # one that may use more than the whole quota reserves all of it: refused while others hold any
    too_big = post(api, chat, {"messages": CHAT, "max_tokens": 1000})
    assert too_big.status_code == 429
    assert too_big.json()["error"]["code"] == "rate_limit_exceeded"


def test_a_concurrent_token_reservation_over_the_quota_is_refused(
    api: Api, world: World, chat: Deployed
) -> None:
    api.ok(set_quota(api, world, "chat", tokensPerMinute=700), 200)
    slow = {"messages": [{"role": "user", "content": "SLOW"}], "max_tokens": 500, "stream": True}
    with api.client.stream(
        "POST", f"{chat.route}/chat/completions", json=slow, headers=chat.headers()
    ) as held:
        assert held.status_code == 200
        refused = post(api, chat, {"messages": CHAT, "max_tokens": 500})
        assert refused.status_code == 429, refused.text
        assert "700 tokens" in refused.json()["error"]["message"]


def test_operators_set_a_deployments_quota_and_the_change_is_recorded(
    api: Api, world: World, chat: Deployed
) -> None:
    path = world.endpoint("chat") + "/providers/Microsoft.MaaS/quotas/default"
    default = api.ok(api.get(path), 200)["properties"]
    assert (default["tokensPerMinute"], default["requestsPerMinute"], default["isDefault"]) == (
        200000,
        1000,
        True,
    )
    raised = api.ok(set_quota(api, world, "chat", tokensPerMinute=500_000, reason="ticket 42"), 200)[
        "properties"
    ]
    assert (raised["tokensPerMinute"], raised["requestsPerMinute"], raised["isDefault"]) == (
        500000,
        1000,
        False,
    )
    [change] = raised["history"]
    assert change["previousTokensPerMinute"] == 200000 and change["reason"] == "ticket 42"
    assert change["changedBy"]
    response = post(api, chat, {"messages": CHAT})
    assert response.headers["x-ratelimit-limit-tokens"] == "500000"
    # a workspace owner reads the quota but cannot change it
    owner_id, owner_token = api.principal("ws-owner")
    api.ok(api.assign(world.sub_path, owner_id, "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"), 201)
    owner = api.as_token(owner_token)
    assert owner.get(path).status_code == 200
    denied = owner.put(path, {"properties": {"requestsPerMinute": 10**6}})
    assert denied.status_code == 403
    assert "Microsoft.MaaS/quotas/write" in denied.json()["error"]["message"]
    bad = set_quota(api, world, "chat", requestsPerMinute=0)
    assert bad.status_code == 400 and "requestsPerMinute" in bad.text
    assert set_quota(api, world, "nope", requestsPerMinute=5).status_code == 404


# -- billing rules ---------------------------------------------------------------------------------
def test_removing_the_payment_method_suspends_paid_endpoints_until_it_is_restored(
    api: Api, world: World, upstream: FakeUpstream
) -> None:
    put_model(api, UPSTREAM_MODEL, upstream_artifact(upstream.url))
    priced_offer(api, UPSTREAM_MODEL, kind="Marketplace")
    put_model(api, UPSTREAM_EMBED_MODEL, upstream_artifact(upstream.url), task="embeddings")  # free
    api.ok(api.subscribe(world, "paid-sub", UPSTREAM_MODEL), 201)
    paid = deploy(api, world, "paid", UPSTREAM_MODEL)
    free = deploy(api, world, "free", UPSTREAM_EMBED_MODEL)
    assert post(api, paid, {"messages": CHAT}).status_code == 200

    api.account(world.sub, payment="None")
    endpoint = api.ok(api.get(world.endpoint("paid")), 200)
    assert endpoint["properties"]["endpointState"] == "Suspended"
    subscription = api.ok(api.get(world.subscription("paid-sub")), 200)
    assert subscription["properties"]["marketplaceSubscriptionStatus"] == "Suspended"
    refused = post(api, paid, {"messages": CHAT})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "endpoint_suspended"
    assert "payment method" in refused.json()["error"]["message"]
    assert post(api, free, {"input": ["x"]}, "embeddings").status_code == 200  # free models keep working
    again = api.create_endpoint(world, "paid-2", UPSTREAM_MODEL)
    assert again.status_code == 400  # no new paid deployments either

    api.account(world.sub, payment="CreditCard")
    assert api.ok(api.get(world.endpoint("paid")), 200)["properties"]["endpointState"] == "Online"
    restored = api.ok(api.get(world.subscription("paid-sub")), 200)
    assert restored["properties"]["marketplaceSubscriptionStatus"] == "Subscribed"
    assert post(api, paid, {"messages": CHAT}).status_code == 200


def test_marketplace_usage_is_billed_to_the_subscriptions_saas_resource(
    api: Api, client: TestClient, db: Database, world: World, upstream: FakeUpstream
) -> None:
    put_model(api, UPSTREAM_MODEL, upstream_artifact(upstream.url))
    priced_offer(api, UPSTREAM_MODEL, kind="Marketplace")
    subscription = api.ok(api.subscribe(world, "paid-sub", UPSTREAM_MODEL), 201)
    paid = deploy(api, world, "paid", UPSTREAM_MODEL)
    assert post(api, paid, {"messages": CHAT}).status_code == 200
    [record] = records(client, db)
    assert record["billed_resource_id"] == subscription["properties"]["saasResourceId"]
    assert "Microsoft.SaaS/resources" in record["billed_resource_id"]


def test_an_answer_whose_usage_cannot_be_journaled_is_not_delivered(
    api: Api, client: TestClient, db: Database, chat: Deployed
) -> None:
    ledger = client.app.process.gateway().metering.ledger  # type: ignore[attr-defined]
    segment = ledger._segments[-1]
    journal, segment.fd = segment.fd, os.open(os.devnull, os.O_RDONLY)  # writes now fail (EBADF)
    try:
        refused = post(api, chat, {"messages": CHAT})
    finally:
        os.close(segment.fd)
        segment.fd = journal
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "ledger_unavailable"
    assert "x-ratelimit-limit-requests" in refused.headers
    assert records(client, db) == []
    assert post(api, chat, {"messages": CHAT}).status_code == 200
