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
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
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
    # bookkeeping the API never shows (serverless endpoints): see domain.resources.Resource
    Column("model_version_id", String(ID), nullable=True),
    Column("offer_id", String(ID), nullable=True),
    Column("quota_tokens_per_minute", BigInteger, nullable=True),
    Column("quota_requests_per_minute", BigInteger, nullable=True),
    Column("billing_suspended", Boolean, nullable=False, server_default=false()),
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
    # A static bearer token (the admin's, `Microsoft.MaaS/principals`); none for directory users
    # and service principals, who sign in with a password or a client secret.
    Column("token_digest", String(64), nullable=True, unique=True),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# -- the directory (one tenant per installation) ---------------------------------------------
# A user or a service principal is a row of `principals` (its object id, its enabled flag, what
# role assignments name) plus a row here. Passwords and client secrets are argon2id hashes.
installation = Table(
    "installation",
    metadata,
    Column("name", String(64), primary_key=True),  # "tenantId"
    Column("value", String(256), nullable=False),
)

directory_users = Table(
    "directory_users",
    metadata,
    Column("principal_id", String(64), primary_key=True),
    Column("upn_key", String(128), nullable=False, unique=True),  # lower case: UPNs match so
    Column("user_principal_name", String(128), nullable=False),
    Column("display_name", String(256), nullable=False),
    Column("password_hash", String(256), nullable=True),  # none: the admin until a password is set
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

service_principals = Table(
    "service_principals",
    metadata,
    Column("principal_id", String(64), primary_key=True),
    Column("app_id", String(64), nullable=False, unique=True),
    Column("display_name", String(256), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

client_secrets = Table(
    "client_secrets",
    metadata,
    Column("key_id", String(64), primary_key=True),
    Column("principal_id", String(64), nullable=False),
    Column("display_name", String(256), nullable=True),
    Column("hint", String(8), nullable=False),
    Column("secret_hash", String(256), nullable=False),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Index("ix_client_secrets_principal", "principal_id"),
)

# A principal named by a trusted external issuer's token (issue 13 item 3): a `principals` row
# (object id = the token's oid/sub, name = the same) plus this row, made at its first sign-in.
external_principals = Table(
    "external_principals",
    metadata,
    Column("principal_id", String(64), primary_key=True),
    Column("issuer", String(512), nullable=False),
    Column("display_name", String(256), nullable=False),
    Column("user_principal_name", String(256), nullable=True),
    Column("app_id", String(128), nullable=True),
    Column("tenant_id", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# -- token signing keys (issue 13 item 2) ----------------------------------------------------
# RSA keys that sign access tokens. The private key is encrypted with the server's vault; a
# retired key keeps its row (its public half in the JWKS) until its last token has expired.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(16), nullable=False),
    Column("private_key", Text, nullable=False),  # PKCS#8 PEM, Fernet-encrypted
    Column("public_jwk", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True), nullable=True),
)

# -- sign-in grants (issue 13 item 2) --------------------------------------------------------
# Authorization codes (single use, minutes) and refresh tokens (rotating, days) a user's sign-in
# left. Only a keyed digest of each is stored; using one deletes its row, so it works once.
authorization_grants = Table(
    "authorization_grants",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # "code" | "refresh"
    Column("principal_id", String(64), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("redirect_uri", String(512), nullable=True),  # codes only
    Column("code_challenge", String(128), nullable=True),  # codes only (PKCE S256)
    Column("scope", String(1024), nullable=False),
    Column("nonce", String(256), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_authorization_grants_expires", "expires_at"),
    Index("ix_authorization_grants_principal", "principal_id"),
)

# Browser sign-in sessions (the sign-in page's cookie, and Studio's: their digests are keyed
# apart, so neither cookie opens the other's session): the cookie value is kept only as a keyed
# digest; a session works until it expires, its user signs out, or the user is disabled,
# deleted or given a new password.
signin_sessions = Table(
    "signin_sessions",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("principal_id", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_signin_sessions_expires", "expires_at"),
    Index("ix_signin_sessions_principal", "principal_id"),
)

# What a user chose in Studio (`maas.web`), remembered across sessions: the workspace it works in.
user_preferences = Table(
    "user_preferences",
    metadata,
    Column("principal_id", String(64), primary_key=True),
    Column("workspace_id", String(ID), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
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

# Custom role definitions (built-in roles live in code, `domain/authz.py`). `key` is the GUID in
# lower case; `role_name_key` the lower-cased role name, unique as ARM makes role names.
role_definitions = Table(
    "role_definitions",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("guid", String(64), nullable=False),
    Column("role_name", String(256), nullable=False),
    Column("role_name_key", String(256), nullable=False, unique=True),
    Column("description", Text, nullable=False),
    Column("permissions", JSON, nullable=False),
    Column("assignable_scopes", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(256), nullable=False),
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
    # 0006: the rest of an Azure activity-log event. `subscription` and `resource_group` are the
    # scope's, lower-cased, for the listing's filter; `caller` is the principal's name then.
    Column("event_id", String(36), nullable=False),
    Column("caller", String(256), nullable=False),
    Column("subscription", String(64), nullable=True),
    Column("resource_group", String(90), nullable=True),
    Column("sub_status", String(64), nullable=True),
    Column("correlation_id", String(64), nullable=False),
    Column("client_address", String(64), nullable=False),
    Column("http_method", String(16), nullable=False),
    Index("ix_activity_log_at", "at"),
    Index("ix_activity_log_subscription", "subscription", "at"),
    Index("ix_activity_log_group", "subscription", "resource_group", "at"),
)

# -- metering (written by maas.billing.ledger) ------------------------------------------------
# One row per metered request. `request_id` is the gateway's x-request-id: the primary key is what
# makes writing a record idempotent (a replayed journal inserts nothing twice). Quantities are
# integers (tokens); prices are decimal text, so costs are exact (quantity × price / 1000).
usage_records = Table(
    "usage_records",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("endpoint_key", String(ID), nullable=False),
    Column("endpoint_id", String(ID), nullable=False),
    Column("subscription", String(64), nullable=False),
    Column("resource_group", String(128), nullable=False),
    Column("workspace", String(256), nullable=False),
    Column("billed_resource_id", String(ID), nullable=False),
    Column("model_id", String(ID), nullable=False),
    Column("offer_id", String(ID), nullable=True),
    Column("region", String(64), nullable=False),
    Column("route", String(64), nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("meters", JSON, nullable=False),
    Column("status", String(32), nullable=False),
    Column("started_at", Float(precision=53), nullable=False),
    Column("ended_at", Float(precision=53), nullable=False),
    Index("ix_usage_records_endpoint", "endpoint_key", "ended_at"),
)

# Running totals per billed resource (the SaaS resource, or the endpoint for first-party offers)
# × endpoint × meter × unit price × hour, kept in the same transaction as the records they sum.
# Cost queries read only these rows. `hour` is whole hours since the Unix epoch (UTC).
usage_totals = Table(
    "usage_totals",
    metadata,
    Column("hour", Integer, primary_key=True),
    Column("endpoint_key", String(ID), primary_key=True),
    Column("meter_id", String(128), primary_key=True),
    Column("price_per_1k", String(40), primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("endpoint_id", String(ID), nullable=False),
    Column("subscription", String(64), nullable=False),
    Column("resource_group", String(128), nullable=False),
    Column("workspace", String(256), nullable=False),
    Column("billed_resource_id", String(ID), nullable=False),
    Column("model_id", String(ID), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("records", BigInteger, nullable=False),
    Index("ix_usage_totals_scope", "subscription", "resource_group", "hour"),
)

# Every change an operator makes to a deployment's quota, newest last.
quota_changes = Table(
    "quota_changes",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("endpoint_key", String(ID), nullable=False),
    Column("endpoint_id", String(ID), nullable=False),
    Column("tokens_per_minute", Integer, nullable=False),
    Column("requests_per_minute", Integer, nullable=False),
    Column("previous_tokens_per_minute", Integer, nullable=False),
    Column("previous_requests_per_minute", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("changed_by", String(256), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Index("ix_quota_changes_endpoint", "endpoint_key", "seq"),
)

# Quota increase requests (issue 14 item 10): filed on a deployment by its users, decided by an
# operator. `key` is the request's id in lower case; `subscription`, `resource_group` and
# `workspace` are its scope's names, lower-cased, for the listings at each scope. `history` holds
# every change of state in order ([{status, at, by, message}]). At most one request per endpoint
# is Pending: a `claims` row (`quota-request-pending`) makes the database the referee.
quota_requests = Table(
    "quota_requests",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("key", String(ID), nullable=False, unique=True),
    Column("id", String(ID), nullable=False),
    Column("name", String(64), nullable=False),
    Column("endpoint_key", String(ID), nullable=False),
    Column("endpoint_id", String(ID), nullable=False),
    Column("subscription", String(64), nullable=False),
    Column("resource_group", String(128), nullable=False),
    Column("workspace", String(256), nullable=False),
    Column("tokens_per_minute", BigInteger, nullable=True),
    Column("requests_per_minute", BigInteger, nullable=True),
    Column("previous_tokens_per_minute", BigInteger, nullable=False),
    Column("previous_requests_per_minute", BigInteger, nullable=False),
    Column("applied_tokens_per_minute", BigInteger, nullable=True),
    Column("applied_requests_per_minute", BigInteger, nullable=True),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("requested_by", String(256), nullable=False),
    Column("requested_by_id", String(64), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("history", JSON, nullable=False),
    Index("ix_quota_requests_endpoint", "endpoint_key", "seq"),
    Index("ix_quota_requests_scope", "subscription", "resource_group", "workspace", "seq"),
    Index("ix_quota_requests_status", "status", "seq"),
)
