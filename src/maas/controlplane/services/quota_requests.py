"""Quota increase requests: a deployment's users ask, an operator approves or denies.

Who may do what (RBAC, as every other call):

- file a request on an endpoint: `…/serverlessEndpoints/quotaRequests/write` on the request
  (under the endpoint), which the roles that may write a workspace's endpoints hold
  (Owner, Contributor, Azure AI Developer, AzureML Data Scientist on the workspace or above);
- read one, or list them: `…/serverlessEndpoints/quotaRequests/read` (Reader's `*/read`);
- cancel a pending one: `…/serverlessEndpoints/quotaRequests/cancel/action`;
- approve or deny: `Microsoft.MaaS/quotaRequests/approve/action` or `…/deny/action` at the
  platform root `/`, which only operators (Owners at `/`) hold.

Rules: the limits asked for are whole numbers above those in force; a reason is required; an
endpoint has at most one Pending request (a `claims` row, so concurrent filers cannot both win);
only a Pending request may be approved, denied or cancelled. Approving applies the limits to the
endpoint through the same path an operator's `PUT …/quotas/default` takes (`quotas.apply_quota`),
in the same transaction as the request's change of state, and tells this process's gateway at
once; other processes see the new limits within their directory cache's TTL. Deleting the
endpoint cancels its pending request in the deletion's transaction. Every change of state is
appended to the request's history and written to the activity log.
"""

from __future__ import annotations

from dataclasses import dataclass

from maas.controlplane.domain.quota_requests import QuotaRequest
from maas.controlplane.domain.resources import ProvisioningState, Resource
from maas.controlplane.services.context import Caller, Saved, Services, require_resource
from maas.controlplane.services.quotas import apply_quota, endpoint_id, limits_in_force
from maas.controlplane.store.claims import QUOTA_REQUEST_PENDING
from maas.controlplane.store.quota_requests import QuotaRequestRows, RequestScope
from maas.controlplane.store.repository import Repository
from maas.core.clock import utcnow
from maas.core.errors import BadRequest, Conflict, NotFound
from maas.core.ids import key_of, resource_group_id, subscription_id, workspace_id
from maas.protocol.management.kinds import QUOTA_REQUEST, SERVERLESS_ENDPOINT
from maas.protocol.management.naming import ResourceKind, validate_name
from maas.protocol.management.quota_requests import (
    QuotaRequestActionBody,
    QuotaRequestBody,
    QuotaRequestStatus,
)

__all__ = [
    "APPROVE",
    "CANCEL",
    "DENY",
    "RequestPage",
    "approve_request",
    "cancel_pending",
    "cancel_request",
    "deny_request",
    "get_request",
    "list_requests",
    "put_request",
    "request_id",
]

PROVIDER = "Microsoft.MaaS"
CANCEL = f"{QUOTA_REQUEST.action}/cancel/action"
APPROVE = f"{PROVIDER}/quotaRequests/approve/action"
DENY = f"{PROVIDER}/quotaRequests/deny/action"
ENDPOINT_DELETED = "The endpoint was deleted."
_BATCH = 500  # rows read per query while a listing fills a page with what the caller may read


def request_id(endpoint: str, name: str) -> str:
    return f"{endpoint}/providers/{QUOTA_REQUEST.arm_type}/{name}"


@dataclass(frozen=True)
class RequestPage:
    """One page of a listing, newest first; `next_seq` is where the next page resumes below."""

    items: list[QuotaRequest]
    next_seq: int | None = None


def _not_found(rid: str) -> NotFound:
    return NotFound(f"The quota request '{rid}' was not found.", code="ResourceNotFound")


def _live_endpoint(repo: Repository, rid: str, name: str) -> Resource:
    """The endpoint, read for update; a deleted (or deleting) one takes no request."""
    endpoint = require_resource(repo, rid, SERVERLESS_ENDPOINT.label, for_update=True)
    if endpoint.provisioning_state is ProvisioningState.DELETING:
        raise Conflict(f"Endpoint '{name}' is being deleted.", code="ResourceBeingDeleted")
    return endpoint


