"""One target model: the schedule, pause, creation time, watermark and style of every target in `target`.

Before, `channel_briefing`, `personal_digest` and `webhook_digest` each had their own copies of
`time_of_day`, `timezone`, `days`, `topics`, `paused`, `pause_reason`, `created_at`,
`last_delivered_at` and (briefings and personal digests, since 0016) `style`. Now `target` holds
them, once per target, with its `kind` (`channel`, `user`, `webhook`); each kind's table keeps only
what differs, and its primary key `id` is its target's id (see `digests.models.Target`).

Moving the rows:
- a channel briefing keeps its id as its target's id, so its archive entries (`archive_entry.briefing_id`)
  and anything else naming a briefing by id stay right; on PostgreSQL its id no longer draws from
  its own sequence (the target's does);
- personal digests, then webhook digests, get the ids after the briefings' (in user id, then
  webhook digest id order); a personal digest was keyed by its user, who is now `user_id`, unique;
- a personal digest's days are `daily` and its topics empty (its topics are its user's
  subscriptions); a webhook digest has no time of day, and its style is `text`.
Deliveries name their destination (a channel, a user, a webhook), not a target row, so they are
unchanged.

SQLite rebuilds `channel_briefing` to drop columns and add the foreign key; dropping the old table
would cascade to `archive_entry` (foreign keys are on and cannot be turned off inside the
migration's transaction), so the archive entries are set aside first and put back after.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

from digests.models import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# The columns moved to `target`, by table, as they were there (what the downgrade puts back).
_CHANNEL_SHARED = ("time_of_day", "timezone", "topics", "days", "paused", "pause_reason", "created_at",
                   "last_delivered_at", "style")
_BRIEFING_FK = "channel_briefing_id_fkey"


def _shared_columns(*, time_nullable: bool = False) -> list[sa.Column]:
    return [
        sa.Column("time_of_day", sa.String(5), nullable=time_nullable),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("days", sa.String(40), nullable=False),
        sa.Column("topics", sa.String(1000), nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("pause_reason", sa.String(300)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_delivered_at", UTCDateTime()),
        _style(),
    ]


def _style() -> sa.Column:
    return sa.Column("style", sa.String(8), nullable=False, server_default="text")


def _target_table() -> sa.Table:
    return sa.Table("target", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("kind", sa.String(10), nullable=False), *_shared_columns(time_nullable=True))


def _old_personal_digest(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "personal_digest", metadata,
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("time_of_day", sa.String(5), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("pause_reason", sa.String(300)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_delivered_at", UTCDateTime()),
        sa.Column("dm_channel_id", sa.BigInteger),
        _style(),
    )


def _new_personal_digest(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "personal_digest", metadata,
        sa.Column("id", sa.Integer, sa.ForeignKey("target.id", ondelete="CASCADE"), primary_key=True,
                  autoincrement=False),
        sa.Column("user_id", sa.BigInteger, nullable=False, unique=True),
        sa.Column("dm_channel_id", sa.BigInteger),
    )


def _webhook_identity() -> list[sa.Column]:
    return [
        sa.Column("webhook_id", sa.BigInteger, nullable=False, unique=True),
        sa.Column("webhook_url", sa.String(300), nullable=False),
        sa.Column("username", sa.String(80)),
        sa.Column("avatar_url", sa.String(2048)),
        sa.Column("thread_id", sa.BigInteger),
        sa.Column("thread_name", sa.String(100)),
    ]


def _old_webhook_digest(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "webhook_digest", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        *_webhook_identity(),
        sa.Column("topics", sa.String(1000), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("pause_reason", sa.String(300)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_delivered_at", UTCDateTime()),
    )


def _new_webhook_digest(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "webhook_digest", metadata,
        sa.Column("id", sa.Integer, sa.ForeignKey("target.id", ondelete="CASCADE"), primary_key=True,
                  autoincrement=False),
        *_webhook_identity(),
    )


def _channel_briefing_shared(metadata: sa.MetaData) -> sa.Table:
    """The part of the old `channel_briefing` that moves (with its id)."""
    return sa.Table("channel_briefing", metadata, sa.Column("id", sa.Integer, primary_key=True),
                    *[column for column in _shared_columns() if column.name in _CHANNEL_SHARED])


@contextmanager
def _archive_kept() -> Iterator[None]:
    """On SQLite, keep `archive_entry`'s rows across a rebuild of `channel_briefing` (see the module docstring)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    bind.exec_driver_sql("CREATE TEMP TABLE archive_entry_kept AS SELECT * FROM archive_entry")
    yield
    bind.exec_driver_sql("DELETE FROM archive_entry")
    bind.exec_driver_sql("INSERT INTO archive_entry SELECT * FROM archive_entry_kept")
    bind.exec_driver_sql("DROP TABLE archive_entry_kept")


def _move_sequence_past(bind: sa.Connection, table: str) -> None:
    """On PostgreSQL, make `table`'s id sequence continue after the ids inserted explicitly."""
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 (our names)
                             f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)")


