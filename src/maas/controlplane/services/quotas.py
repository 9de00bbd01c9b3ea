"""Per-deployment quotas: read by the endpoint's readers, changed by operators, every change kept.

A deployment (serverless endpoint) gets the platform's default quota (200,000 tokens and 1,000
requests per minute unless the operator configured other defaults). An operator — a principal
allowed `Microsoft.MaaS/quotas/write` at the platform root `/`, which no workspace or account
role reaches — raises or lowers one deployment's quota; the new limits are stored on the
endpoint (the gateway reads them with the endpoint), and the change, its reason and who made it
are appended to `quota_changes` and the activity log in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from maas.controlplane.domain.resources import Quota, Resource
from maas.controlplane.services.context import Caller, Services, require_resource, touch
from maas.controlplane.services.endpoints import ACTION as ENDPOINTS
from maas.controlplane.services.endpoints import endpoint_id
from maas.controlplane.store.repository import QuotaChange, Repository
from maas.core.clock import utcnow
from maas.core.errors import Conflict
from maas.protocol.management.quotas import QuotaBody

QUOTAS = "Microsoft.MaaS/quotas"


def quota_id(endpoint: str) -> str:
    return f"{endpoint}/providers/{QUOTAS}/default"


def _limits(services: Services, endpoint: Resource) -> tuple[int, int, bool]:
    """(tokens/min, requests/min, whether these are the platform's defaults)."""
    if endpoint.quota is not None:
        return endpoint.quota.tokens_per_minute, endpoint.quota.requests_per_minute, False
    settings = services.settings
    return settings.quota_tokens_per_minute, settings.quota_requests_per_minute, True


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
        new_tokens = wanted.tokens_per_minute or tokens
        new_requests = wanted.requests_per_minute or requests
        if (new_tokens, new_requests) != (tokens, requests):
            endpoint.quota = Quota(new_tokens, new_requests)
            touch(endpoint, caller)
            repo.save(endpoint)
            repo.add_quota_change(
                QuotaChange(
                    endpoint_id=endpoint.id,
                    tokens_per_minute=new_tokens,
                    requests_per_minute=new_requests,
                    previous_tokens_per_minute=tokens,
                    previous_requests_per_minute=requests,
                    reason=wanted.reason,
                    changed_by=caller.principal.name,
                    changed_at=utcnow(),
                )
            )
            repo.log_activity(caller.actor, f"{QUOTAS}/write", quota_id(endpoint.id), "Succeeded")
        history = repo.quota_changes(rid)
        result = QuotaState(endpoint.id, *_limits(services, endpoint), history)
    services.endpoints_changed()  # this process's gateway applies the new limits at once
    return result