# -- filing ------------------------------------------------------------------------------------
def put_request(
    services: Services,
    caller: Caller,
    sub: str,
    rg: str,
    ws: str,
    endpoint: str,
    name: str,
    body: QuotaRequestBody,
) -> Saved[QuotaRequest]:
    """File a request (201), or repeat one already filed with the same ask (200)."""
    validate_name(ResourceKind.QUOTA_REQUEST, name)
    ep_id = endpoint_id(sub, rg, ws, endpoint)
    rid = request_id(ep_id, name)
    caller.require(QUOTA_REQUEST.write, rid)
    props = body.properties
    tokens, requests = props.limits.tokens_per_minute, props.limits.requests_per_minute
    with services.db.write() as connection:
        repo, rows = Repository(connection), QuotaRequestRows(connection)
        found = _live_endpoint(repo, ep_id, endpoint)
        existing = rows.get(rid, for_update=True)
        if existing is not None:
            if existing.same_ask(tokens, requests, props.reason):
                return Saved(existing, created=False)
            raise Conflict(
                f"The quota request '{name}' exists ({existing.status}); a request's limits and reason "
                "cannot be changed. Cancel it if it is pending, and file a new one under another name.",
                code="QuotaRequestExists",
            )
        current = limits_in_force(services, found)
        _check_increase(tokens, requests, current.tokens_per_minute, current.requests_per_minute)
        pending = repo.claim_owner(QUOTA_REQUEST_PENDING, key_of(found.id))
        if pending is not None:
            other = rows.get(pending)
            shown = other.name if other is not None else pending.rsplit("/", 1)[-1]
            raise Conflict(
                f"Endpoint '{endpoint}' already has a pending quota request '{shown}'. Wait for an "
                f"operator's decision, or cancel it (POST …/quotaRequests/{shown}/cancel), before "
                "filing another.",
                code="QuotaRequestPending",
            )
        repo.claim(
            QUOTA_REQUEST_PENDING,
            key_of(found.id),
            rid,
            f"Endpoint '{endpoint}' already has a pending quota request.",
            code="QuotaRequestPending",
        )
        now = utcnow()
        filed = QuotaRequest(
            id=rid,
            name=name,
            endpoint_id=found.id,
            subscription=sub,
            resource_group=rg,
            workspace=ws,
            tokens_per_minute=tokens,
            requests_per_minute=requests,
            previous=current,
            reason=props.reason,
            status=QuotaRequestStatus.PENDING,
            message="",
            requested_by=caller.principal.name,
            requested_by_id=caller.principal.id,
            submitted_at=now,
            updated_at=now,
        ).moved(QuotaRequestStatus.PENDING, now, caller.principal.name, props.reason)
        rows.add(filed)
        repo.log_activity(caller.actor, QUOTA_REQUEST.write, rid, "Succeeded")
    return Saved(filed, created=True)


def _check_increase(tokens: int | None, requests: int | None, now_tokens: int, now_requests: int) -> None:
    for asked, now, field in (
        (tokens, now_tokens, "tokensPerMinute"),
        (requests, now_requests, "requestsPerMinute"),
    ):
        if asked is not None and asked <= now:
            raise BadRequest(
                f"A quota request asks for more: {field} {asked:,} is not above the {now:,} in force. "
                "Leave it out to keep it as it is.",
                code="QuotaRequestNotAnIncrease",
                target=f"properties.limits.{field}",
            )


# -- reading -----------------------------------------------------------------------------------
def get_request(
    services: Services, caller: Caller, sub: str, rg: str, ws: str, endpoint: str, name: str
) -> QuotaRequest:
    rid = request_id(endpoint_id(sub, rg, ws, endpoint), name)
    caller.require(QUOTA_REQUEST.read, rid)
    with services.db.read() as connection:
        found = QuotaRequestRows(connection).get(rid)
    if found is None:
        raise _not_found(rid)
    return found


def list_requests(
    services: Services,
    caller: Caller,
    scope: RequestScope,
    status: QuotaRequestStatus | None,
    before_seq: int | None,
    limit: int,
) -> RequestPage:
    """The requests in `scope` the caller may read, newest first. At an endpoint the caller must
    be allowed to read its requests (403 otherwise); a wider scope lists what the caller may read
    of it (the platform's operators: everything), as ARM's generic listing does."""
    with services.db.read() as connection:
        repo, rows = Repository(connection), QuotaRequestRows(connection)
        if scope.endpoint_id is not None:
            caller.require(QUOTA_REQUEST.read, scope.endpoint_id)
            require_resource(repo, scope.endpoint_id, SERVERLESS_ENDPOINT.label)
        elif scope.subscription is not None:
            where, what = subscription_id(scope.subscription), "subscription"
            if scope.resource_group is not None:
                where, what = resource_group_id(scope.subscription, scope.resource_group), "resource group"
                if scope.workspace is not None:
                    where = workspace_id(scope.subscription, scope.resource_group, scope.workspace)
                    what = "workspace"
            require_resource(repo, where, what)
        visible: list[tuple[int, QuotaRequest]] = []
        cursor = before_seq
        while len(visible) <= limit:
            batch = rows.listed(scope, status, before_seq=cursor, limit=_BATCH)
            visible += [(seq, found) for seq, found in batch if caller.can(QUOTA_REQUEST.read, found.id)]
            if len(batch) < _BATCH:
                break
            cursor = batch[-1][0]
    page = visible[:limit]
    more = len(visible) > limit
    return RequestPage([found for _, found in page], page[-1][0] if more else None)


