"""personal_digest remembers the user's DM channel, so a restart does not open every DM again.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("personal_digest", sa.Column("dm_channel_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("personal_digest") as batch:
        batch.drop_column("dm_channel_id")
