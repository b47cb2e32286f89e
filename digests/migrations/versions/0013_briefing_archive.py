"""The briefing archive on the web: a channel briefing may archive its deliveries (issue 16).

`channel_briefing` gains `archive` (off for every existing briefing) and `archive_token` (the random
part of its archive's URLs); `archive_entry` holds each archived delivery. Nothing existing changes.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digests.models import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("channel_briefing", sa.Column("archive", sa.Boolean, nullable=False, server_default=sa.false()))
    # SQLite cannot add a UNIQUE column: the uniqueness is a unique index (the one the model declares).
    op.add_column("channel_briefing", sa.Column("archive_token", sa.String(40)))
    op.create_index("ix_channel_briefing_archive_token", "channel_briefing", ["archive_token"], unique=True)
    op.create_table(
        "archive_entry",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("briefing_id", sa.Integer, sa.ForeignKey("channel_briefing.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("delivery_id", sa.Integer, sa.ForeignKey("delivery.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("slot_at", UTCDateTime(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.UniqueConstraint("briefing_id", "key", name="uq_archive_entry_key"),
    )
    op.create_index("ix_archive_entry_recent", "archive_entry", ["briefing_id", "slot_at"])


def downgrade() -> None:
    op.drop_index("ix_archive_entry_recent", table_name="archive_entry")
    op.drop_table("archive_entry")
    op.drop_index("ix_channel_briefing_archive_token", table_name="channel_briefing")
    with op.batch_alter_table("channel_briefing") as batch:
        batch.drop_column("archive_token")
        batch.drop_column("archive")