# -- deciding ----------------------------------------------------------------------------------
def _decide(
    services: Services,
    caller: Caller,
    rid: str,
    to: QuotaRequestStatus,
    message: str,
    action: str,
) -> QuotaRequest:
    """Move a pending request to `to` in one transaction; approval applies its limits."""
    with services.db.write() as connection:
        repo, rows = Repository(connection), QuotaRequestRows(connection)
        seen = rows.get(rid)
        if seen is None:
            raise _not_found(rid)
        # Locks in one order everywhere: the endpoint, then its requests (as filing and deleting
        # the endpoint take them), so a decision racing a deletion waits instead of deadlocking.
        repo.get(seen.endpoint_id, for_update=True)
        found = rows.get(rid, for_update=True)
        if found is None:
            raise _not_found(rid)
        if not found.pending:
            verb = {
                QuotaRequestStatus.APPROVED: "approved",
                QuotaRequestStatus.DENIED: "denied",
                QuotaRequestStatus.CANCELLED: "cancelled",
            }[to]
            raise Conflict(
                f"The quota request '{found.name}' is {found.status}, not Pending; only a pending "
                f"request can be {verb}.",
                code="QuotaRequestNotPending",
            )
        now, by = utcnow(), caller.principal.name
        applied = None
        if to is QuotaRequestStatus.APPROVED:
            endpoint = _live_endpoint(repo, found.endpoint_id, found.endpoint_id.rsplit("/", 1)[-1])
            applied = found.granted(limits_in_force(services, endpoint))
            note = f"quota request {found.name}: {found.reason}"
            apply_quota(services, repo, caller, endpoint, applied, note[:1000])
        moved = found.moved(to, now, by, message, applied)
        rows.save(moved)
        repo.release(QUOTA_REQUEST_PENDING, rid)
        repo.log_activity(caller.actor, action, rid, "Succeeded")
    if applied is not None:
        services.endpoints_changed()  # this process's gateway applies the new limits at once
    return moved


def approve_request(
    services: Services,
    caller: Caller,
    sub: str,
    rg: str,
    ws: str,
    endpoint: str,
    name: str,
    body: QuotaRequestActionBody,
) -> QuotaRequest:
    caller.require(APPROVE, "/")
    rid = request_id(endpoint_id(sub, rg, ws, endpoint), name)
    return _decide(services, caller, rid, QuotaRequestStatus.APPROVED, body.message, APPROVE)


def deny_request(
    services: Services,
    caller: Caller,
    sub: str,
    rg: str,
    ws: str,
    endpoint: str,
    name: str,
    body: QuotaRequestActionBody,
) -> QuotaRequest:
    caller.require(DENY, "/")
    rid = request_id(endpoint_id(sub, rg, ws, endpoint), name)
    return _decide(services, caller, rid, QuotaRequestStatus.DENIED, body.message, DENY)


def cancel_request(
    services: Services,
    caller: Caller,
    sub: str,
    rg: str,
    ws: str,
    endpoint: str,
    name: str,
    body: QuotaRequestActionBody,
) -> QuotaRequest:
    rid = request_id(endpoint_id(sub, rg, ws, endpoint), name)
    caller.require(CANCEL, rid)
    return _decide(services, caller, rid, QuotaRequestStatus.CANCELLED, body.message, CANCEL)


def cancel_pending(repo: Repository, caller: Caller, endpoint: str) -> None:
    """Cancel the endpoint's pending requests, in the caller's write transaction (the endpoint
    is being deleted: its requests can never be approved)."""
    rows = QuotaRequestRows(repo.c)
    for found in rows.pending_of(endpoint, for_update=True):
        rows.save(
            found.moved(QuotaRequestStatus.CANCELLED, utcnow(), caller.principal.name, ENDPOINT_DELETED)
        )
        repo.release(QUOTA_REQUEST_PENDING, found.id)
        repo.log_activity(caller.actor, CANCEL, found.id, "Succeeded")
