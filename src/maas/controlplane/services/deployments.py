"""Template deployments (`Microsoft.Resources/deployments`): a template becomes resources.

A deployment is checked whole before anything is created: the template engine evaluates every
expression and orders the resources, and each resource's type, name, the caller's right to write
it and its body (parsed by the same pydantic model its own API uses) are checked here. Only then
are the resources applied, in dependency order, through the existing services with the
deployment caller's identity — so every RBAC check and service rule applies unchanged. If one
fails, the resources this deployment created are deleted again, newest first, and the
deployment is recorded as Failed with the error: nothing is left half deployed. (Resources it
only updated keep their update, as in ARM.)

The PUT does the work synchronously — including waiting, bounded, for the reconciler to bring a
serverless endpoint Online — and answers with the final state, which GET then shows. Deployment
records are kept out of the resource group's generic listing (they are not resources in ARM's
`resources` list either); deleting one deletes only the record, as ARM does. What a record keeps
(parameters as echoed, outputs, dependencies, output resources) is bounded, checked with the
template before anything is deployed, so no record — and no listing of them — can balloon.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from maas.controlplane.domain.resources import ProvisioningState, Resource
from maas.controlplane.services import crud
from maas.controlplane.services.context import Caller, Saved, Services, new_resource, touch
from maas.controlplane.services.kinds import DEPLOYABLE
from maas.controlplane.store.repository import Repository
from maas.core.clock import isoformat, utcnow
from maas.core.errors import BadRequest, MaasError, NotFound, ValidationFailed
from maas.core.ids import (
    DEPLOYMENT_TYPE,
    resource_group_id,
    subscription_id,
)
from maas.protocol.management import kinds
from maas.protocol.management.arm import parse_body
from maas.protocol.management.deployments import DeploymentBody
from maas.protocol.management.kinds import Kind, by_type
from maas.protocol.management.naming import ResourceKind, validate_name
from maas.templates import DeploymentPlan, DeploymentScope, PlannedResource, TemplateError, json_size, plan

ACTION = kinds.DEPLOYMENT.action
WAIT_SECONDS = 120.0
FAILED_MESSAGE = "At least one resource deployment operation failed"
# What one deployment record may keep: ARM's deployment job is limited to 1 MB too.
MAX_RECORD_BYTES = 1024 * 1024


@dataclass(frozen=True)
class _Step:
    resource: PlannedResource
    kind: Kind
    body: BaseModel


def deployment_id(sub: str, rg: str, name: str) -> str:
    return f"{resource_group_id(sub, rg)}/providers/{DEPLOYMENT_TYPE}/{name}"


# -- checking before doing -----------------------------------------------------------------------
def _scope(services: Services, sub: str, rg: str, name: str) -> DeploymentScope:
    with services.db.read() as connection:
        repo = Repository(connection)
        group = repo.get(resource_group_id(sub, rg))
        account = repo.get(subscription_id(sub))
    if group is None:
        raise NotFound(f"Resource group '{rg}' could not be found.", code="ResourceGroupNotFound")
    display = str(account.properties.get("displayName", sub)) if account else sub
    return DeploymentScope(
        sub,
        group.name,
        group.location or "",
        subscription_name=display,
        resource_group_tags=dict(group.tags),
        deployment_name=name,
    )


def _check_resource(caller: Caller, resource: PlannedResource) -> _Step:
    kind = by_type(resource.type)
    if kind is None or kind not in DEPLOYABLE or kind.body is None or kind.name_rule is None:
        raise TemplateError(
            f"The resource type '{resource.type}' is not supported by MaaS. Supported types: "
            f"{', '.join(k.arm_type for k in DEPLOYABLE)}.",
            f"{resource.path}.type",
            code="InvalidTemplateDeployment",
        )
    try:
        validate_name(kind.name_rule, resource.names[-1])
    except BadRequest as exc:
        raise TemplateError(exc.message, f"{resource.path}.name", code=exc.code) from None
    caller.require(kind.write, resource.id)
    raw = json.dumps(resource.body).encode()
    try:
        body: BaseModel = parse_body(kind.body, raw)
    except ValidationFailed as exc:
        where = f"{resource.path}.{exc.target}" if exc.target else resource.path
        raise TemplateError(f"The resource at '{resource.path}' is not valid: {exc.message}", where) from None
    return _Step(resource, kind, body)


def _prepare(
    services: Services, caller: Caller, sub: str, rg: str, name: str, body: DeploymentBody
) -> tuple[DeploymentPlan, list[_Step]]:
    props = body.properties
    if props.template_link is not None or props.parameters_link is not None:
        field = "templateLink" if props.template_link is not None else "parametersLink"
        raise BadRequest(
            f"'{field}' is not supported by MaaS: send the template and its parameters inline "
            "(properties.template, properties.parameters).",
            code="InvalidTemplateDeployment",
            target=f"properties.{field}",
        )
    if props.mode.lower() != "incremental":
        raise BadRequest(
            f"Deployment mode '{props.mode}' is not supported by MaaS; only 'Incremental' is (Complete "
            "mode would delete every resource of the group that the template does not name).",
            code="InvalidTemplateDeployment",
            target="properties.mode",
        )
    if props.template is None:
        raise BadRequest(
            "The deployment has no template.", code="InvalidTemplateDeployment", target="properties.template"
        )
    planned = plan(props.template, props.parameters, _scope(services, sub, rg, name))
    _check_record_size(planned)
    return planned, [_check_resource(caller, r) for r in planned.resources]


def _check_record_size(planned: DeploymentPlan) -> None:
    """Refuse a deployment whose record would keep more than MAX_RECORD_BYTES; target the biggest part."""
    limit = MAX_RECORD_BYTES
    refs = {r.id: json_size(_ref(r), limit) for r in planned.resources}
    dependencies = sum(refs[r.id] + 16 + sum(refs[d] + 1 for d in r.depends_on) for r in planned.resources)
    parts = [(dependencies, "dependencies"), (sum(refs.values()), "outputResources")]
    for section, values in (("parameters", planned.parameters), ("outputs", planned.outputs)):
        parts += [(json_size(v, limit), f"{section}.{k}") for k, v in values.items()]
    total = sum(n for n, _ in parts)
    if total > limit:
        raise TemplateError(
            f"The deployment would keep {total} bytes (parameters, outputs, dependencies and output "
            f"resources, as it is shown and listed); MaaS keeps at most {limit} bytes per deployment. "
            f"The largest part is '{max(parts)[1]}'.",
            max(parts)[1],
            code="DeploymentJobSizeExceeded",
        )


# -- doing ---------------------------------------------------------------------------------------
def _wait(services: Services, operation: str, what: str) -> None:
    """Wait (bounded) for a long-running operation the reconciler finishes; raise if it failed."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        with services.db.read() as connection:
            record = Repository(connection).operation(operation)
        if record is not None and record.status != "InProgress":
            if record.status != "Succeeded":
                error = record.error or {}
                raise BadRequest(
                    str(error.get("message", f"{what} failed.")), code=str(error.get("code", "Failed"))
                )
            return
        if time.monotonic() > deadline:
            raise MaasError(
                f"{what} did not finish within {WAIT_SECONDS:.0f} seconds.", code="DeploymentTimeout"
            )
        time.sleep(0.05)


