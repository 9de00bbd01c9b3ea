"""Per-deployment quotas: read by the endpoint's readers, changed by operators, every change kept.

A deployment (serverless endpoint) gets the platform's default quota (200,000 tokens and 1,000
requests per minute unless the operator configured other defaults). An operator — a principal
allowed `Microsoft.MaaS/quotas/write` at the platform root `/`, which no workspace or account
role reaches — raises or lowers one deployment's quota; the new limits are stored on the
endpoint (the gateway reads them with the endpoint), and the change, its reason and who made it
are appended to `quota_changes` and the activity log in the same transaction. What is left of
the quota this minute (`live_quota`) is the gateway's, read through a hook the server wires.
"""

from __future__ import annotations

from dataclasses import dataclass

from maas.controlplane.domain.resources import Quota, Resource
from maas.controlplane.services.context import Caller, LiveQuota, Services, require_resource, touch
from maas.controlplane.store.repository import QuotaChange, Repository
from maas.core.clock import utcnow
from maas.core.errors import Conflict
from maas.core.ids import workspace_child_id
from maas.protocol.management.kinds import SERVERLESS_ENDPOINT
from maas.protocol.management.quotas import QuotaBody

QUOTAS = "Microsoft.MaaS/quotas"
ENDPOINTS = SERVERLESS_ENDPOINT.action


def endpoint_id(sub: str, rg: str, ws: str, name: str) -> str:
    return workspace_child_id(sub, rg, ws, SERVERLESS_ENDPOINT.collection, name)


def quota_id(endpoint: str) -> str:
    return f"{endpoint}/providers/{QUOTAS}/default"


def _limits(services: Services, endpoint: Resource) -> tuple[int, int, bool]:
    """(tokens/min, requests/min, whether these are the platform's defaults)."""
    if endpoint.quota is not None:
        return endpoint.quota.tokens_per_minute, endpoint.quota.requests_per_minute, False
    settings = services.settings
    return settings.quota_tokens_per_minute, settings.quota_requests_per_minute, True


def limits_in_force(services: Services, endpoint: Resource) -> Quota:
    """The limits the gateway applies to the endpoint now (its own, or the platform's defaults)."""
    tokens, requests, _default = _limits(services, endpoint)
    return Quota(tokens, requests)


def apply_quota(
    services: Services, repo: Repository, caller: Caller, endpoint: Resource, wanted: Quota, reason: str
) -> bool:
    """Put `wanted` in force on the endpoint, in the caller's write transaction (the endpoint
    read for update): stored on the endpoint, recorded in `quota_changes` and the activity log.
    False when nothing changed. The caller calls `services.endpoints_changed()` after the commit."""
    tokens, requests, _default = _limits(services, endpoint)
    if (wanted.tokens_per_minute, wanted.requests_per_minute) == (tokens, requests):
        return False
    endpoint.quota = wanted
    touch(endpoint, caller)
    repo.save(endpoint)
    repo.add_quota_change(
        QuotaChange(
            endpoint_id=endpoint.id,
            tokens_per_minute=wanted.tokens_per_minute,
            requests_per_minute=wanted.requests_per_minute,
            previous_tokens_per_minute=tokens,
            previous_requests_per_minute=requests,
            reason=reason,
            changed_by=caller.principal.name,
            changed_at=utcnow(),
        )
    )
    repo.log_activity(caller.actor, f"{QUOTAS}/write", quota_id(endpoint.id), "Succeeded")
    return True


@dataclass(frozen=True)
class QuotaState:
    """An endpoint's quota as its API shows it: the limits in force, whether they are the
    platform's defaults, and every change made through the API, newest first."""

    endpoint_id: str
    tokens_per_minute: int
    requests_per_minute: int
    default: bool
    history: list[QuotaChange]


def get_quota(services: Services, caller: Caller, sub: str, rg: str, ws: str, name: str) -> QuotaState:
    rid = endpoint_id(sub, rg, ws, name)
    caller.require(f"{ENDPOINTS}/read", rid)
    with services.db.read() as connection:
        repo = Repository(connection)
        endpoint = require_resource(repo, rid, "serverless endpoint")
        history = repo.quota_changes(rid)
    return QuotaState(endpoint.id, *_limits(services, endpoint), history)


def set_quota(
    services: Services, caller: Caller, sub: str, rg: str, ws: str, name: str, body: QuotaBody
) -> QuotaState:
    rid = endpoint_id(sub, rg, ws, name)
    caller.require(f"{QUOTAS}/write", "/")
    wanted = body.properties
    with services.db.write() as connection:
        repo = Repository(connection)
        endpoint = require_resource(repo, rid, "serverless endpoint", for_update=True)
        if str(endpoint.provisioning_state) == "Deleting":
            raise Conflict(f"Endpoint '{name}' is being deleted.", code="ResourceBeingDeleted")
        tokens, requests, _default = _limits(services, endpoint)
        new = Quota(wanted.tokens_per_minute or tokens, wanted.requests_per_minute or requests)
        apply_quota(services, repo, caller, endpoint, new, wanted.reason)
        history = repo.quota_changes(rid)
        result = QuotaState(endpoint.id, *_limits(services, endpoint), history)
    services.endpoints_changed()  # this process's gateway applies the new limits at once
    return result


async def live_quota(services: Services, state: QuotaState) -> LiveQuota | None:
    """What is left of the quota this minute: the gateway's window for the endpoint, read without
    admitting anything (`state` comes from `get_quota`, which checked the caller may read the
    endpoint). None when this process runs no gateway."""
    reader = services.quota_reader
    if reader is None:
        return None
    return await reader(state.endpoint_id, state.requests_per_minute, state.tokens_per_minute)
