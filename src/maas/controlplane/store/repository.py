"""Reads and writes of the control-plane tables, bound to one open transaction.

Services open a transaction with `Database.read()`/`write()` and wrap its connection in a
`Repository`; every method here is one or two statements and never commits. Rows come back as
domain objects, never as table rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update
from sqlalchemy.engine import RowMapping

from maas.controlplane.domain.activity import Actor
from maas.controlplane.domain.authz import Permission, RoleDefinition
from maas.controlplane.domain.resources import (
    Principal,
    PrincipalType,
    ProvisioningState,
    Quota,
    Resource,
)
from maas.controlplane.store import tables as t
from maas.controlplane.store.activity import ActivityLog
from maas.core.clock import utcnow
from maas.core.errors import Conflict, ValidationFailed
from maas.core.ids import key_of
from maas.core.jsontext import scrub, unencodable_path


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _resource(row: RowMapping) -> Resource:
    return Resource(
        id=row["id"],
        type=row["type"],
        name=row["name"],
        parent_id=row["parent_key"],
        properties=dict(row["properties"] or {}),
        created_at=_aware(row["created_at"]),
        created_by=row["created_by"],
        created_by_type=row["created_by_type"],
        last_modified_at=_aware(row["last_modified_at"]),
        last_modified_by=row["last_modified_by"],
        last_modified_by_type=row["last_modified_by_type"],
        provisioning_state=ProvisioningState(row["provisioning_state"]),
        subscription=row["subscription"],
        resource_group=row["resource_group"],
        location=row["location"],
        kind=row["kind"],
        sku=row["sku"],
        tags=dict(row["tags"] or {}),
        plan=row["plan"],
        generation=row["generation"],
        observed_generation=row["observed_generation"],
        model_version_id=row["model_version_id"],
        offer_id=row["offer_id"],
        quota=(
            Quota(row["quota_tokens_per_minute"], row["quota_requests_per_minute"])
            if row["quota_tokens_per_minute"] is not None
            else None
        ),
        billing_suspended=bool(row["billing_suspended"]),
    )


# The fields whose strings come from clients (checked for what UTF-8 cannot encode).
_CLIENT_FIELDS = ("name", "location", "kind", "sku", "tags", "plan", "properties")


def _resource_row(resource: Resource) -> dict[str, Any]:
    row = {
        "key": resource.key,
        "id": resource.id,
        "type": resource.type,
        "type_key": resource.type.lower(),
        "name": resource.name,
        "parent_key": key_of(resource.parent_id),
        "subscription": resource.subscription.lower() if resource.subscription else None,
        "resource_group": resource.resource_group.lower() if resource.resource_group else None,
        "location": resource.location,
        "kind": resource.kind,
        "sku": resource.sku,
        "tags": resource.tags,
        "plan": resource.plan,
        "properties": resource.properties,
        "provisioning_state": str(resource.provisioning_state),
        "generation": resource.generation,
        "observed_generation": resource.observed_generation,
        "created_at": resource.created_at,
        "created_by": resource.created_by,
        "created_by_type": resource.created_by_type,
        "last_modified_at": resource.last_modified_at,
        "last_modified_by": resource.last_modified_by,
        "last_modified_by_type": resource.last_modified_by_type,
        "model_version_id": resource.model_version_id,
        "offer_id": resource.offer_id,
        "quota_tokens_per_minute": resource.quota.tokens_per_minute if resource.quota else None,
        "quota_requests_per_minute": resource.quota.requests_per_minute if resource.quota else None,
        "billing_suspended": resource.billing_suspended,
    }
    where = unencodable_path({k: row[k] for k in _CLIENT_FIELDS})
    if where is not None:  # nothing that cannot be read back out may be written
        raise ValidationFailed(
            f"'{where}' holds a string that is not valid Unicode (a lone UTF-16 surrogate).", target=where
        )
    return row


@dataclass(frozen=True)
class KeyRecord:
    endpoint_key: str
    primary_ciphertext: str
    secondary_ciphertext: str
    primary_digest: str
    secondary_digest: str


@dataclass(frozen=True)
class QuotaChange:
    endpoint_id: str
    tokens_per_minute: int
    requests_per_minute: int
    previous_tokens_per_minute: int
    previous_requests_per_minute: int
    reason: str
    changed_by: str
    changed_at: datetime


@dataclass(frozen=True)
class RoleAssignmentRecord:
    id: str
    name: str
    scope: str
    role_definition_id: str
    principal_id: str
    principal_type: str
    description: str | None
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class OperationRecord:
    id: str
    resource_id: str
    action: str
    status: str
    error: dict[str, Any] | None
    created_at: datetime
    ended_at: datetime | None


class Repository:
    def __init__(self, connection: Connection) -> None:
        self.c = connection

    # -- resources ---------------------------------------------------------------------------
    def get(self, resource_id: str, *, for_update: bool = False) -> Resource | None:
        query = select(t.resources).where(t.resources.c.key == key_of(resource_id))
        if for_update:
            query = query.with_for_update()
        row = self.c.execute(query).mappings().first()
        return _resource(row) if row else None

    def insert(self, resource: Resource) -> None:
        self.c.execute(insert(t.resources).values(**_resource_row(resource)))

    def save(self, resource: Resource) -> None:
        row = _resource_row(resource)
        self.c.execute(update(t.resources).where(t.resources.c.key == row.pop("key")).values(**row))

    def delete(self, resource_id: str) -> None:
        key = key_of(resource_id)
        self.c.execute(delete(t.resources).where(t.resources.c.key == key))
        self.c.execute(delete(t.claims).where(t.claims.c.owner_key == key))
        self.c.execute(delete(t.secrets).where(t.secrets.c.owner_key == key))
        self.c.execute(delete(t.endpoint_keys).where(t.endpoint_keys.c.endpoint_key == key))

    def children(
        self, parent_id: str, type_: str, *, after: str | None = None, limit: int | None = None
    ) -> list[Resource]:
        query = select(t.resources).where(
            t.resources.c.parent_key == key_of(parent_id),
            t.resources.c.type_key == type_.lower(),
        )
        if after is not None:
            query = query.where(t.resources.c.key > after)
        query = query.order_by(t.resources.c.key)
        if limit is not None:
            query = query.limit(limit)
        return [_resource(row) for row in self.c.execute(query).mappings()]

    def has_children(self, parent_id: str) -> bool:
        query = select(t.resources.c.key).where(t.resources.c.parent_key == key_of(parent_id))
        return self.c.execute(query.limit(1)).first() is not None

    def in_scope(
        self,
        subscription: str,
        resource_group: str | None,
        *,
        types: Sequence[str] | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[Resource]:
        conditions = [t.resources.c.subscription == subscription.lower()]
        if resource_group is not None:
            conditions.append(t.resources.c.resource_group == resource_group.lower())
        else:
            conditions.append(t.resources.c.resource_group.is_not(None))
        if types is not None:
            conditions.append(t.resources.c.type_key.in_([x.lower() for x in types]))
        if after is not None:
            conditions.append(t.resources.c.key > after)
        query = select(t.resources).where(and_(*conditions)).order_by(t.resources.c.key)
        if limit is not None:
            query = query.limit(limit)
        return [_resource(row) for row in self.c.execute(query).mappings()]

    def of_type(self, type_: str) -> list[Resource]:
        query = select(t.resources).where(t.resources.c.type_key == type_.lower())
        return [_resource(row) for row in self.c.execute(query.order_by(t.resources.c.key)).mappings()]

    def pending(self, limit: int = 100) -> list[Resource]:
        """Resources whose desired state the reconciler has not reached yet."""
        states = [str(s) for s in ProvisioningState if not s.is_terminal]
        query = select(t.resources).where(t.resources.c.provisioning_state.in_(states))
        return [_resource(r) for r in self.c.execute(query.limit(limit)).mappings()]

    # -- claims: database-enforced uniqueness across resources --------------------------------
    def claim(self, namespace: str, value: str, owner_id: str, conflict: str, code: str = "Conflict") -> None:
        owner = self.claim_owner(namespace, value)
        if owner is None:
            self.c.execute(
                insert(t.claims).values(namespace=namespace, value=value.lower(), owner_key=key_of(owner_id))
            )
        elif owner != key_of(owner_id):
            raise Conflict(conflict, code=code)

    def claim_owner(self, namespace: str, value: str) -> str | None:
        query = select(t.claims.c.owner_key).where(
            t.claims.c.namespace == namespace, t.claims.c.value == value.lower()
        )
        return self.c.execute(query).scalar()

    def referenced(self, namespace: str, target_id: str) -> bool:
        """Whether any `reference(namespace, target_id, ...)` claim exists."""
        prefix = key_of(target_id) + "|"
        query = select(t.claims.c.owner_key).where(
            t.claims.c.namespace == namespace, t.claims.c.value.startswith(prefix, autoescape=True)
        )
        return self.c.execute(query.limit(1)).first() is not None

    def reference(self, namespace: str, target_id: str, owner_id: str) -> None:
        """Record that `owner_id` uses `target_id`; released with the owner."""
        self.claim(namespace, f"{key_of(target_id)}|{key_of(owner_id)}", owner_id, "duplicate reference")

    def release(self, namespace: str, owner_id: str) -> None:
        self.c.execute(
            delete(t.claims).where(
                t.claims.c.namespace == namespace, t.claims.c.owner_key == key_of(owner_id)
            )
        )

    # -- endpoint keys -------------------------------------------------------------------------
    def put_keys(self, record: KeyRecord) -> None:
        self.c.execute(delete(t.endpoint_keys).where(t.endpoint_keys.c.endpoint_key == record.endpoint_key))
        self.c.execute(insert(t.endpoint_keys).values(rotated_at=utcnow(), **record.__dict__))

    def get_keys(self, endpoint_id: str) -> KeyRecord | None:
        query = select(t.endpoint_keys).where(t.endpoint_keys.c.endpoint_key == key_of(endpoint_id))
        row = self.c.execute(query).mappings().first()
        if row is None:
            return None
        return KeyRecord(**{k: row[k] for k in KeyRecord.__dataclass_fields__})

    # -- secrets -------------------------------------------------------------------------------
    def put_secret(self, owner_id: str, name: str, ciphertext: str) -> None:
        self.delete_secret(owner_id, name)
        key = key_of(owner_id)
        self.c.execute(insert(t.secrets).values(owner_key=key, name=name, ciphertext=ciphertext))

    def delete_secret(self, owner_id: str, name: str) -> None:
        key = key_of(owner_id)
        self.c.execute(delete(t.secrets).where(t.secrets.c.owner_key == key, t.secrets.c.name == name))

    def get_secret(self, owner_id: str, name: str) -> str | None:
        query = select(t.secrets.c.ciphertext).where(
            t.secrets.c.owner_key == key_of(owner_id), t.secrets.c.name == name
        )
        return self.c.execute(query).scalar()

    # -- principals ----------------------------------------------------------------------------
    def add_principal(self, principal: Principal, token_digest: str) -> None:
        self.c.execute(
            insert(t.principals).values(
                id=principal.id,
                name=principal.name,
                principal_type=str(principal.principal_type),
                token_digest=token_digest,
                disabled=False,
                created_at=utcnow(),
            )
        )

    def principal_by_token(self, token_digest: str) -> Principal | None:
        query = select(t.principals).where(
            t.principals.c.token_digest == token_digest, t.principals.c.disabled.is_(False)
        )
        row = self.c.execute(query).mappings().first()
        return Principal(row["id"], row["name"], PrincipalType(row["principal_type"])) if row else None

    def enabled_principal(self, principal_id: str) -> Principal | None:
        """The principal with this object id, if it exists and is enabled (an access token's oid)."""
        query = select(t.principals).where(
            t.principals.c.id == principal_id, t.principals.c.disabled.is_(False)
        )
        row = self.c.execute(query).mappings().first()
        return Principal(row["id"], row["name"], PrincipalType(row["principal_type"])) if row else None

    def set_principal_token(self, principal_id: str, token_digest: str) -> None:
        self.c.execute(
            update(t.principals).where(t.principals.c.id == principal_id).values(token_digest=token_digest)
        )

    def principal(self, name_or_id: str) -> Principal | None:
        table = t.principals
        query = select(table).where((table.c.id == name_or_id) | (table.c.name == name_or_id))
        row = self.c.execute(query).mappings().first()
        return Principal(row["id"], row["name"], PrincipalType(row["principal_type"])) if row else None

    # -- custom role definitions ---------------------------------------------------------------
    def role_definition(self, guid: str) -> RoleDefinition | None:
        row = self.c.execute(select(t.role_definitions).where(t.role_definitions.c.key == guid.lower()))
        found = row.mappings().first()
        return self._role_definition(found) if found else None

    def role_definitions(self, guids: Sequence[str] | None = None) -> list[RoleDefinition]:
        """Custom role definitions, all or those with these GUIDs, ordered by GUID."""
        query = select(t.role_definitions).order_by(t.role_definitions.c.key)
        if guids is not None:
            query = query.where(t.role_definitions.c.key.in_([g.lower() for g in guids]))
        return [self._role_definition(row) for row in self.c.execute(query).mappings()]

    def role_definition_named(self, role_name: str) -> RoleDefinition | None:
        query = select(t.role_definitions).where(t.role_definitions.c.role_name_key == role_name.lower())
        found = self.c.execute(query).mappings().first()
        return self._role_definition(found) if found else None

    def put_role_definition(self, role: RoleDefinition, by: str) -> None:
        """Insert or replace a custom role definition."""
        now = utcnow()
        values = {
            "role_name": role.role_name,
            "role_name_key": role.role_name.lower(),
            "description": role.description,
            "permissions": [
                {
                    "actions": list(p.actions),
                    "notActions": list(p.not_actions),
                    "dataActions": list(p.data_actions),
                    "notDataActions": list(p.not_data_actions),
                }
                for p in role.permissions
            ],
            "assignable_scopes": list(role.assignable_scopes),
            "updated_at": now,
            "updated_by": by,
        }
        key = role.guid.lower()
        table = t.role_definitions
        if self.c.execute(select(table.c.key).where(table.c.key == key)).first() is None:
            self.c.execute(
                insert(table).values(key=key, guid=role.guid, created_at=now, created_by=by, **values)
            )
        else:
            self.c.execute(update(table).where(table.c.key == key).values(**values))

    def delete_role_definition(self, guid: str) -> None:
        self.c.execute(delete(t.role_definitions).where(t.role_definitions.c.key == guid.lower()))

    def role_definition_in_use(self, role_definition_id: str) -> bool:
        """Whether any role assignment references this role (its tenant-form id, any case)."""
        table = t.role_assignments
        ids = {role_definition_id, role_definition_id.lower()}
        query = select(table.c.key).where(table.c.role_definition_id.in_(ids))
        return self.c.execute(query.limit(1)).first() is not None

    @staticmethod
    def _role_definition(row: RowMapping) -> RoleDefinition:
        return RoleDefinition(
            guid=row["guid"],
            role_name=row["role_name"],
            description=row["description"],
            role_type="CustomRole",
            permissions=tuple(
                Permission(
                    actions=tuple(p.get("actions", ())),
                    not_actions=tuple(p.get("notActions", ())),
                    data_actions=tuple(p.get("dataActions", ())),
                    not_data_actions=tuple(p.get("notDataActions", ())),
                )
                for p in row["permissions"]
            ),
            assignable_scopes=tuple(row["assignable_scopes"]),
        )

    # -- role assignments ----------------------------------------------------------------------
    def add_role_assignment(self, record: RoleAssignmentRecord) -> None:
        self.c.execute(
            insert(t.role_assignments).values(
                key=key_of(record.id), scope_key=key_of(record.scope) or "/", **record.__dict__
            )
        )

    def role_assignment(self, assignment_id: str) -> RoleAssignmentRecord | None:
        query = select(t.role_assignments).where(t.role_assignments.c.key == key_of(assignment_id))
        row = self.c.execute(query).mappings().first()
        return self._assignment(row) if row else None

    def delete_role_assignment(self, assignment_id: str) -> None:
        self.c.execute(delete(t.role_assignments).where(t.role_assignments.c.key == key_of(assignment_id)))

    def role_assignments_for(self, principal_id: str) -> list[RoleAssignmentRecord]:
        query = select(t.role_assignments).where(t.role_assignments.c.principal_id == principal_id)
        return [self._assignment(row) for row in self.c.execute(query).mappings()]

    def role_assignments_at(self, scope: str) -> list[RoleAssignmentRecord]:
        query = select(t.role_assignments).where(t.role_assignments.c.scope_key == (key_of(scope) or "/"))
        return [
            self._assignment(r) for r in self.c.execute(query.order_by(t.role_assignments.c.key)).mappings()
        ]

    @staticmethod
    def _assignment(row: RowMapping) -> RoleAssignmentRecord:
        values = {k: row[k] for k in RoleAssignmentRecord.__dataclass_fields__}
        values["created_at"] = _aware(values["created_at"])
        return RoleAssignmentRecord(**values)

    # -- operations and activity ---------------------------------------------------------------
    def add_operation(self, operation_id: str, resource_id: str, action: str, status: str) -> None:
        self.c.execute(
            insert(t.operations).values(
                id=operation_id,
                resource_key=key_of(resource_id),
                resource_id=resource_id,
                action=action,
                status=status,
                created_at=utcnow(),
                ended_at=None if status == "InProgress" else utcnow(),
            )
        )

    def operation(self, operation_id: str) -> OperationRecord | None:
        row = self.c.execute(select(t.operations).where(t.operations.c.id == operation_id)).mappings().first()
        if row is None:
            return None
        return OperationRecord(
            id=row["id"],
            resource_id=row["resource_id"],
            action=row["action"],
            status=row["status"],
            error=row["error"],
            created_at=_aware(row["created_at"]),
            ended_at=_aware(row["ended_at"]) if row["ended_at"] else None,
        )

    def finish_operations(self, resource_id: str, status: str, error: dict[str, Any] | None = None) -> None:
        self.c.execute(
            update(t.operations)
            .where(
                t.operations.c.resource_key == key_of(resource_id),
                t.operations.c.status == "InProgress",
            )
            .values(status=status, error=scrub(error) if error else error, ended_at=utcnow())
        )

    def log_activity(self, actor: Actor, action: str, resource_id: str, status: str) -> None:
        ActivityLog(self.c).append(actor, action, resource_id, status)

    # -- quotas --------------------------------------------------------------------------------
    def add_quota_change(self, change: QuotaChange) -> None:
        self.c.execute(
            insert(t.quota_changes).values(
                endpoint_key=key_of(change.endpoint_id),
                endpoint_id=change.endpoint_id,
                tokens_per_minute=change.tokens_per_minute,
                requests_per_minute=change.requests_per_minute,
                previous_tokens_per_minute=change.previous_tokens_per_minute,
                previous_requests_per_minute=change.previous_requests_per_minute,
                reason=change.reason,
                changed_by=change.changed_by,
                changed_at=change.changed_at,
            )
        )

    def quota_changes(self, endpoint_id: str, limit: int = 50) -> list[QuotaChange]:
        """The newest `limit` changes of an endpoint's quota, oldest first."""
        rows = self.c.execute(
            select(t.quota_changes)
            .where(t.quota_changes.c.endpoint_key == key_of(endpoint_id))
            .order_by(t.quota_changes.c.seq.desc())
            .limit(limit)
        ).mappings()
        return [
            QuotaChange(
                endpoint_id=row["endpoint_id"],
                tokens_per_minute=row["tokens_per_minute"],
                requests_per_minute=row["requests_per_minute"],
                previous_tokens_per_minute=row["previous_tokens_per_minute"],
                previous_requests_per_minute=row["previous_requests_per_minute"],
                reason=row["reason"],
                changed_by=row["changed_by"],
                changed_at=_aware(row["changed_at"]),
            )
            for row in reversed(list(rows))
        ]
