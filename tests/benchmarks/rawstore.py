"""Raw SQLite access to a Briefbot store: the schema made by the real migrations, rows put in by `executemany`.

Two uses: the baseline of P1a (the same rows the ingest path stored, inserted as fast as SQLite
can take them) and building large stores quickly (P2, P3, P5), where going through the ingest path
would measure the ingest, not the query. The FTS triggers of the schema fire for every row, so a
raw-built store has the same full-text index as an ingested one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from digests.store import SQLITE_PRAGMAS, open_store
from digests.topics import load_taxonomy
from tests.benchmarks.generator import GeneratedStory

STORY_COLUMNS = ("id", "dedupe_key", "title", "url", "canonical_url", "source", "summary", "body",
                 "published_at", "ingested_at", "effective_at", "public_at")
_COLUMN_LIST = ", ".join(STORY_COLUMNS)  # constants only: no outside text reaches these statements
INSERT_STORY = f"INSERT INTO story ({_COLUMN_LIST}) VALUES ({', '.join('?' * len(STORY_COLUMNS))})"  # noqa: S608
INSERT_LINK = "INSERT INTO story_topic (story_id, topic_slug, effective_at) VALUES (?, ?, ?)"
# Bump when the rows put in change, so cached data sets built with older rows are rebuilt.
ROWS_VERSION = 3

StoryRow = tuple[object, ...]
LinkRow = tuple[int, str, str]  # story id, topic slug, the story's effective_at (see StoryTopic)


def database_url(path: Path) -> str:
    """The SQLAlchemy URL of a store file."""
    return f"sqlite:///{path}"


def create_store(path: Path) -> None:
    """An empty store at `path`: every migration applied, the topic table filled (as `briefbot db upgrade`)."""
    open_store(database_url(path), load_taxonomy()).dispose()


def connect(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection with the pragmas `digests.store.create_engine` sets."""
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        connection.execute(f"PRAGMA {pragma}")
    return connection


def sql_time(moment: datetime) -> str:
    """A timestamp as SQLAlchemy stores a UTC DateTime in SQLite."""
    m = moment.astimezone(UTC)
    return (f"{m.year:04d}-{m.month:02d}-{m.day:02d} {m.hour:02d}:{m.minute:02d}:{m.second:02d}."
            f"{m.microsecond:06d}")


def insert(connection: sqlite3.Connection, stories: Iterable[StoryRow], links: Iterable[LinkRow]) -> None:
    """Insert story rows and topic links in one transaction."""
    connection.execute("BEGIN")
    try:
        connection.executemany(INSERT_STORY, stories)
        connection.executemany(INSERT_LINK, links)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def read_back(connection: sqlite3.Connection) -> tuple[list[StoryRow], list[LinkRow]]:
    """Every story row and topic link of a store, in insertion order."""
    stories = connection.execute(f"SELECT {_COLUMN_LIST} FROM story ORDER BY id").fetchall()  # noqa: S608
    links = connection.execute("SELECT story_id, topic_slug, effective_at FROM story_topic ORDER BY story_id"
                               ).fetchall()
    return stories, links


def generated_rows(stories: Iterable[GeneratedStory], *, first_id: int = 1
                   ) -> Iterator[tuple[StoryRow, Sequence[LinkRow]]]:
    """Store rows of generated stories, ingested when they arrive, tagged as generated.

    The topics are the ones the generator wrote the story about (no tagger runs: building a large
    store must be fast). Stories must have distinct canonical URLs (generate with duplicate_rate=0).
    Undated stories count from their ingest time, as `add_stories` does; all are public from their ingest.
    """
    for story_id, story in enumerate(stories, start=first_id):
        ingested = story.arrived
        effective = story.published or ingested
        row = (story_id, "url:" + story.canonical_url, story.title, story.url, story.canonical_url, story.source,
               story.summary, story.body, sql_time(story.published) if story.published else None,
               sql_time(ingested), sql_time(effective), sql_time(ingested))
        yield row, [(story_id, slug, sql_time(effective)) for slug in story.topics]


