"""Filters of a target's digest: include and exclude rules on a story's title, summary or source.

target_filter: one row per rule of a target (`target.id`, deleted with it), its `action` (`include`,
`exclude`), `kind` (`word`, `regex`), `field` (`title`, `summary`, `source`, `any`), the `pattern` as
typed (at most 200 characters) and when it was added. No existing row changes.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digests.models import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "target_filter",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("target_id", sa.Integer, sa.ForeignKey("target.id", ondelete="CASCADE"), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("field", sa.String(8), nullable=False),
        sa.Column("pattern", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_target_filter_target_id", "target_filter", ["target_id"])


def downgrade() -> None:
    op.drop_index("ix_target_filter_target_id", table_name="target_filter")
    op.drop_table("target_filter")
