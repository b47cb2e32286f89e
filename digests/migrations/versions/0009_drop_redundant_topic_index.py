"""story_topic loses its index on topic_slug alone: ix_story_topic_recent (topic_slug, effective_at)
serves every lookup by topic, the cascade from a deleted topic included.

Each topic link kept three b-trees up to date on insert; now two. Ingest stores about 1.3 links a
story, and the index held nothing the composite one does not.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_story_topic_topic_slug", "story_topic")


def downgrade() -> None:
    op.create_index("ix_story_topic_topic_slug", "story_topic", ["topic_slug"])
