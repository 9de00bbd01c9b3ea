"""metering: usage records, hourly running totals, quota changes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_records",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("endpoint_key", sa.String(length=1024), nullable=False),
        sa.Column("endpoint_id", sa.String(length=1024), nullable=False),
        sa.Column("subscription", sa.String(length=64), nullable=False),
        sa.Column("resource_group", sa.String(length=128), nullable=False),
        sa.Column("workspace", sa.String(length=256), nullable=False),
        sa.Column("billed_resource_id", sa.String(length=1024), nullable=False),
        sa.Column("model_id", sa.String(length=1024), nullable=False),
        sa.Column("offer_id", sa.String(length=1024), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=64), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("meters", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.Float(precision=53), nullable=False),
        sa.Column("ended_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_index("ix_usage_records_endpoint", "usage_records", ["endpoint_key", "ended_at"], unique=False)
    op.create_table(
        "usage_totals",
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("endpoint_key", sa.String(length=1024), nullable=False),
        sa.Column("meter_id", sa.String(length=128), nullable=False),
        sa.Column("price_per_1k", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("endpoint_id", sa.String(length=1024), nullable=False),
        sa.Column("subscription", sa.String(length=64), nullable=False),
        sa.Column("resource_group", sa.String(length=128), nullable=False),
        sa.Column("workspace", sa.String(length=256), nullable=False),
        sa.Column("billed_resource_id", sa.String(length=1024), nullable=False),
        sa.Column("model_id", sa.String(length=1024), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "endpoint_key", "meter_id", "price_per_1k"),
    )
    op.create_index(
        "ix_usage_totals_scope", "usage_totals", ["subscription", "resource_group", "hour"], unique=False
    )
    op.create_table(
        "quota_changes",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("endpoint_key", sa.String(length=1024), nullable=False),
        sa.Column("endpoint_id", sa.String(length=1024), nullable=False),
        sa.Column("tokens_per_minute", sa.Integer(), nullable=False),
        sa.Column("requests_per_minute", sa.Integer(), nullable=False),
        sa.Column("previous_tokens_per_minute", sa.Integer(), nullable=False),
        sa.Column("previous_requests_per_minute", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(length=256), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_quota_changes_endpoint", "quota_changes", ["endpoint_key", "seq"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_quota_changes_endpoint", table_name="quota_changes")
    op.drop_table("quota_changes")
    op.drop_index("ix_usage_totals_scope", table_name="usage_totals")
    op.drop_table("usage_totals")
    op.drop_index("ix_usage_records_endpoint", table_name="usage_records")
    op.drop_table("usage_records")
