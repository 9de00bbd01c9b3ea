"""Serverless endpoints: one create call gives a Target URI and two keys.

The API writes the desired state (provisioningState Creating/Updating/Deleting, an operation
InProgress) and wakes the reconciler, which brings the endpoint Online (later: warms its model
pool) and finishes the operation. Uniqueness rules are claims checked in the same transaction:
the endpoint name is unique per region (it is part of the URL), and a workspace has one
endpoint per model.

Keys: two per endpoint, random 256-bit secrets unless the caller chooses one with
`regenerateKeys` `keyValue` (the rule for a chosen value: `maas.controlplane.domain.keys`). A
chosen value is never checked against other endpoints' keys: digests are scoped to their endpoint,
so the same value on two endpoints is two different digests and nothing to refuse. Refusing it
would answer "some endpoint somewhere holds this key", an oracle for other tenants' keys. The
only collision refused is with the endpoint's own other key, which the caller may list anyway.
"""

from __future__ import annotations

from typing import Any

from maas.controlplane.domain.keys import key_digest, require_strong_key
from maas.controlplane.domain.resources import ProvisioningState, Resource
from maas.controlplane.services import crud
from maas.controlplane.services.accounts import require_paid_capable
from maas.controlplane.services.catalog import resolve
from maas.controlplane.services.context import (
    Caller,
    Page,
    Saved,
    Services,
    new_operation_id,
    new_resource,
    require_parent,
    require_resource,
    touch,
    workspace_children,
)
from maas.controlplane.services.marketplace import subscription_for_offer
from maas.controlplane.services.offers import (
    is_marketplace,
    is_paid,
    offer_for,
    serves_region,
)
from maas.controlplane.services.quota_requests import cancel_pending
from maas.controlplane.store.claims import (
    MODEL_IN_WORKSPACE,
    MODEL_VERSION_IN_USE,
    NAME_IN_REGION,
    OFFER_IN_USE,
)
from maas.controlplane.store.repository import KeyRecord, Repository
from maas.core.crypto import Vault, new_key
from maas.core.errors import BadRequest, Conflict, NotFound
from maas.core.ids import ENDPOINT_TYPE, key_of, subscription_id, workspace_child_id, workspace_id
from maas.protocol.management import kinds
from maas.protocol.management.endpoints import (
    EndpointBody,
    EndpointState,
    KeyType,
    RegenerateKeysBody,
)
from maas.protocol.management.marketplace import SubscriptionStatus
from maas.protocol.management.naming import ResourceKind, normalise_location, validate_name

ACTION = kinds.SERVERLESS_ENDPOINT.action


def endpoint_id(sub: str, rg: str, ws: str, name: str) -> str:
    return workspace_child_id(sub, rg, ws, "serverlessEndpoints", name)


def target_uri(services: Services, location: str, name: str) -> str:
    base = services.settings.base_url
    domain = services.settings.inference_domain
    if domain:
        scheme, _, rest = base.partition("://")
        port = rest.rsplit(":", 1)[1] if ":" in rest.split("/")[0] and not rest.startswith("[") else ""
        default = {"http": "80", "https": "443"}[scheme]
        suffix = f":{port}" if port and port != default else ""
        return f"{scheme}://{name}.{location}.{domain}{suffix}".lower()
    return f"{base}/endpoints/{location}/{name}"


def put_endpoint(
    services: Services, caller: Caller, sub: str, rg: str, ws: str, name: str, body: EndpointBody
) -> Saved[Resource]:
    """Create or update; the operation is set when work was left to the reconciler."""
    result = _put_endpoint(services, caller, sub, rg, ws, name, body)
    if result.operation is not None:  # committed: now the reconciler and the gateway can see it
        services.wake_reconciler()
        services.endpoints_changed()
    return result


