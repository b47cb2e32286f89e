"""Database models: stories, topics, the links between them, and ingest runs.

Every timestamp is stored as UTC and comes back timezone-aware on every backend (see `UTCDateTime`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from digests.timeutil import as_utc

# Field caps: feeds can be hostile (an entity expanded into a 40-million-character summary),
# so every text is cut to these lengths before it reaches the store.
TITLE_MAX = 300
SUMMARY_MAX = 400
BODY_MAX = 50_000
SOURCE_MAX = 200
URL_MAX = 2_000


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware DateTime that is UTC in the database and aware UTC in Python.

    SQLite keeps no offset and hands back naive values; this type makes both backends behave alike.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def utc_column(*, nullable: bool = False, index: bool = False) -> sa.Column:
    """A column of `UTCDateTime`."""
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


class Topic(SQLModel, table=True):
    """A topic of the taxonomy in force (kept in sync with it when the store opens)."""

    slug: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=80)
    emoji: str = Field(default="", max_length=16)
    position: int = 0


class StoryTopic(SQLModel, table=True):
    """A story is about a topic."""

    __tablename__ = "story_topic"

    story_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("story.id", ondelete="CASCADE"), primary_key=True)
    )
    topic_slug: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("topic.slug", ondelete="CASCADE"), primary_key=True, index=True
        )
    )


class Story(SQLModel, table=True):
    """One article or headline.

    `dedupe_key` is the canonical URL (tracking parameters removed) or, without a URL, the
    normalised title plus source; it is unique, so the same story is stored once.
    `effective_at` is the time the story counts from: its published time, or its ingest time
    when it has none or claims one later than its ingest.
    """

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=URL_MAX + 100, unique=True)
    title: str = Field(max_length=TITLE_MAX)
    url: str | None = Field(default=None, max_length=URL_MAX)
    canonical_url: str | None = Field(default=None, max_length=URL_MAX)
    source: str = Field(max_length=SOURCE_MAX)
    summary: str = Field(default="", max_length=SUMMARY_MAX)
    body: str | None = Field(default=None, sa_type=sa.Text)
    published_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    ingested_at: datetime = Field(sa_column=utc_column(index=True))
    effective_at: datetime = Field(sa_column=utc_column(index=True))


class IngestRun(SQLModel, table=True):
    """One source read by `ingest`: what it added and, if it failed, why."""

    __tablename__ = "ingest_run"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=URL_MAX)
    started_at: datetime = Field(sa_column=utc_column())
    new: int = 0
    duplicates: int = 0
    error: str | None = Field(default=None, max_length=1_000)