def _apply(services: Services, caller: Caller, sub: str, rg: str, step: _Step) -> bool:
    """Create or update one resource; True when it was created (so a rollback removes it)."""
    names = tuple(step.resource.names)
    result = DEPLOYABLE[step.kind].put(services, caller, sub, rg, names, step.body)
    created, operation = result.created, result.operation
    if operation is not None:
        try:
            _wait(services, operation, f"{step.kind.label.capitalize()} '{names[-1]}'")
        except MaasError:
            if created:  # it exists, Failed: this deployment made it, so it removes it
                _remove(services, caller, sub, rg, step.resource)
            raise
    return created


def _remove(services: Services, caller: Caller, sub: str, rg: str, resource: PlannedResource) -> None:
    kind = by_type(resource.type)
    assert kind is not None  # checked before anything was applied
    names = tuple(resource.names)
    operation = DEPLOYABLE[kind].delete(services, caller, sub, rg, names)
    if operation is not None:
        _wait(services, operation, f"Deleting {kind.label} '{names[-1]}'")


def _failure(step: _Step, exc: MaasError) -> dict[str, Any]:
    detail: dict[str, Any] = {"code": exc.code, "message": exc.message}
    detail["target"] = f"{step.resource.path}.{exc.target}" if exc.target else step.resource.path
    return {
        "code": "DeploymentFailed",
        "message": f"{FAILED_MESSAGE}: '{step.resource.id}' ({step.resource.path}): {exc.message}",
        "target": detail["target"],
        "details": [detail],
    }


def _ref(resource: PlannedResource) -> dict[str, Any]:
    return {"id": resource.id, "resourceType": resource.type, "resourceName": "/".join(resource.names)}


def _dependencies(resources: list[PlannedResource]) -> list[dict[str, Any]]:
    refs = {r.id: _ref(r) for r in resources}
    return [{**refs[r.id], "dependsOn": [refs[d] for d in r.depends_on]} for r in resources if r.depends_on]


