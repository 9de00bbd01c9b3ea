"""directory: the installation's tenant id, users, service principals and their client secrets;
a principal's static token becomes optional (directory principals sign in with a password or a
client secret, not a token)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "installation",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "directory_users",
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("upn_key", sa.String(length=128), nullable=False),
        sa.Column("user_principal_name", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("principal_id"),
        sa.UniqueConstraint("upn_key"),
    )
    op.create_table(
        "service_principals",
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("principal_id"),
        sa.UniqueConstraint("app_id"),
    )
    op.create_table(
        "client_secrets",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=True),
        sa.Column("hint", sa.String(length=8), nullable=False),
        sa.Column("secret_hash", sa.String(length=256), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id"),
    )
    op.create_index("ix_client_secrets_principal", "client_secrets", ["principal_id"])
    with op.batch_alter_table("principals") as batch:
        batch.alter_column("token_digest", existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    # Directory principals have no token: they cannot outlive the directory.
    principals = sa.table("principals", sa.column("token_digest", sa.String))
    op.get_bind().execute(principals.delete().where(principals.c.token_digest.is_(None)))
    with op.batch_alter_table("principals") as batch:
        batch.alter_column("token_digest", existing_type=sa.String(length=64), nullable=False)
    op.drop_index("ix_client_secrets_principal", table_name="client_secrets")
    op.drop_table("client_secrets")
    op.drop_table("service_principals")
    op.drop_table("directory_users")
    op.drop_table("installation")
