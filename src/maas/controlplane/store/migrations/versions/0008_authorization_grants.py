"""authorization grants: the authorization codes and refresh tokens of users' sign-ins, each kept
as a keyed digest and deleted when used (codes once, refresh tokens rotate)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "authorization_grants",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("redirect_uri", sa.String(length=512), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=True),
        sa.Column("scope", sa.String(length=1024), nullable=False),
        sa.Column("nonce", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index("ix_authorization_grants_expires", "authorization_grants", ["expires_at"])
    op.create_index("ix_authorization_grants_principal", "authorization_grants", ["principal_id"])


def downgrade() -> None:
    op.drop_index("ix_authorization_grants_principal", table_name="authorization_grants")
    op.drop_index("ix_authorization_grants_expires", table_name="authorization_grants")
    op.drop_table("authorization_grants")
