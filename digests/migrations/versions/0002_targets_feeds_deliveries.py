"""Channel briefings, personal digests and subscriptions, feeds, and deliveries with their parts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digests.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_briefing",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("guild_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("channel_id", sa.BigInteger, nullable=False, unique=True),
        sa.Column("time_of_day", sa.String(5), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("topics", sa.String(1000), nullable=False),
        sa.Column("days", sa.String(40), nullable=False),
        sa.Column("mention_role_id", sa.BigInteger),
        sa.Column("quiet_day_notice", sa.Boolean, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("pause_reason", sa.String(300)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_delivered_at", UTCDateTime()),
    )
    op.create_table(
        "personal_digest",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("time_of_day", sa.String(5), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("pause_reason", sa.String(300)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_delivered_at", UTCDateTime()),
    )
    op.create_table(
        "subscription",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("topic_slug", sa.String(40), sa.ForeignKey("topic.slug", ondelete="CASCADE"), primary_key=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "feed",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("guild_id", sa.BigInteger, index=True),
        sa.Column("topic_slug", sa.String(40)),
        sa.Column("added_by", sa.BigInteger),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_success_at", UTCDateTime()),
        sa.Column("last_error", sa.String(1000)),
        sa.Column("last_error_at", UTCDateTime()),
    )
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("target_kind", sa.String(10), nullable=False),
        sa.Column("target_id", sa.BigInteger, nullable=False),
        sa.Column("slot_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("parts", sa.Text, nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        sa.Column("error", sa.String(500)),
        sa.UniqueConstraint("target_kind", "target_id", "slot_at", name="uq_delivery_target_slot"),
    )
    op.create_table(
        "delivery_part",
        sa.Column("delivery_id", sa.Integer, sa.ForeignKey("delivery.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("part_index", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("message_id", sa.BigInteger, nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("delivery_part", "delivery", "feed", "subscription", "personal_digest", "channel_briefing"):
        op.drop_table(table)