def _put_endpoint(
    services: Services, caller: Caller, sub: str, rg: str, ws: str, name: str, body: EndpointBody
) -> Saved[Resource]:
    validate_name(ResourceKind.SERVERLESS_ENDPOINT, name)
    rid = endpoint_id(sub, rg, ws, name)
    caller.require(f"{ACTION}/write", rid)
    if body.sku.name.lower() != "consumption":
        raise BadRequest(
            f"Serverless endpoints use the 'Consumption' SKU, not '{body.sku.name}'.",
            code="InvalidSku",
            target="sku.name",
        )
    props = body.properties
    target = "properties.modelSettings.modelId"
    with services.db.write() as connection:
        repo = Repository(connection)
        workspace = require_parent(repo, workspace_id(sub, rg, ws), "workspace")
        location = normalise_location(body.location) if body.location else (workspace.location or "")
        if location != workspace.location:
            raise BadRequest(
                f"The endpoint must be in its workspace's region '{workspace.location}', not '{location}'.",
                code="LocationMismatch",
                target="location",
            )
        model, version = resolve(repo, props.model_settings.model_id, target=target)
        existing = repo.get(rid, for_update=True)
        if existing is not None:
            return _update(services, repo, caller, existing, model.unversioned, body)
        offer = offer_for(repo, model, target=target)
        if not serves_region(offer, location):
            raise BadRequest(
                f"The model '{model.unversioned}' is not available as a serverless API in region "
                f"'{location}' (available in: {', '.join(offer.properties['regions'])}).",
                code="OfferNotAvailableInRegion",
                target="location",
            )
        marketplace_subscription_id = None
        if is_marketplace(offer):
            subscription = subscription_for_offer(repo, workspace.id, offer)
            if (
                subscription is None
                or subscription.properties.get("marketplaceSubscriptionStatus")
                != SubscriptionStatus.SUBSCRIBED
            ):
                raise BadRequest(
                    f"Workspace '{ws}' has no marketplace subscription to the offer '{offer.name}' of "
                    f"model '{model.unversioned}'. Subscribe the workspace first (create a "
                    "marketplaceSubscriptions resource with this modelId).",
                    code="MarketplaceSubscriptionRequired",
                    target=target,
                )
            marketplace_subscription_id = subscription.id
        elif is_paid(offer):
            require_paid_capable(require_resource(repo, subscription_id(sub), "subscription"), offer.name)
        repo.claim(
            NAME_IN_REGION,
            f"{location}/{name}",
            rid,
            f"The endpoint name '{name}' is already used in region '{location}'. The name is part "
            "of the endpoint's URL and must be unique in each region.",
            code="EndpointNameInUse",
        )
        holder = repo.claim_owner(MODEL_IN_WORKSPACE, f"{key_of(workspace.id)}|{key_of(model.resource_id)}")
        if holder is not None:
            raise Conflict(
                f"Workspace '{ws}' already has a serverless endpoint for '{model.unversioned}' "
                f"('{holder.rsplit('/', 1)[-1]}'); one deployment per model per workspace.",
                code="ModelAlreadyDeployed",
            )
        repo.claim(MODEL_IN_WORKSPACE, f"{key_of(workspace.id)}|{key_of(model.resource_id)}", rid, "")
        repo.reference(OFFER_IN_USE, offer.id, rid)
        repo.reference(MODEL_VERSION_IN_USE, version.id, rid)
        properties: dict[str, Any] = {
            "modelSettings": {"modelId": model.unversioned},
            "authMode": str(props.auth_mode),
            "contentSafety": (
                props.content_safety.model_dump(by_alias=True)
                if props.content_safety
                else {"contentSafetyStatus": "Disabled"}
            ),
            "inferenceEndpoint": {"uri": target_uri(services, location, name), "headers": {}},
            "endpointState": str(EndpointState.CREATING),
            "marketplaceSubscriptionId": marketplace_subscription_id,
        }
        resource = new_resource(
            caller,
            id=rid,
            type=ENDPOINT_TYPE,
            name=name,
            parent_id=workspace.id,
            properties=properties,
            state=ProvisioningState.CREATING,
            subscription=sub,
            resource_group=rg,
            location=location,
            kind=body.kind,
            sku=body.sku.model_dump(by_alias=True, exclude_none=True),
            tags=body.tags,
            model_version_id=version.id,
            offer_id=offer.id,
        )
        repo.insert(resource)
        _write_keys(services, repo, rid, new_key(), new_key())
        operation = new_operation_id()
        repo.add_operation(operation, rid, "create", "InProgress")
        repo.log_activity(caller.actor, f"{ACTION}/write", rid, "Accepted")
    return Saved(resource, True, operation)


def _update(
    services: Services,
    repo: Repository,
    caller: Caller,
    resource: Resource,
    model_id: str,
    body: EndpointBody,
) -> Saved[Resource]:
    if resource.provisioning_state is ProvisioningState.DELETING:
        raise Conflict(f"Endpoint '{resource.name}' is being deleted.", code="ResourceBeingDeleted")
    current = resource.properties["modelSettings"]["modelId"]
    if current.lower() != model_id.lower():
        raise Conflict(
            f"Endpoint '{resource.name}' serves '{current}'; its model cannot change. Create "
            "another endpoint instead.",
            code="PropertyImmutable",
            target="properties.modelSettings.modelId",
        )
    props = body.properties
    wanted = {
        "authMode": str(props.auth_mode),
        "contentSafety": (
            props.content_safety.model_dump(by_alias=True)
            if props.content_safety
            else resource.properties.get("contentSafety")
        ),
    }
    changed = any(resource.properties.get(k) != v for k, v in wanted.items()) or resource.tags != body.tags
    if not changed:
        return Saved(resource, False)
    resource.properties = {**resource.properties, **wanted}
    resource.tags = body.tags
    resource.generation += 1
    resource.provisioning_state = ProvisioningState.UPDATING
    touch(resource, caller)
    repo.save(resource)
    operation = new_operation_id()
    repo.add_operation(operation, resource.id, "update", "InProgress")
    repo.log_activity(caller.actor, f"{ACTION}/write", resource.id, "Accepted")
    return Saved(resource, False, operation)


