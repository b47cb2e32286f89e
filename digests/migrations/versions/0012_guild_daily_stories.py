"""A daily count of the stories each guild's feeds store, for the per-guild quota (review M4).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guild_daily_stories",
        sa.Column("guild_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("stored", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("guild_daily_stories")
