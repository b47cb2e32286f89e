"""Saved searches, briefings limited to chosen feeds, and which feeds carried each story.

Three new tables, nothing existing changes:
- `saved_search`: words a target follows besides its topics (a section of its digest each);
- `target_feed`: the feeds a target is limited to (none: every feed, as before);
- `story_feed`: which registered feeds carried each story. Stories stored before this migration
  have no row: nothing recorded their feed. The next poll that reads a feed (any change to it)
  links every entry it still carries, stored or new, so a briefing limited to feeds fills in as
  its feeds are polled; older stories stay out of it.

Each row goes with its target, feed or story (ON DELETE CASCADE). The downgrade drops the tables.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digests.models import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def _cascading(column: str, table: str, **options: object) -> sa.Column:
    return sa.Column(column, sa.Integer, sa.ForeignKey(f"{table}.id", ondelete="CASCADE"), **options)


def upgrade() -> None:
    op.create_table(
        "saved_search",
        sa.Column("id", sa.Integer, primary_key=True),
        _cascading("target_id", "target", nullable=False),
        sa.Column("query", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("target_id", "query", name="uq_saved_search_query"),
    )
    op.create_table(
        "target_feed",
        _cascading("target_id", "target", primary_key=True),
        _cascading("feed_id", "feed", primary_key=True),
    )
    op.create_index("ix_target_feed_feed_id", "target_feed", ["feed_id"])
    op.create_table(
        "story_feed",
        _cascading("story_id", "story", primary_key=True),
        _cascading("feed_id", "feed", primary_key=True),
    )
    op.create_index("ix_story_feed_feed_id", "story_feed", ["feed_id"])


def downgrade() -> None:
    op.drop_table("story_feed")
    op.drop_table("target_feed")
    op.drop_table("saved_search")
