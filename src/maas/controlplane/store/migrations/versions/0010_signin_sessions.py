"""sign-in sessions: the browser sessions of the sign-in page (single sign-on, sign out), each
kept as a keyed digest of its cookie value with its user and expiry

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_sessions",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index("ix_signin_sessions_expires", "signin_sessions", ["expires_at"])
    op.create_index("ix_signin_sessions_principal", "signin_sessions", ["principal_id"])


def downgrade() -> None:
    op.drop_index("ix_signin_sessions_principal", table_name="signin_sessions")
    op.drop_index("ix_signin_sessions_expires", table_name="signin_sessions")
    op.drop_table("signin_sessions")
