"""Forum posts, discussion threads and crossposts for channel briefings; a webhook's name, avatar and thread.

channel_briefing: where a briefing lands (`channel_kind`, `forum_tag_id`, `open_thread`, `publish`)
and how its webhook presents itself (`webhook_username`, `webhook_avatar_url`, `webhook_thread_id`).
webhook_digest: the same for `briefbot post --webhook` (`username`, `avatar_url`, `thread_id`,
`thread_name`). delivery: the post or thread made for it (`thread_requested_at` before asking Discord,
`thread_id` after). delivery_part: whether the part was crossposted (`published`).
Existing briefings keep posting as before (`text`, no thread, no crosspost).

Revision ID: 0014
Revises: 0012 (another branch adds 0013; the merge re-chains this one after it)
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digests.models import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None



def _columns() -> dict[str, list[sa.Column]]:
    """The new columns by table (fresh objects each call: a Column belongs to one table)."""
    return {
        "channel_briefing": [
            sa.Column("webhook_username", sa.String(80)),
            sa.Column("webhook_avatar_url", sa.String(2048)),
            sa.Column("webhook_thread_id", sa.BigInteger()),
            sa.Column("channel_kind", sa.String(12), nullable=False, server_default="text"),
            sa.Column("forum_tag_id", sa.BigInteger()),
            sa.Column("open_thread", sa.Boolean(), nullable=False, server_default=sa.false()),
            sa.Column("publish", sa.Boolean(), nullable=False, server_default=sa.false()),
        ],
        "webhook_digest": [
            sa.Column("username", sa.String(80)),
            sa.Column("avatar_url", sa.String(2048)),
            sa.Column("thread_id", sa.BigInteger()),
            sa.Column("thread_name", sa.String(100)),
        ],
        "delivery": [
            sa.Column("thread_requested_at", UTCDateTime()),
            sa.Column("thread_id", sa.BigInteger()),
        ],
        "delivery_part": [sa.Column("published", sa.Boolean(), nullable=False, server_default=sa.false())],
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