def get_endpoint(services: Services, caller: Caller, sub: str, rg: str, ws: str, name: str) -> Resource:
    return crud.read(services, caller, kinds.SERVERLESS_ENDPOINT, endpoint_id(sub, rg, ws, name))


def list_endpoints(
    services: Services, caller: Caller, sub: str, rg: str, ws: str, after: str | None, limit: int
) -> Page:
    return workspace_children(
        services, caller, workspace_id(sub, rg, ws), ENDPOINT_TYPE, f"{ACTION}/read", after, limit
    )


def delete_endpoint(
    services: Services, caller: Caller, sub: str, rg: str, ws: str, name: str
) -> tuple[str, str] | None:
    """Mark the endpoint Deleting (unusable at once); the reconciler removes it.

    Returns (operation id, location), or None when there was no such endpoint."""
    rid = endpoint_id(sub, rg, ws, name)
    caller.require(f"{ACTION}/delete", rid)
    with services.db.write() as connection:
        repo = Repository(connection)
        resource = repo.get(rid, for_update=True)
        if resource is None:
            return None
        resource.provisioning_state = ProvisioningState.DELETING
        resource.properties = {**resource.properties, "endpointState": str(EndpointState.DELETING)}
        resource.generation += 1
        touch(resource, caller)
        repo.save(resource)
        operation = new_operation_id()
        repo.add_operation(operation, rid, "delete", "InProgress")
        repo.log_activity(caller.actor, f"{ACTION}/delete", rid, "Accepted")
        cancel_pending(repo, caller, rid)  # a pending quota request can never be approved now
    services.wake_reconciler()
    services.endpoints_changed()
    return operation, resource.location or ""


# -- keys ------------------------------------------------------------------------------------
def _write_keys(services: Services, repo: Repository, rid: str, primary: str, secondary: str) -> None:
    vault = services.vault
    repo.put_keys(
        KeyRecord(
            endpoint_key=key_of(rid),
            primary_ciphertext=vault.encrypt(primary),
            secondary_ciphertext=vault.encrypt(secondary),
            primary_digest=key_digest(vault, rid, primary),
            secondary_digest=key_digest(vault, rid, secondary),
        )
    )


def _read_keys(services: Services, repo: Repository, rid: str) -> tuple[str, str]:
    record = repo.get_keys(rid)
    if record is None:
        raise NotFound("The endpoint has no keys.", code="ResourceNotFound")
    return services.vault.decrypt(record.primary_ciphertext), services.vault.decrypt(
        record.secondary_ciphertext
    )


def list_keys(services: Services, caller: Caller, sub: str, rg: str, ws: str, name: str) -> dict[str, str]:
    rid = endpoint_id(sub, rg, ws, name)
    caller.require(f"{ACTION}/listKeys/action", rid)
    with services.db.read() as connection:
        repo = Repository(connection)
        require_resource(repo, rid, "serverless endpoint")
        primary, secondary = _read_keys(services, repo, rid)
    return {"primaryKey": primary, "secondaryKey": secondary}


def regenerate_keys(
    services: Services,
    caller: Caller,
    sub: str,
    rg: str,
    ws: str,
    name: str,
    body: RegenerateKeysBody,
) -> dict[str, str]:
    """Replace one key; the old one stops working when this transaction commits."""
    rid = endpoint_id(sub, rg, ws, name)
    caller.require(f"{ACTION}/regenerateKeys/action", rid)
    with services.db.write() as connection:
        repo = Repository(connection)
        resource = require_resource(repo, rid, "serverless endpoint", for_update=True)
        if resource.provisioning_state is ProvisioningState.DELETING:
            raise Conflict(f"Endpoint '{name}' is being deleted.", code="ResourceBeingDeleted")
        primary, secondary = _read_keys(services, repo, rid)
        current = primary if body.key_type is KeyType.PRIMARY else secondary
        chosen = body.key_value
        # azure-ai-ml sends the key being replaced as keyValue: that means "regenerate it" (and
        # that key may predate the rule for chosen values, so it is compared before the rule).
        if chosen is None or Vault.same(chosen, current):
            fresh = new_key()
        else:
            require_strong_key(chosen)
            if Vault.same(chosen, primary) or Vault.same(chosen, secondary):
                raise BadRequest("The new key must differ from both current keys.", target="keyValue")
            fresh = chosen
        if body.key_type is KeyType.PRIMARY:
            primary = fresh
        else:
            secondary = fresh
        _write_keys(services, repo, rid, primary, secondary)
        repo.log_activity(caller.actor, f"{ACTION}/regenerateKeys/action", rid, "Succeeded")
    services.endpoints_changed()  # the old key stops working in this process at once
    return {"primaryKey": primary, "secondaryKey": secondary}
