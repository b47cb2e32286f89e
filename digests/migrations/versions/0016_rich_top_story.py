"""A rich top story: the article's image kept with each story, and a digest style per target.

story: `image_url` (the picture the feed gave, NULL for every story stored before).
channel_briefing, personal_digest: `style`, `text` (today's look) for every existing target, or `rich`
(the top story as an embed).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _columns() -> dict[str, list[sa.Column]]:
    """The new columns by table (fresh objects each call: a Column belongs to one table)."""
    return {
        "story": [sa.Column("image_url", sa.String(2000))],
        "channel_briefing": [sa.Column("style", sa.String(8), nullable=False, server_default="text")],
        "personal_digest": [sa.Column("style", sa.String(8), nullable=False, server_default="text")],
    }


def upgrade() -> None:
    for table, columns in _columns().items():
        for column in columns:
            op.add_column(table, column)


def downgrade() -> None:
    for table, columns in _columns().items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_column(column.name)
