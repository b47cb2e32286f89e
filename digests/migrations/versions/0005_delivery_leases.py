"""Delivery leases, so several processes can share one database without sending a part twice.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digests.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("delivery", sa.Column("lease_owner", sa.String(100)))
    op.add_column("delivery", sa.Column("lease_until", UTCDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
