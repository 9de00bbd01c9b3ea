"""A quota request's domain rules: what approval puts in force, and how a change is recorded."""

from __future__ import annotations

from datetime import UTC, datetime

from maas.controlplane.domain.quota_requests import QuotaRequest
from maas.controlplane.domain.resources import Quota
from maas.protocol.management.quota_requests import QuotaRequestStatus, parse_status_filter

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def request(tokens: int | None, requests: int | None) -> QuotaRequest:
    return QuotaRequest(
        id="/e/providers/Microsoft.MaaS/quotaRequests/r",
        name="r",
        endpoint_id="/e",
        subscription="s",
        resource_group="g",
        workspace="w",
        tokens_per_minute=tokens,
        requests_per_minute=requests,
        previous=Quota(200_000, 1_000),
        reason="why",
        status=QuotaRequestStatus.PENDING,
        message="",
        requested_by="alice",
        requested_by_id="oid",
        submitted_at=WHEN,
        updated_at=WHEN,
    )


def test_approval_grants_what_was_asked_and_lowers_nothing() -> None:
    assert request(500_000, None).granted(Quota(200_000, 1_000)) == Quota(500_000, 1_000)
    assert request(None, 5_000).granted(Quota(200_000, 1_000)) == Quota(200_000, 5_000)
    # an operator raised the tokens past the ask meanwhile: approving keeps the higher limit
    assert request(500_000, 5_000).granted(Quota(900_000, 1_000)) == Quota(900_000, 5_000)


def test_a_move_appends_to_the_history_and_keeps_the_ask() -> None:
    filed = request(500_000, None).moved(QuotaRequestStatus.PENDING, WHEN, "alice", "why")
    approved = filed.moved(QuotaRequestStatus.APPROVED, WHEN, "admin", "ok", Quota(500_000, 1_000))
    assert [(e.status, e.by, e.message) for e in approved.history] == [
        (QuotaRequestStatus.PENDING, "alice", "why"),
        (QuotaRequestStatus.APPROVED, "admin", "ok"),
    ]
    assert (approved.status, approved.message, approved.applied) == (
        QuotaRequestStatus.APPROVED,
        "ok",
        Quota(500_000, 1_000),
    )
    assert approved.same_ask(500_000, None, "why") and not approved.same_ask(500_000, 1, "why")
    assert not approved.pending and filed.pending
    assert [s.provisioning_state for s in QuotaRequestStatus] == [
        "InProgress",
        "Succeeded",
        "Failed",
        "Canceled",
    ]


def test_the_status_filter() -> None:
    assert parse_status_filter(None) is None and parse_status_filter("  ") is None
    assert parse_status_filter("status eq 'pending'") is QuotaRequestStatus.PENDING
    assert parse_status_filter("Status EQ 'Cancelled' ") is QuotaRequestStatus.CANCELLED
