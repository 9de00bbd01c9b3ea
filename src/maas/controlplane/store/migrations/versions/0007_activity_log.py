"""activity log: the rest of an Azure activity-log event (event id, caller name, lower-cased
subscription and resource group for the listing's filter, sub-status, correlation id, client
address, HTTP method), indexed by time for the listing and the retention prune

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 04:00:00
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_REQUIRED = (
    ("event_id", 36),
    ("caller", 256),
    ("correlation_id", 64),
    ("client_address", 64),
    ("http_method", 16),
)
_OPTIONAL = (("subscription", 64), ("resource_group", 90), ("sub_status", 64))


def _scope(resource_id: str) -> tuple[str | None, str | None]:
    # The migration keeps its own copy of the rule (domain/activity.py may change later).
    parts = resource_id.strip("/").split("/")
    sub = rg = None
    if len(parts) >= 2 and parts[0].lower() == "subscriptions":
        sub = parts[1].lower()
        if len(parts) >= 4 and parts[2].lower() == "resourcegroups":
            rg = parts[3].lower()
    return sub, rg


def upgrade() -> None:
    for name, length in _REQUIRED:
        # A default only so the rows already there get a value; they are filled in below.
        op.add_column(
            "activity_log", sa.Column(name, sa.String(length=length), nullable=False, server_default="")
        )
    for name, length in _OPTIONAL:
        op.add_column("activity_log", sa.Column(name, sa.String(length=length), nullable=True))
    op.create_index("ix_activity_log_at", "activity_log", ["at"])
    op.create_index("ix_activity_log_subscription", "activity_log", ["subscription", "at"])
    op.create_index("ix_activity_log_group", "activity_log", ["subscription", "resource_group", "at"])

    bind = op.get_bind()
    log = sa.table(
        "activity_log",
        sa.column("seq", sa.Integer),
        sa.column("principal_id", sa.String),
        sa.column("resource_id", sa.String),
        sa.column("event_id", sa.String),
        sa.column("caller", sa.String),
        sa.column("correlation_id", sa.String),
        sa.column("subscription", sa.String),
        sa.column("resource_group", sa.String),
    )
    principals = sa.table("principals", sa.column("id", sa.String), sa.column("name", sa.String))
    names = {row.id: row.name for row in bind.execute(sa.select(principals.c.id, principals.c.name))}
    rows = bind.execute(sa.select(log.c.seq, log.c.principal_id, log.c.resource_id)).all()
    for row in rows:
        sub, rg = _scope(row.resource_id)
        bind.execute(
            log.update()
            .where(log.c.seq == row.seq)
            .values(
                event_id=str(uuid.uuid4()),
                correlation_id=str(uuid.uuid4()),
                caller=names.get(row.principal_id, row.principal_id),
                subscription=sub,
                resource_group=rg,
            )
        )


def downgrade() -> None:
    op.drop_index("ix_activity_log_group", table_name="activity_log")
    op.drop_index("ix_activity_log_subscription", table_name="activity_log")
    op.drop_index("ix_activity_log_at", table_name="activity_log")
    with op.batch_alter_table("activity_log") as batch:
        for name, _ in (*_REQUIRED, *_OPTIONAL):
            batch.drop_column(name)