def put_deployment(
    services: Services, caller: Caller, sub: str, rg: str, name: str, body: DeploymentBody
) -> Saved[Resource]:
    rid = deployment_id(sub, rg, name)
    caller.require(f"{ACTION}/write", rid)
    validate_name(ResourceKind.DEPLOYMENT, name)
    started, clock = utcnow(), time.monotonic()
    planned, steps = _prepare(services, caller, sub, rg, name, body)
    applied: list[tuple[PlannedResource, bool]] = []
    error: dict[str, Any] | None = None
    for step in steps:
        try:
            applied.append((step.resource, _apply(services, caller, sub, rg, step)))
        except MaasError as exc:
            error = _failure(step, exc)
            break
    if error is not None:
        for resource, created in reversed(applied):
            if created:
                try:
                    _remove(services, caller, sub, rg, resource)
                except MaasError as exc:  # keep going: remove what can be removed, say what stayed
                    error["details"].append(
                        {"code": exc.code, "message": f"Rollback of '{resource.id}': {exc.message}"}
                    )
        applied = [(r, c) for r, c in applied if not c]
    properties: dict[str, Any] = {
        "templateHash": planned.template_hash,
        "parameters": planned.parameters,
        "mode": "Incremental",
        "timestamp": isoformat(utcnow()),
        "duration": f"PT{time.monotonic() - clock:.7f}S",
        "correlationId": str(uuid.uuid4()),
        "providers": sorted({r.type.split("/")[0] for r in planned.resources}),
        "dependencies": _dependencies(planned.resources),
        "outputResources": [{"id": r.id} for r, _ in applied],
        "outputs": planned.outputs if error is None else {},
    }
    properties["providers"] = [{"namespace": ns} for ns in properties["providers"]]
    if error is not None:
        properties["error"] = error
    state = ProvisioningState.FAILED if error else ProvisioningState.SUCCEEDED
    with services.db.write() as connection:
        repo = Repository(connection)
        existing = repo.get(rid, for_update=True)
        if existing is None:
            record = new_resource(
                caller,
                id=rid,
                type=DEPLOYMENT_TYPE,
                name=name,
                parent_id=resource_group_id(sub, rg),
                properties=properties,
                state=state,
                tags=body.tags,
            )
            record.created_at = started
            repo.insert(record)
        else:
            record = existing
            record.properties, record.provisioning_state, record.tags = properties, state, body.tags
            touch(record, caller)
            repo.save(record)
        repo.log_activity(caller.actor, f"{ACTION}/write", rid, str(state))
    return Saved(record, existing is None)


def validate_deployment(
    services: Services, caller: Caller, sub: str, rg: str, name: str, body: DeploymentBody
) -> dict[str, Any]:
    rid = deployment_id(sub, rg, name)
    caller.require(f"{ACTION}/validate/action", rid)
    validate_name(ResourceKind.DEPLOYMENT, name)
    planned, _steps = _prepare(services, caller, sub, rg, name, body)
    return {
        "id": rid,
        "name": name,
        "type": DEPLOYMENT_TYPE,
        "properties": {
            "templateHash": planned.template_hash,
            "parameters": planned.parameters,
            "mode": "Incremental",
            "provisioningState": "Succeeded",
            "timestamp": isoformat(utcnow()),
            "validatedResources": [{"id": r.id} for r in planned.resources],
        },
    }


def get_deployment(services: Services, caller: Caller, sub: str, rg: str, name: str) -> Resource:
    rid = deployment_id(sub, rg, name)
    caller.require(f"{ACTION}/read", rid)
    with services.db.read() as connection:
        found = Repository(connection).get(rid)
    if found is None or found.type != DEPLOYMENT_TYPE:
        raise NotFound(f"Deployment '{name}' could not be found.", code="DeploymentNotFound")
    return found


def list_deployments(services: Services, caller: Caller, sub: str, rg: str) -> list[Resource]:
    caller.require(f"{ACTION}/read", resource_group_id(sub, rg))
    with services.db.read() as connection:
        repo = Repository(connection)
        if repo.get(resource_group_id(sub, rg)) is None:
            raise NotFound(f"Resource group '{rg}' could not be found.", code="ResourceGroupNotFound")
        found = repo.children(resource_group_id(sub, rg), DEPLOYMENT_TYPE)
    return [d for d in found]


def delete_deployment(services: Services, caller: Caller, sub: str, rg: str, name: str) -> bool:
    """Delete the deployment's record only; the resources it deployed stay, as in ARM."""
    return crud.remove(services, caller, kinds.DEPLOYMENT, deployment_id(sub, rg, name))
