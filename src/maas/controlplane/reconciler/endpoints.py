"""Reconciling serverless endpoints: Creating/Updating → Online, Deleting → gone.

Today an endpoint needs no compute of its own (pools are shared and start on demand), so the
step checks that what it stands on still holds: its offer and, for marketplace offers, its
subscription. Replicas are not started here: a pool starts on an endpoint's first request, and
models the operator pins (`serving.keepAlive: pinned`) are warmed when the server starts.
"""

from __future__ import annotations

from maas.controlplane.domain.resources import ProvisioningState, Resource
from maas.controlplane.reconciler.loop import Outcome, PermanentError, settle
from maas.controlplane.services.context import Services
from maas.controlplane.services.suspension import settled_state
from maas.controlplane.store.repository import Repository
from maas.protocol.management.endpoints import EndpointState


class EndpointHandler:
    def reconcile(self, services: Services, resource: Resource) -> Outcome:
        if resource.provisioning_state is ProvisioningState.DELETING:
            return Outcome(_delete)
        with services.db.read() as connection:
            if Repository(connection).get(resource.model_version_id or "") is None:
                raise PermanentError("The model version this endpoint was created from no longer exists.")
        return Outcome(_online)

    def fail(self, repo: Repository, resource: Resource, error: PermanentError) -> None:
        if resource.provisioning_state is ProvisioningState.DELETING:
            repo.delete(resource.id)
            repo.finish_operations(resource.id, "Succeeded")
            return
        resource.provisioning_state = ProvisioningState.FAILED
        resource.observed_generation = resource.generation
        resource.properties = {
            **resource.properties,
            "endpointState": str(EndpointState.CREATION_FAILED),
        }
        repo.save(resource)
        repo.finish_operations(resource.id, "Failed", {"code": error.code, "message": str(error)})


def _online(repo: Repository, resource: Resource) -> None:
    # Checked in the committing transaction, not when the step began: a subscription deleted
    # meanwhile must leave the endpoint Unhealthy, never Online (and a suspended account's
    # endpoint stays Suspended).
    state = settled_state(repo, resource)
    resource.properties = {**resource.properties, "endpointState": str(state)}
    settle(resource)
    repo.save(resource)
    repo.finish_operations(resource.id, "Succeeded")


def _delete(repo: Repository, resource: Resource) -> None:
    repo.delete(resource.id)
    repo.finish_operations(resource.id, "Succeeded")
