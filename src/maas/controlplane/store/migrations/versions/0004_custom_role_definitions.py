"""custom role definitions: `role_definitions` holds the roles principals define
(`PUT …/providers/Microsoft.Authorization/roleDefinitions/{guid}`); built-in roles stay in code

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "role_definitions",
        sa.Column("key", sa.String(length=64), primary_key=True),
        sa.Column("guid", sa.String(length=64), nullable=False),
        sa.Column("role_name", sa.String(length=256), nullable=False),
        sa.Column("role_name_key", sa.String(length=256), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("assignable_scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=256), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("role_definitions")
