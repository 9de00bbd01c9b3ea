"""user preferences: what a user chose in Studio (the workspace it works in), by principal id

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_preferences",
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=1024), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("principal_id"),
    )


def downgrade() -> None:
    op.drop_table("user_preferences")
