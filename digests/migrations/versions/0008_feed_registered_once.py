"""A feed URL is registered once per guild (and once deployment-wide).

Several processes starting together with the same FEEDS_FILE each registered its feeds, so every
feed was polled once per process. Duplicates already stored are removed (the first row is kept)
before the unique index is built.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM feed WHERE id NOT IN "
               "(SELECT min(id) FROM feed GROUP BY url, coalesce(guild_id, 0))")
    op.create_index("ux_feed_url_guild", "feed", ["url", sa.text("coalesce(guild_id, 0)")], unique=True)


def downgrade() -> None:
    op.drop_index("ux_feed_url_guild", "feed")
