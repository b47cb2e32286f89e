"""A feed's title: the name an imported OPML outline gave it, written back by /feeds export.

Existing feeds have none (an export names them by their URL).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("feed", sa.Column("title", sa.String(300)))


def downgrade() -> None:
    with op.batch_alter_table("feed") as batch:
        batch.drop_column("title")
