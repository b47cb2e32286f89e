"""Feed polling state, and stories seen only by the guilds whose feeds carried them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digests.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch copy: on SQLite a batch rebuilds the table and drops the
    # triggers that keep the full-text index in sync.
    op.add_column("story", sa.Column("public", sa.Boolean, nullable=False, server_default=sa.true()))
    op.create_table(
        "story_guild",
        sa.Column("story_id", sa.Integer, sa.ForeignKey("story.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("guild_id", sa.BigInteger, primary_key=True, autoincrement=False, index=True),
    )
    op.create_table(
        "member_guild",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("guild_id", sa.BigInteger, primary_key=True, autoincrement=False),
    )
    op.add_column("feed", sa.Column("etag", sa.String(300)))
    op.add_column("feed", sa.Column("last_modified", sa.String(100)))
    op.add_column("feed", sa.Column("next_poll_at", UTCDateTime()))
    op.add_column("feed", sa.Column("poll_interval_minutes", sa.Integer, nullable=False, server_default="15"))
    op.add_column("feed", sa.Column("disabled_announced", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index("ix_feed_next_poll_at", "feed", ["next_poll_at"])


def downgrade() -> None:
    with op.batch_alter_table("feed") as batch:
        batch.drop_index("ix_feed_next_poll_at")
        for column in ("disabled_announced", "poll_interval_minutes", "next_poll_at", "last_modified", "etag"):
            batch.drop_column(column)
    op.drop_table("member_guild")
    op.drop_table("story_guild")
    # Not a batch (see upgrade): SQLite ≥ 3.35 drops a column in place, keeping the triggers.
    op.execute("ALTER TABLE story DROP COLUMN public")
