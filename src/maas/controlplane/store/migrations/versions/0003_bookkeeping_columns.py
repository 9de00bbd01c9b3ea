"""bookkeeping columns: an endpoint's model version, offer, quota and billing suspension move out
of `properties` (where they hid as `_`-prefixed keys filtered before rendering) into typed columns

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 02:30:00
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_KEYS = ("_modelVersionId", "_offerId", "_quota", "_billingSuspended")
_RESOURCES = sa.table(
    "resources",
    sa.column("key", sa.String),
    sa.column("properties", sa.JSON),
    sa.column("model_version_id", sa.String),
    sa.column("offer_id", sa.String),
    sa.column("quota_tokens_per_minute", sa.BigInteger),
    sa.column("quota_requests_per_minute", sa.BigInteger),
    sa.column("billing_suspended", sa.Boolean),
)


def upgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.add_column(sa.Column("model_version_id", sa.String(length=1024), nullable=True))
        batch.add_column(sa.Column("offer_id", sa.String(length=1024), nullable=True))
        batch.add_column(sa.Column("quota_tokens_per_minute", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("quota_requests_per_minute", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("billing_suspended", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    connection = op.get_bind()
    rows = connection.execute(sa.select(_RESOURCES.c.key, _RESOURCES.c.properties)).all()
    for key, properties in rows:
        props: dict[str, Any] = (
            json.loads(properties) if isinstance(properties, str) else dict(properties or {})
        )
        if not any(k in props for k in _KEYS):
            continue
        quota = props.pop("_quota", None) or {}
        connection.execute(
            _RESOURCES.update()
            .where(_RESOURCES.c.key == key)
            .values(
                properties={k: v for k, v in props.items() if k not in _KEYS},
                model_version_id=props.get("_modelVersionId"),
                offer_id=props.get("_offerId"),
                quota_tokens_per_minute=quota.get("tokensPerMinute"),
                quota_requests_per_minute=quota.get("requestsPerMinute"),
                billing_suspended=bool(props.get("_billingSuspended")),
            )
        )


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            _RESOURCES.c.key,
            _RESOURCES.c.properties,
            _RESOURCES.c.model_version_id,
            _RESOURCES.c.offer_id,
            _RESOURCES.c.quota_tokens_per_minute,
            _RESOURCES.c.quota_requests_per_minute,
            _RESOURCES.c.billing_suspended,
        )
    ).all()
    for key, properties, version, offer, tokens, requests, suspended in rows:
        props: dict[str, Any] = (
            json.loads(properties) if isinstance(properties, str) else dict(properties or {})
        )
        extra: dict[str, Any] = {}
        if version is not None:
            extra["_modelVersionId"] = version
        if offer is not None:
            extra["_offerId"] = offer
        if tokens is not None:
            extra["_quota"] = {"tokensPerMinute": tokens, "requestsPerMinute": requests}
        if suspended:
            extra["_billingSuspended"] = True
        if extra:
            connection.execute(
                _RESOURCES.update().where(_RESOURCES.c.key == key).values(properties={**props, **extra})
            )
    with op.batch_alter_table("resources") as batch:
        for column in (
            "billing_suspended",
            "quota_requests_per_minute",
            "quota_tokens_per_minute",
            "offer_id",
            "model_version_id",
        ):
            batch.drop_column(column)
