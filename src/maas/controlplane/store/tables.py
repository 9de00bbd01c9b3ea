"""The tables of the control-plane store (SQLAlchemy Core).

ARM resources share one table, as ARM's own resource cache does: every resource has the same
envelope (id, type, name, location, sku, tags, properties, systemData, provisioningState) and
differs only in `properties`, which services validate with typed models before writing.
Cross-resource uniqueness rules (an endpoint name per region, one endpoint per model per
workspace, one marketplace subscription per offer per workspace) are rows in `claims`, whose
primary key makes the database, not the application, the referee between concurrent writers.
Migrations in `migrations/` create exactly these tables; a test keeps the two in step.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

ID = 1024

resources = Table(
    "resources",
    metadata,
    Column("key", String(ID), primary_key=True),
    Column("id", String(ID), nullable=False),
    Column("type", String(256), nullable=False),
    Column("type_key", String(256), nullable=False),
    Column("name", String(256), nullable=False),
    Column("parent_key", String(ID), nullable=False),
    Column("subscription", String(64), nullable=True),
    Column("resource_group", String(128), nullable=True),
    Column("location", String(64), nullable=True),
    Column("kind", String(64), nullable=True),
    Column("sku", JSON, nullable=True),
    Column("tags", JSON, nullable=False),
    Column("plan", JSON, nullable=True),
    Column("properties", JSON, nullable=False),
    Column("provisioning_state", String(32), nullable=False),
    Column("generation", Integer, nullable=False),
    Column("observed_generation", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("created_by_type", String(32), nullable=False),
    Column("last_modified_at", DateTime(timezone=True), nullable=False),
    Column("last_modified_by", String(256), nullable=False),
    Column("last_modified_by_type", String(32), nullable=False),
    Index("ix_resources_children", "parent_key", "type_key", "key"),
    Index("ix_resources_scope", "subscription", "resource_group", "key"),
    Index("ix_resources_state", "provisioning_state"),
)

claims = Table(
    "claims",
    metadata,
    Column("namespace", String(64), primary_key=True),
    Column("value", String(2 * ID + 1), primary_key=True),  # "<target id>|<owner id>" for references
    Column("owner_key", String(ID), nullable=False),
    Index("ix_claims_owner", "owner_key"),
)

endpoint_keys = Table(
    "endpoint_keys",
    metadata,
    Column("endpoint_key", String(ID), primary_key=True),
    Column("primary_ciphertext", Text, nullable=False),
    Column("secondary_ciphertext", Text, nullable=False),
    Column("primary_digest", String(64), nullable=False, unique=True),
    Column("secondary_digest", String(64), nullable=False, unique=True),
    Column("rotated_at", DateTime(timezone=True), nullable=False),
)

secrets = Table(
    "secrets",
    metadata,
    Column("owner_key", String(ID), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("ciphertext", Text, nullable=False),
)

principals = Table(
    "principals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("principal_type", String(32), nullable=False),
    Column("token_digest", String(64), nullable=False, unique=True),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

role_assignments = Table(
    "role_assignments",
    metadata,
    Column("key", String(ID), primary_key=True),
    Column("id", String(ID), nullable=False),
    Column("name", String(64), nullable=False),
    Column("scope", String(ID), nullable=False),
    Column("scope_key", String(ID), nullable=False),
    Column("role_definition_id", String(ID), nullable=False),
    Column("principal_id", String(64), nullable=False),
    Column("principal_type", String(32), nullable=False),
    Column("description", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(256), nullable=False),
    Index("ix_role_assignments_principal", "principal_id"),
    Index("ix_role_assignments_scope", "scope_key"),
)

operations = Table(
    "operations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("resource_key", String(ID), nullable=False),
    Column("resource_id", String(ID), nullable=False),
    Column("action", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("error", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Index("ix_operations_resource", "resource_key"),
)

activity_log = Table(
    "activity_log",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("principal_id", String(64), nullable=False),
    Column("action", String(256), nullable=False),
    Column("resource_id", String(ID), nullable=False),
    Column("status", String(32), nullable=False),
)
