"""When a story became public, and when each guild's feed first carried it (review M5).

A digest used to count a story as new from its `ingested_at`: a guild feed that stored a story
before a deployment-wide feed made it public kept it out of every other target's next digest.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digests.models import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on story, not a batch copy: on SQLite a batch rebuilds the table and drops the
    # triggers that keep the full-text index in sync. A story public today was public from its ingest.
    op.add_column("story", sa.Column("public_at", UTCDateTime()))
    op.execute("UPDATE story SET public_at = ingested_at WHERE public")
    op.create_index("ix_story_public_at", "story", ["public_at"])
    op.add_column("story_guild", sa.Column("shared_at", UTCDateTime()))
    op.execute("UPDATE story_guild SET shared_at = (SELECT ingested_at FROM story WHERE story.id = story_id)")
    with op.batch_alter_table("story_guild") as batch:  # no triggers on this table: a batch is safe
        batch.alter_column("shared_at", existing_type=UTCDateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("story_guild") as batch:
        batch.drop_column("shared_at")
    op.drop_index("ix_story_public_at", "story")
    # Not a batch (see upgrade): SQLite ≥ 3.35 drops a column in place, keeping the triggers.
    op.execute("ALTER TABLE story DROP COLUMN public_at")
