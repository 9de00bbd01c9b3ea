"""Long-running operation status, as `Azure-AsyncOperation` URLs return it."""

from __future__ import annotations

from maas.controlplane.services.context import Caller, Services
from maas.controlplane.store.repository import OperationRecord, Repository
from maas.core.errors import NotFound
from maas.core.ids import type_of


def get_operation(services: Services, caller: Caller, operation_id: str) -> OperationRecord:
    with services.db.read() as connection:
        record = Repository(connection).operation(operation_id)
    if record is None:
        raise NotFound(f"The operation '{operation_id}' was not found.", code="OperationNotFound")
    # Anyone who may read the resource may read its operations.
    caller.require(f"{type_of(record.resource_id)}/read", record.resource_id)
    return record
