"""quota requests: the quota increase requests users file on a deployment and operators approve or
deny, each with its history of changes (issue 14 item 10)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-09 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quota_requests",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("id", sa.String(length=1024), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("endpoint_key", sa.String(length=1024), nullable=False),
        sa.Column("endpoint_id", sa.String(length=1024), nullable=False),
        sa.Column("subscription", sa.String(length=64), nullable=False),
        sa.Column("resource_group", sa.String(length=128), nullable=False),
        sa.Column("workspace", sa.String(length=256), nullable=False),
        sa.Column("tokens_per_minute", sa.BigInteger(), nullable=True),
        sa.Column("requests_per_minute", sa.BigInteger(), nullable=True),
        sa.Column("previous_tokens_per_minute", sa.BigInteger(), nullable=False),
        sa.Column("previous_requests_per_minute", sa.BigInteger(), nullable=False),
        sa.Column("applied_tokens_per_minute", sa.BigInteger(), nullable=True),
        sa.Column("applied_requests_per_minute", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=256), nullable=False),
        sa.Column("requested_by_id", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_quota_requests_endpoint", "quota_requests", ["endpoint_key", "seq"])
    op.create_index(
        "ix_quota_requests_scope", "quota_requests", ["subscription", "resource_group", "workspace", "seq"]
    )
    op.create_index("ix_quota_requests_status", "quota_requests", ["status", "seq"])


def downgrade() -> None:
    op.drop_index("ix_quota_requests_status", table_name="quota_requests")
    op.drop_index("ix_quota_requests_scope", table_name="quota_requests")
    op.drop_index("ix_quota_requests_endpoint", table_name="quota_requests")
    op.drop_table("quota_requests")
