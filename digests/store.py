"""The story store: engine set-up and migrations, adding stories, tagging, and queries.

Functions take the session keyword-only and return models; one session is one unit of work, and
the caller decides when to commit (`session_scope` does it for the common case).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from digests.errors import ConfigError
from digests.ingest.draft import StoryDraft
from digests.models import (
    GuildDailyStories,
    IngestRun,
    MemberGuild,
    Story,
    StoryFeed,
    StoryGuild,
    StoryTopic,
    Topic,
)
from digests.text import drop_controls
from digests.topics import Taxonomy

log = logging.getLogger(__name__)

# How much of a body the tagger reads: the lead carries the topic, and tagging runs on every story.
TAG_TEXT_MAX = 3_000
_BATCH = 500
_FTS_TOKEN_RE = re.compile(r"\w+", re.UNICODE)


def create_engine(database_url: str) -> sa.Engine:
    """An engine for `database_url`; SQLite files get WAL, foreign keys and a busy timeout.

    Database errors do not quote their statement's parameters: those may be a webhook's URL, whose
    token is a secret, and errors are logged.
    """
    try:
        engine = sa.create_engine(database_url, pool_pre_ping=not database_url.startswith("sqlite"),
                                  hide_parameters=True)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise ConfigError(f"DATABASE_URL is not a usable SQLAlchemy URL ({type(exc).__name__})") from None
    if engine.dialect.name == "sqlite":
        _make_sqlite_file_private(engine.url)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "savepoint", _begin_before_savepoint)
    return engine


def _begin_before_savepoint(connection: sa.Connection, _name: str | None) -> None:
    """Open the transaction a SAVEPOINT belongs in, if pysqlite has not yet.

    pysqlite emits BEGIN only before its first INSERT, UPDATE or DELETE. A SAVEPOINT before
    any of them (a unit of work that read, then inserts under `begin_nested`) would open a
    transaction of SQLite's own, and its RELEASE would commit the insert at once, before the rest
    of the unit of work. Beginning here keeps pysqlite's timing (the write lock is taken at the first
    write, as before) while the savepoint stays part of the session's transaction.
    """
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None and not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN")


def _make_sqlite_file_private(url: sa.URL) -> None:
    """Create the database file readable by its owner only (0600), or make an existing one so.

    It holds webhook URLs, whose tokens are secrets. SQLite gives its -wal and -shm files the
    database file's permissions; those left by an earlier run are tightened too. A file owned by
    another user is left alone (we could not change it, and it is that user's choice).
    """
    database = url.database
    if os.name != "posix" or not database or database == ":memory:" or url.query.get("uri"):
        return
    path = Path(database)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError:
        return  # a missing directory or no access: SQLite reports it, with its own message
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            info = file.stat()
            if info.st_uid == os.getuid() and info.st_mode & 0o077:
                file.chmod(0o600)
        except OSError:
            continue  # not there (no -wal yet), or not ours to change


# Settings of every SQLite connection. Checkpoints (WAL pages copied into the database, then an
# fsync) run every 4,000 pages (16 MB) of WAL, not SQLite's default 1,000: ingesting one file of
# 2,400 stories writes about 6 MB, so at the default every file paid a checkpoint of its own, and
# pages that each file touches again (index and full-text structure) were copied back every time.
SQLITE_PRAGMAS = ("busy_timeout=5000", "foreign_keys=ON", "synchronous=NORMAL", "wal_autocheckpoint=4000")
# Switching a new database to WAL takes its exclusive lock, and SQLite answers "database is locked"
# at once, without waiting, to connections that would otherwise deadlock there: processes starting
# together on a new file retry for up to this long.
_WAL_SWITCH_SECONDS = 10.0


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    deadline = time.monotonic() + _WAL_SWITCH_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    cursor.close()


# The PostgreSQL advisory lock that serialises migrations: any fixed number, the same in every process.
MIGRATION_LOCK_KEY = 0x62726965_66626F74  # "briefbot"


def alembic_config() -> Config:
    """Alembic's configuration: the migrations shipped in digests/migrations."""
    config = Config()
    config.set_main_option("script_location", str(Path(str(resources.files("digests") / "migrations"))))
    return config


def upgrade_database(engine: sa.Engine, revision: str = "head") -> None:
    """Apply every Alembic migration the database lacks (up to `revision`).

    Processes starting together on one database take turns: the first migrates and the others
    then find nothing to do. PostgreSQL takes a transaction-scoped advisory lock; SQLite starts
    with BEGIN IMMEDIATE, which holds the write lock before the schema version is read. A database
    already at the head is only read, so a start never waits for another process's writes.
    """
    config = alembic_config()
    if revision == "head":
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        if current == ScriptDirectory.from_config(config).get_current_head():
            return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        elif connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def open_store(database_url: str, taxonomy: Taxonomy) -> sa.Engine:
    """An engine on an up-to-date schema whose topic table matches `taxonomy`."""
    engine = create_engine(database_url)
    try:
        upgrade_database(engine)
        with session_scope(engine) as session:
            sync_topics(session=session, taxonomy=taxonomy)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise ConfigError(f"cannot open the database: {_first_line(exc.orig)}") from None
    return engine


@contextmanager
def session_scope(engine: sa.Engine) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def sync_topics(*, session: Session, taxonomy: Taxonomy) -> None:
    """Make the topic table match the taxonomy; links to removed topics go with them."""
    wanted = {topic.slug: (position, topic) for position, topic in enumerate(taxonomy)}
    existing = {row.slug: row for row in session.exec(select(Topic))}
    for slug, row in existing.items():
        if slug not in wanted:
            session.exec(sa.delete(StoryTopic).where(col(StoryTopic.topic_slug) == slug))
            session.delete(row)
    for slug, (position, topic) in wanted.items():
        row = existing.get(slug) or Topic(slug=slug, name=topic.name)
        row.name, row.emoji, row.position = topic.name, topic.emoji, position
        session.add(row)
    session.flush()


@dataclass(frozen=True)
class AddResult:
    """How many drafts were stored, how many were already there, how many of those changed, and how
    many new ones were refused (over the guild's daily quota)."""

    new: int
    duplicates: int
    updated: int = 0
    refused: int = 0

    def __add__(self, other: AddResult) -> AddResult:
        return AddResult(self.new + other.new, self.duplicates + other.duplicates, self.updated + other.updated,
                         self.refused + other.refused)


# How many new stories the feeds of one guild may store in a UTC day (GUILD_DAILY_STORY_QUOTA).
GUILD_DAILY_STORY_QUOTA = 2_000


def add_stories(
    *,
    session: Session,
    drafts: Iterable[StoryDraft],
    taxonomy: Taxonomy,
    now: datetime,
    guild_id: int | None = None,
    guild_daily_quota: int = GUILD_DAILY_STORY_QUOTA,
    feed_id: int | None = None,
) -> AddResult:
    """Store the drafts that are not stored yet, tagged with their topics.

    A story already stored is not stored again; it may be refreshed in place (see
    `_refresh_existing` for who may change what), keeping its ingest time so it is not posted
    twice. Stories from a guild's feed (`guild_id`) are seen only by that guild, unless a
    deployment-wide source carries them too, which makes them public. A guild's feeds store at most
    `guild_daily_quota` new stories a UTC day; the rest are refused (counted, logged, not stored).
    Drafts read from a registered feed (`feed_id`) are linked to it, new and known ones alike (`StoryFeed`).
    """
    unique: dict[str, StoryDraft] = {}
    seen = 0
    for draft in drafts:
        seen += 1
        cleaned = draft.clean()
        unique.setdefault(cleaned.dedupe_key(), cleaned)
    insert = _insert_ignoring_duplicates(session)
    new = updated = refused = 0
    keys = list(unique)
    for start in range(0, len(keys), _BATCH):
        batch = keys[start:start + _BATCH]
        if guild_id is not None:
            batch = _own_copies(session, batch, unique, guild_id)
            admitted = _within_guild_quota(session, batch, guild_id, now, guild_daily_quota)
            refused += len(batch) - len(admitted)
            batch = admitted
            if not batch:
                continue
        rows = [_story_row(key, unique[key], now, public=guild_id is None) for key in batch]
        # render_nulls: one INSERT for the batch; without it SQLAlchemy splits rows by which columns are
        # None (962 statements for a 2,000-story file), which made ingest 2.3 times slower.
        # The Core table, not the ORM entity: the ORM's bulk path costs more than the INSERT itself.
        stories = Story.__table__
        inserted = dict(session.execute(insert(stories).returning(stories.c.dedupe_key, stories.c.id), rows,
                                        execution_options={"render_nulls": True}).all())
        _link_topics(session, {story_id: (unique[key], unique[key].effective_at(now))
                               for key, story_id in inserted.items()}, taxonomy)
        existing = [key for key in batch if key not in inserted]
        known = _refresh_existing(session, {key: unique[key] for key in existing}, taxonomy, guild_id=guild_id, now=now)
        updated += known.updated
        if guild_id is not None:
            _share_with_guild(session, [*inserted.values(), *known.ids], guild_id, now)
        if feed_id is not None:
            _link_feed(session, [*inserted.values(), *known.ids], feed_id)
        new += len(inserted)
    if refused:
        log.warning("guild %s: %d new stories refused, over its daily quota of %d", guild_id, refused,
                    guild_daily_quota)
    return AddResult(new=new, duplicates=seen - new - refused, updated=updated, refused=refused)


def _own_copies(session: Session, keys: list[str], drafts: dict[str, StoryDraft], guild_id: int) -> list[str]:
    """`keys`, where another guild's feed stored the story first with other words, re-keyed to this guild's copy.

    Sharing that row would show this guild what another guild's (untrusted) feed wrote under the
    outlet's link; so the guild gets a private story of its own, which only its feeds may refresh.
    The same words are shared as usual. `drafts` gains the re-keyed entries.
    """
    mine = sa.select(StoryGuild.story_id).where(col(StoryGuild.story_id) == Story.id,
                                                 col(StoryGuild.guild_id) == guild_id)
    rows = session.execute(
        sa.select(Story.dedupe_key, Story.title, Story.summary)
        .where(col(Story.dedupe_key).in_(keys), sa.not_(col(Story.public)), ~mine.exists())
    ).all()
    foreign = {key for key, title, summary in rows if (drafts[key].title, drafts[key].summary) != (title, summary)}
    copies = []
    for key in keys:
        if key in foreign:
            copy = guild_copy_key(key, guild_id)
            drafts[copy] = drafts[key]
            key = copy
        copies.append(key)
    return copies


def guild_copy_key(key: str, guild_id: int) -> str:
    """The dedupe key of a guild's own copy of a story another guild's feed stored first."""
    return f"guild:{guild_id}:{key}"


def _shared_key(key: str) -> str:
    """The dedupe key without a guild copy's prefix."""
    return key.split(":", 2)[2] if key.startswith("guild:") else key


def _within_guild_quota(session: Session, keys: list[str], guild_id: int, now: datetime, quota: int) -> list[str]:
    """`keys` without the new stories beyond the guild's daily quota; the admitted new ones are counted.

    Stories already stored cost nothing (the guild only shares them). The count is reserved with
    one upsert that returns the new total, so processes storing for one guild at once never admit
    more than the quota between them.
    """
    stored = set(session.execute(sa.select(Story.dedupe_key).where(col(Story.dedupe_key).in_(keys))).scalars())
    fresh = [key for key in keys if key not in stored]
    if not fresh:
        return keys
    day = now.astimezone(UTC).date()
    total = _count_guild_stories(session, guild_id, day, len(fresh))
    allowed = max(0, min(len(fresh), quota - (total - len(fresh))))
    if allowed < len(fresh):
        _count_guild_stories(session, guild_id, day, allowed - len(fresh))
    admitted = set(fresh[:allowed])
    return [key for key in keys if key in stored or key in admitted]


def _count_guild_stories(session: Session, guild_id: int, day: date, count: int) -> int:
    """Add `count` to the guild's stories of `day` (a new day starts from zero); returns the total."""
    table = GuildDailyStories.__table__
    insert = _upsert(session, table).values(guild_id=guild_id, day=day, stored=count)
    same_day = table.c.day == insert.excluded.day
    statement = insert.on_conflict_do_update(index_elements=["guild_id"], set_={
        "stored": sa.case((same_day, table.c.stored + insert.excluded.stored), else_=insert.excluded.stored),
        "day": insert.excluded.day,
    }).returning(table.c.stored)
    return session.execute(statement).scalar_one()


def _upsert(session: Session, table):
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise ConfigError(f"unsupported database {dialect!r}: use SQLite or PostgreSQL")


def _link_topics(session: Session, stories: dict[int, tuple[StoryDraft, datetime]], taxonomy: Taxonomy) -> None:
    """Tag stories (by id: their draft and effective time) with their topics, as one batch."""
    topics = _topics_for([draft for draft, _ in stories.values()], taxonomy)
    links = [{"story_id": story_id, "topic_slug": slug, "effective_at": effective_at}
             for (story_id, (_, effective_at)), slugs in zip(stories.items(), topics, strict=True) for slug in slugs]
    if links:
        session.execute(sa.insert(StoryTopic.__table__), links)


@dataclass(frozen=True)
class _Known:
    ids: list[int]
    updated: int


def _refresh_existing(
    session: Session, drafts: dict[str, StoryDraft], taxonomy: Taxonomy, *, guild_id: int | None, now: datetime
) -> _Known:
    """Apply what a source may change in the stories it carries that are stored already.

    Guild feeds are untrusted (on a public bot anyone can add one), so the rule is that a source
    never changes what another tenant sees:

    - A deployment-wide source (`guild_id` None) makes a guild-only story public, and the public
      story is then entirely its version (title, link, outlet, summary, body, dates, topics): no
      text a guild's feed wrote ever becomes public. It counts as new from then (`public_at`).
    - A public story changes only when a deployment-wide source of the same outlet (`source`)
      republishes its URL with a new title, summary or picture: another feed that lists that URL (an
      aggregator, a hostile publisher) cannot rewrite an outlet's story, and two feeds cannot make
      it flip at every poll.
    - A guild's source changes (title, summary and picture) only a story that is private to that guild
      alone; a public story, or one another guild's feed carries too, is just shared, unchanged.

    Each UPDATE re-checks its condition, so a story made public or shared by another process
    meanwhile is not rewritten.
    """
    if not drafts:
        return _Known([], 0)
    rows = session.execute(
        sa.select(Story.id, Story.dedupe_key, Story.title, Story.summary, Story.source, Story.effective_at,
                  Story.image_url)
        .where(col(Story.dedupe_key).in_(list(drafts)))
    ).all()
    retag: dict[int, tuple[StoryDraft, datetime]] = {}
    updated = 0
    for story_id, key, title, summary, source, effective_at, image_url in rows:
        draft = drafts[key]
        # A new picture counts as an edit; a feed that stopped giving one keeps the story's.
        new_image = draft.image_url is not None and draft.image_url != image_url
        edited = _shared_key(key).startswith("url:") and ((draft.title, draft.summary) != (title, summary)
                                                           or new_image)
        if guild_id is None and _publish(session, story_id, draft, now):
            retag[story_id] = (draft, draft.effective_at(now))
            updated += (draft.title, draft.summary) != (title, summary)
        elif edited and _rewrite(session, story_id, draft, guild_id=guild_id, same_outlet=draft.source == source):
            retag[story_id] = (draft, effective_at)
            updated += 1
    if retag:
        session.execute(sa.delete(StoryTopic).where(col(StoryTopic.story_id).in_(list(retag))))
        _link_topics(session, retag, taxonomy)
    return _Known([row[0] for row in rows], updated)


def _publish(session: Session, story_id: int, draft: StoryDraft, now: datetime) -> bool:
    """Make a guild-only story public as the deployment-wide source has it; False if it already was."""
    values = {name: value for name, value in _story_row("", draft, now, public=True).items()
              if name not in {"dedupe_key", "canonical_url", "ingested_at"}}
    return _update(session, sa.update(Story).where(col(Story.id) == story_id, sa.not_(col(Story.public)))
                   .values(**values))


def _rewrite(session: Session, story_id: int, draft: StoryDraft, *, guild_id: int | None, same_outlet: bool) -> bool:
    """Give a story the draft's title, summary and picture, if this source may (see `_refresh_existing`)."""
    statement = sa.update(Story).where(col(Story.id) == story_id)
    if guild_id is None:
        if not same_outlet:
            return False
        statement = statement.where(col(Story.public))
    else:
        others = sa.select(StoryGuild.story_id).where(col(StoryGuild.story_id) == story_id,
                                                       col(StoryGuild.guild_id) != guild_id)
        statement = statement.where(sa.not_(col(Story.public)), ~others.exists())
    return _update(session, statement.values(title=draft.title, summary=draft.summary or Story.summary,
                                             image_url=draft.image_url or Story.image_url))


def _update(session: Session, statement: sa.Update) -> bool:
    return session.execute(statement.execution_options(synchronize_session=False)).rowcount == 1


def _share_with_guild(session: Session, story_ids: list[int], guild_id: int, now: datetime) -> None:
    """Let the guild see these stories; a story it already had keeps its first `shared_at`."""
    if not story_ids:
        return
    insert = insert_ignoring_conflicts(session, StoryGuild, ["story_id", "guild_id"])
    session.execute(insert, [{"story_id": story_id, "guild_id": guild_id, "shared_at": now}
                             for story_id in story_ids])


def _link_feed(session: Session, story_ids: list[int], feed_id: int) -> None:
    """Note that the feed carries these stories (a link made before stays)."""
    if story_ids:
        session.execute(insert_ignoring_conflicts(session, StoryFeed, ["story_id", "feed_id"]),
                        [{"story_id": story_id, "feed_id": feed_id} for story_id in story_ids])


def _insert_ignoring_duplicates(session: Session):
    """An INSERT that skips rows whose dedupe key exists, even when another process just added it."""
    return lambda table: insert_ignoring_conflicts(session, table, ["dedupe_key"])


def insert_ignoring_conflicts(session: Session, table, columns: list[str] | None = None):
    """INSERT … ON CONFLICT (columns) DO NOTHING, on SQLite or PostgreSQL; without columns, any conflict."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=columns)
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=columns)
    raise ConfigError(f"unsupported database {dialect!r}: use SQLite or PostgreSQL")


def _story_row(key: str, draft: StoryDraft, now: datetime, *, public: bool) -> dict:
    return {
        "public": public,
        "public_at": now if public else None,
        "dedupe_key": key,
        "title": draft.title,
        "url": draft.url,
        "image_url": draft.image_url,
        "canonical_url": _shared_key(key)[4:] if _shared_key(key).startswith("url:") else None,
        "source": draft.source,
        "summary": draft.summary,
        "body": draft.body,
        "published_at": draft.published_at,
        "ingested_at": now,
        "effective_at": draft.effective_at(now),
    }


def _topics_for(drafts: Sequence[StoryDraft], taxonomy: Taxonomy) -> list[list[str]]:
    """Each draft's topics: the tagger's, plus those its source declared when the taxonomy knows them."""
    tagged = taxonomy.tag_many([(draft.title, _tag_text(draft.summary, draft.body)) for draft in drafts])
    return [
        list(dict.fromkeys(slugs + [topic.slug for topic in map(taxonomy.resolve, draft.topics) if topic is not None]))
        for draft, slugs in zip(drafts, tagged, strict=True)
    ]


def _tag_text(summary: str, body: str | None) -> str:
    """The text the tagger reads besides the title; a summary cut from the body is not read twice."""
    if body and (not summary or body.startswith(summary[:50])):
        return body[:TAG_TEXT_MAX]
    return "\n".join(part for part in (summary, body) if part)[:TAG_TEXT_MAX]


def retag(*, session: Session, taxonomy: Taxonomy, progress: Callable[[int], object] | None = None) -> int:
    """Re-tag every story with the taxonomy in force; returns the number of topic links.

    `progress` is called with the number of stories of each batch done (for a progress bar).
    """
    sync_topics(session=session, taxonomy=taxonomy)
    session.exec(sa.delete(StoryTopic))
    links = 0
    last_id = 0
    while True:
        batch = session.execute(
            sa.select(Story.id, Story.title, Story.summary, Story.body, Story.effective_at)
            .where(col(Story.id) > last_id)
            .order_by(col(Story.id))
            .limit(_BATCH)
        ).all()
        if not batch:
            return links
        tagged = taxonomy.tag_many([(title, _tag_text(summary, body)) for _, title, summary, body, _ in batch])
        rows = [
            {"story_id": story_id, "topic_slug": slug, "effective_at": effective_at}
            for (story_id, *_, effective_at), slugs in zip(batch, tagged, strict=True)
            for slug in slugs
        ]
        if rows:
            session.execute(sa.insert(StoryTopic), rows)
        links += len(rows)
        last_id = batch[-1][0]
        if progress is not None:
            progress(len(batch))


def record_ingest_run(
    *, session: Session, source: str, started_at: datetime, result: AddResult | None, error: str | None
) -> IngestRun:
    """Remember that a source was read, and what came of it (stories refused over a quota are noted)."""
    if result is not None and result.refused:
        error = "; ".join(filter(None, [f"{result.refused} new stories refused: over the daily quota", error]))
    run = IngestRun(
        source=source[:2000],
        started_at=started_at,
        new=result.new if result else 0,
        duplicates=result.duplicates if result else 0,
        error=error[:1000] if error else None,
    )
    session.add(run)
    return run


def full_text_condition(session: Session, query: str, *, scan_by_time: bool = True) -> sa.ColumnElement[bool] | None:
    """A WHERE condition matching stories whose title, summary or body contain every word of `query`.

    Returns None when the query holds no word. `scan_by_time` says the caller orders by
    `story.effective_at` without a narrower index (see `TextSearch.condition`).
    """
    search = text_search(session, query)
    return None if search is None else search.condition(scan_by_time=scan_by_time)


def text_search(session: Session, query: str) -> TextSearch | None:
    """The words of `query` as a search of this session's store, or None when it holds no word.

    Users' text never reaches the FTS syntax raw: each typed term is a quoted phrase on SQLite and
    goes through `phraseto_tsquery` on PostgreSQL, so `AND`, `*` or quotes are just text (at most 16
    terms are read). SQLite and PostgreSQL find the same stories for the same searches
    (tests/digests/test_search_parity.py).
    """
    # A control character is noise in a search, and PostgreSQL refuses a NUL outright.
    terms = [(term, tuple(tokens)) for term in drop_controls(query).split()
             if (tokens := _FTS_TOKEN_RE.findall(term))][:16]
    if not terms:
        return None
    return TextSearch(dialect=session.get_bind().dialect.name, terms=tuple(terms))


@dataclass(frozen=True)
class TextSearch:
    """The stories matching every term of a search, read as a condition, a count or a probe of some ids.

    `terms` are the typed terms with the words each holds ("U.S." holds "u" and "s"). The statements
    are built once per `shape` with named parameters (`params` holds their values): `/stories` runs a
    few each request, and building them took longer than SQLite takes to answer them.
    """

    dialect: str
    terms: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def shape(self) -> tuple[str, int]:
        """What the statements depend on, not the words: the store and, on PostgreSQL, how many terms."""
        return self.dialect, 1 if self.dialect == "sqlite" else len(self.terms)

    @property
    def params(self) -> dict[str, str]:
        """The values of the parameters of `matching_statement(self.shape)`."""
        if self.dialect == "sqlite":
            # Each typed term is a phrase of its words: "U.S." is "u" then "s", "Trump's" "trump" then "s".
            return {"fts": " ".join('"' + " ".join(tokens) + '"' for _, tokens in self.terms)}
        return {f"term_{index}": term for index, (term, _) in enumerate(self.terms)}

    def condition(self, *, scan_by_time: bool = True) -> sa.ColumnElement[bool]:
        """A WHERE condition on `story` rows.

        With `scan_by_time`, "+story.id" keeps SQLite from driving the query by the matches (reading
        each matching row's overflow pages): it walks the effective_at index and probes the match
        set. Without it, SQLite may drive the query from the matches.
        """
        if self.dialect == "sqlite":
            return (sa.literal_column("+story.id") if scan_by_time else col(Story.id)).in_(self.matching_ids())
        return _tsquery_condition([term for term, _ in self.terms])

    def count(self, session: Session, *, cap: int, window: tuple[datetime, datetime], lowest: int = 0) -> int:
        """How many stories match, no further than `cap` (so a common word costs no more than a rare one).

        SQLite counts the matches from story id `lowest` on (FTS5 reads a doclist at a fraction of a
        microsecond a match; its index holds no time). PostgreSQL would fetch every matching row to count
        it, so its planner's estimate of the matches dated in `window` (oldest, newest) is taken instead
        (from the lexeme statistics of ANALYZE), as PostgreSQL reads them (see
        `digests.story_search.by_matches`): it only chooses a plan, never what is found.
        """
        if self.dialect != "sqlite":
            explain, constants = _postgresql_explain(len(self.terms), session.get_bind().dialect)
            oldest, newest = window
            values = {**constants, **self.params, "oldest": oldest, "now": newest}
            plan = session.connection().exec_driver_sql(explain, values).scalar()
            return min(cap, int(plan[0]["Plan"]["Plan Rows"]))
        return session.connection().execute(_sqlite_count(), {**self.params, "cap": cap, "lowest": lowest}).scalar_one()

    def matching_between(self, lowest: sa.ColumnElement[int], highest: sa.ColumnElement[int]) -> sa.Select:
        """SQLite: the ids of matching stories from `lowest` to `highest`, with the parameters of `params`;
        FTS5 seeks to the range and reads only it, so a common word costs what the range holds, not the
        whole index."""
        rowid = sa.column("rowid")
        return matching_statement(self.shape).where(rowid >= lowest, rowid <= highest)

    def matching_ids(self) -> sa.Select:
        """The ids of every matching story, for a query driven by the matches (the words bound)."""
        return matching_statement(self.shape).params(self.params)


@functools.cache
def matching_statement(shape: tuple[str, int]) -> sa.Select:
    """The ids of the stories matching a `TextSearch` of `shape`, its words left as the parameters of
    `TextSearch.params`."""
    dialect, terms = shape
    if dialect == "sqlite":
        return sa.select(sa.column("rowid")).select_from(sa.table("story_fts")).where(sa.text("story_fts MATCH :fts"))
    return sa.select(col(Story.id)).where(_postgresql_condition(terms))


@functools.cache
def _sqlite_count() -> sa.Select:
    matches = matching_statement(("sqlite", 1)).where(sa.column("rowid") >= sa.bindparam("lowest")).limit(
        sa.bindparam("cap")).subquery()
    return sa.select(sa.func.count()).select_from(matches)


@functools.cache
def _postgresql_condition(terms: int) -> sa.ColumnElement[bool]:
    return _matched(*postgresql_query(terms))


@functools.cache
def postgresql_query(terms: int) -> tuple[sa.ColumnElement, sa.ColumnElement[bool]]:
    """PostgreSQL: the tsquery of a `TextSearch` of `terms` terms (the parameters of its `params`), and whether
    every term was read as a word; a story matches when both hold of its `search` column."""
    return _tsquery([sa.bindparam(f"term_{index}", type_=sa.String) for index in range(terms)])


def _tsquery(terms: Sequence[str | sa.BindParameter[str]]) -> tuple[sa.ColumnElement, sa.ColumnElement[bool]]:
    # PostgreSQL parses each term as it parsed the stories ("U.S." is one token there), as a phrase.
    phrases = [sa.func.phraseto_tsquery(sa.literal_column("'briefbot_english'::regconfig"), term) for term in terms]
    query_ts = phrases[0]
    for phrase in phrases[1:]:
        query_ts = query_ts.op("&&")(phrase)
    # A term PostgreSQL reads as nothing ("½", a 3,000-letter word) matches nothing, as on SQLite,
    # rather than dropping out of the AND and widening the search.
    return query_ts, sa.and_(*(sa.func.numnode(phrase) > 0 for phrase in phrases))


def _tsquery_condition(terms: Sequence[str | sa.BindParameter[str]]) -> sa.ColumnElement[bool]:
    return _matched(*_tsquery(terms))


def _matched(query_ts: sa.ColumnElement, every_term_read: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    return sa.and_(every_term_read, sa.literal_column("story.search").op("@@")(query_ts))


@functools.cache
def _postgresql_explain(terms: int, dialect: sa.Dialect) -> tuple[str, dict[str, object]]:
    """EXPLAIN of the matches of a search of `terms` terms dated from `oldest` to `now`, as SQL with the driver's
    named parameters, and the values of its constants' parameters."""
    moment, timestamp = sa.literal_column("story.effective_at"), sa.DateTime(timezone=True)
    statement = sa.select(sa.literal_column("1")).select_from(sa.table("story")).where(
        _postgresql_condition(terms), moment >= sa.bindparam("oldest", type_=timestamp),
        moment <= sa.bindparam("now", type_=timestamp))
    compiled = statement.compile(dialect=dialect)
    return f"EXPLAIN (FORMAT JSON) {compiled}", {name: value for name, value in compiled.params.items()
                                                 if not name.startswith("term_") and name not in ("oldest", "now")}


def topic_links(*, session: Session, story_ids: Sequence[int]) -> dict[int, list[str]]:
    """The topic slugs of each story, in taxonomy order.

    The stories of a digest's window are mostly consecutive ids (ids follow arrival): when at least
    half the ids from the lowest to the highest are wanted, that range is read in one statement and
    the others' links skipped, rather than a statement per `_BATCH` ids (140 for a week's window).
    """
    found: dict[int, list[str]] = {story_id: [] for story_id in story_ids}
    if not story_ids:
        return found
    lowest, highest = min(story_ids), max(story_ids)
    if highest - lowest < 2 * len(found):
        reads = [(_links(between=True), {"lowest": lowest, "highest": highest})]
    else:
        reads = [(_links(between=False), {"ids": list(story_ids[start:start + _BATCH])})
                 for start in range(0, len(story_ids), _BATCH)]
    for statement, params in reads:
        for story_id, slug in session.execute(statement, params):
            links = found.get(story_id)
            if links is not None:
                links.append(slug)
    return found


@functools.cache
def _links(*, between: bool) -> sa.Select:
    """The topic links of the stories from `lowest` to `highest`, or of `ids`, in taxonomy order."""
    story_id = col(StoryTopic.story_id)
    wanted = (story_id.between(sa.bindparam("lowest"), sa.bindparam("highest")) if between
              else story_id.in_(sa.bindparam("ids", expanding=True)))
    return (sa.select(StoryTopic.story_id, StoryTopic.topic_slug)
            .join(Topic, col(Topic.slug) == col(StoryTopic.topic_slug)).where(wanted).order_by(col(Topic.position)))


def count_stories(*, session: Session) -> int:
    """How many stories are stored."""
    return session.execute(sa.select(sa.func.count()).select_from(Story)).scalar_one()


def _first_line(error: object) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


def visible_to(guild_ids: Sequence[int] | None) -> sa.ColumnElement[bool] | None:
    """Stories a viewer may see: public ones plus those of `guild_ids`; None means no restriction.

    The CLI (the operator) sees everything; a guild sees public stories and its own feeds'; a DM
    sees public stories and those of the guilds its user was seen in.
    """
    if guild_ids is None:
        return None
    return _public_or_of(list(guild_ids)) if guild_ids else col(Story.public)


def visible_to_parameter() -> sa.ColumnElement[bool]:
    """`visible_to` in a statement built once: the viewer's guilds are its (expanding) parameter `guild_ids`."""
    return _public_or_of(sa.bindparam("guild_ids", expanding=True))


def _public_or_of(guilds: list[int] | sa.BindParameter[list[int]]) -> sa.ColumnElement[bool]:
    own = sa.select(StoryGuild.story_id).where(col(StoryGuild.guild_id).in_(guilds))
    return sa.or_(col(Story.public), col(Story.id).in_(own))


def remember_member(*, session: Session, user_id: int, guild_id: int) -> None:
    """Note that a user uses the bot in a guild (their digest may then include its own stories)."""
    session.execute(insert_ignoring_conflicts(session, MemberGuild, ["user_id", "guild_id"]),
                    [{"user_id": user_id, "guild_id": guild_id}])


def member_guilds(*, session: Session, user_id: int) -> list[int]:
    """The guilds a user was seen in."""
    return list(session.exec(select(MemberGuild.guild_id).where(col(MemberGuild.user_id) == user_id)))
