"""Stories, topics, story-topic links, ingest runs, and the full-text index.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digests.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# SQLite: an external-content FTS5 table kept in sync by triggers.
SQLITE_FTS = [
    """CREATE VIRTUAL TABLE story_fts USING fts5(
        title, summary, body, content='story', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER story_fts_insert AFTER INSERT ON story BEGIN
        INSERT INTO story_fts(rowid, title, summary, body)
        VALUES (new.id, new.title, new.summary, coalesce(new.body, ''));
    END""",
    """CREATE TRIGGER story_fts_delete AFTER DELETE ON story BEGIN
        INSERT INTO story_fts(story_fts, rowid, title, summary, body)
        VALUES ('delete', old.id, old.title, old.summary, coalesce(old.body, ''));
    END""",
    """CREATE TRIGGER story_fts_update AFTER UPDATE OF title, summary, body ON story BEGIN
        INSERT INTO story_fts(story_fts, rowid, title, summary, body)
        VALUES ('delete', old.id, old.title, old.summary, coalesce(old.body, ''));
        INSERT INTO story_fts(rowid, title, summary, body)
        VALUES (new.id, new.title, new.summary, coalesce(new.body, ''));
    END""",
]

# PostgreSQL: a generated, weighted tsvector column with a GIN index.
POSTGRES_FTS = [
    """ALTER TABLE story ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(summary, '')), 'B') ||
        setweight(to_tsvector('english', left(coalesce(body, ''), 100000)), 'C')) STORED""",
    "CREATE INDEX ix_story_search ON story USING gin (search)",
]


def upgrade() -> None:
    op.create_table(
        "topic",
        sa.Column("slug", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("emoji", sa.String(16), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_table(
        "story",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dedupe_key", sa.String(2100), nullable=False, unique=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("url", sa.String(2000)),
        sa.Column("canonical_url", sa.String(2000)),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("summary", sa.String(400), nullable=False),
        sa.Column("body", sa.Text),
        sa.Column("published_at", UTCDateTime()),
        sa.Column("ingested_at", UTCDateTime(), nullable=False),
        sa.Column("effective_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_story_ingested_at", "story", ["ingested_at"])
    op.create_index("ix_story_effective_at", "story", ["effective_at"])
    op.create_table(
        "story_topic",
        sa.Column("story_id", sa.Integer, sa.ForeignKey("story.id", ondelete="CASCADE"), primary_key=True),
        sa.Column(
            "topic_slug", sa.String(40), sa.ForeignKey("topic.slug", ondelete="CASCADE"), primary_key=True
        ),
    )
    op.create_index("ix_story_topic_topic_slug", "story_topic", ["topic_slug"])
    op.create_table(
        "ingest_run",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(2000), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("new", sa.Integer, nullable=False),
        sa.Column("duplicates", sa.Integer, nullable=False),
        sa.Column("error", sa.String(1000)),
    )
    statements = {"sqlite": SQLITE_FTS, "postgresql": POSTGRES_FTS}.get(op.get_bind().dialect.name, [])
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS story_fts")
    op.drop_table("ingest_run")
    op.drop_table("story_topic")
    op.drop_table("story")
    op.drop_table("topic")
