"""Channel briefings through a channel webhook, and digests posted by `briefbot post --webhook`.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digests.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("channel_briefing", sa.Column("webhook_url", sa.String(300)))
    op.create_table(
        "webhook_digest",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("webhook_id", sa.BigInteger, nullable=False, unique=True),
        sa.Column("webhook_url", sa.String(300), nullable=False),
        sa.Column("topics", sa.String(1000), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("pause_reason", sa.String(300)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_delivered_at", UTCDateTime()),
    )


def downgrade() -> None:
    op.drop_table("webhook_digest")
    with op.batch_alter_table("channel_briefing") as batch:
        batch.drop_column("webhook_url")
