"""external principals: the principals a trusted external OpenID Connect issuer's tokens named,
recorded at their first sign-in (issuer, display name, user name, application id, tenant)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "external_principals",
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=512), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("user_principal_name", sa.String(length=256), nullable=True),
        sa.Column("app_id", sa.String(length=128), nullable=True),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("principal_id"),
    )


def downgrade() -> None:
    op.drop_table("external_principals")