def upgrade() -> None:
    bind = op.get_bind()
    target = _target_table()
    target.create(bind)

    old = sa.MetaData()
    briefings = _channel_briefing_shared(old)
    channels = [{"kind": "channel", **row._mapping}
                for row in bind.execute(sa.select(briefings).order_by(briefings.c.id))]
    if channels:
        bind.execute(target.insert(), channels)
    next_id = bind.execute(sa.select(sa.func.coalesce(sa.func.max(target.c.id), 0))).scalar_one() + 1

    old_digests = _old_personal_digest(old)
    digests = [dict(row._mapping) for row in bind.execute(sa.select(old_digests).order_by(old_digests.c.user_id))]
    old_webhooks = _old_webhook_digest(old)
    webhooks = [dict(row._mapping) for row in bind.execute(sa.select(old_webhooks).order_by(old_webhooks.c.id))]
    for number, row in enumerate([*digests, *webhooks], start=next_id):
        row["target_id"] = number
    shared = ("paused", "pause_reason", "created_at", "last_delivered_at")
    targets = [{"id": row["target_id"], "kind": "user", "time_of_day": row["time_of_day"], "timezone": row["timezone"],
                "days": "daily", "topics": "", "style": row["style"], **{name: row[name] for name in shared}}
               for row in digests]
    targets += [{"id": row["target_id"], "kind": "webhook", "time_of_day": None, "timezone": row["timezone"],
                 "days": "daily", "topics": row["topics"], "style": "text", **{name: row[name] for name in shared}}
                for row in webhooks]
    if targets:
        bind.execute(target.insert(), targets)
    _move_sequence_past(bind, "target")

    op.drop_table("personal_digest")
    op.drop_table("webhook_digest")
    new = sa.MetaData()
    sa.Table("target", new, sa.Column("id", sa.Integer, primary_key=True))
    new_digests, new_webhooks = _new_personal_digest(new), _new_webhook_digest(new)
    new_digests.create(bind)
    new_webhooks.create(bind)
    if digests:
        bind.execute(new_digests.insert(), [{"id": row["target_id"], "user_id": row["user_id"],
                                             "dm_channel_id": row["dm_channel_id"]} for row in digests])
    identity = [column.name for column in _webhook_identity()]
    if webhooks:
        bind.execute(new_webhooks.insert(), [{"id": row["target_id"], **{name: row[name] for name in identity}}
                                             for row in webhooks])

    with _archive_kept(), op.batch_alter_table("channel_briefing") as batch:
        for name in _CHANNEL_SHARED:
            batch.drop_column(name)
        batch.create_foreign_key(_BRIEFING_FK, "target", ["id"], ["id"], ondelete="CASCADE")
    if bind.dialect.name == "postgresql":  # the target's sequence numbers briefings now
        op.alter_column("channel_briefing", "id", server_default=None)
        bind.exec_driver_sql("DROP SEQUENCE IF EXISTS channel_briefing_id_seq")


def downgrade() -> None:
    bind = op.get_bind()
    target = _target_table()
    with _archive_kept():
        with op.batch_alter_table("channel_briefing") as batch:
            batch.drop_constraint(_BRIEFING_FK, type_="foreignkey")
            for column in _shared_columns():
                if column.name in _CHANNEL_SHARED:
                    batch.add_column(sa.Column(column.name, column.type, nullable=True,
                                               server_default="text" if column.name == "style" else None))
        for name in _CHANNEL_SHARED:
            bind.exec_driver_sql(f"UPDATE channel_briefing SET {name} = "  # noqa: S608 (our column names)
                                 f"(SELECT {name} FROM target WHERE target.id = channel_briefing.id)")
        with op.batch_alter_table("channel_briefing") as batch:
            for column in _shared_columns():
                if column.name in _CHANNEL_SHARED and not column.nullable:
                    batch.alter_column(column.name, existing_type=column.type, nullable=False)
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("CREATE SEQUENCE channel_briefing_id_seq OWNED BY channel_briefing.id")
        op.alter_column("channel_briefing", "id", server_default=sa.text("nextval('channel_briefing_id_seq')"))
        _move_sequence_past(bind, "channel_briefing")

    new = sa.MetaData()
    sa.Table("target", new, sa.Column("id", sa.Integer, primary_key=True))
    new_digests, new_webhooks = _new_personal_digest(new), _new_webhook_digest(new)
    digests = [dict(row._mapping) for row in bind.execute(
        sa.select(new_digests.c.user_id, new_digests.c.dm_channel_id, target)
        .join(target, target.c.id == new_digests.c.id))]
    webhooks = [dict(row._mapping) for row in bind.execute(
        sa.select(*[c for c in new_webhooks.c if c.name != "id"], target)
        .join(target, target.c.id == new_webhooks.c.id))]
    op.drop_table("personal_digest")
    op.drop_table("webhook_digest")
    old = sa.MetaData()
    old_digests, old_webhooks = _old_personal_digest(old), _old_webhook_digest(old)
    old_digests.create(bind)
    old_webhooks.create(bind)
    if digests:
        bind.execute(old_digests.insert(), [{c.name: row[c.name] for c in old_digests.c} for row in digests])
    if webhooks:
        bind.execute(old_webhooks.insert(), [{c.name: row[c.name] for c in old_webhooks.c} for row in webhooks])
    _move_sequence_past(bind, "webhook_digest")
    op.drop_table("target")
