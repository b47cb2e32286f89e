"""The newest stories on a topic as one index range scan: story_topic gets the story's time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digests.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("story_topic", sa.Column("effective_at", UTCDateTime()))
    op.execute("UPDATE story_topic SET effective_at = (SELECT effective_at FROM story WHERE story.id = story_id)")
    op.create_index("ix_story_topic_recent", "story_topic", ["topic_slug", "effective_at"])


def downgrade() -> None:
    op.drop_index("ix_story_topic_recent", "story_topic")
    with op.batch_alter_table("story_topic") as batch:
        batch.drop_column("effective_at")
