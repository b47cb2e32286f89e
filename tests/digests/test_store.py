"""The store on a real SQLite file and on the real PostgreSQL server (see tests/conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel, select

from digests.ingest.briefing_text import parse_briefing_text
from digests.ingest.draft import StoryDraft
from digests.models import Story, StoryGuild, StoryTopic, Topic, UTCDateTime
from digests.store import (
    add_stories,
    alembic_config,
    count_stories,
    create_engine,
    full_text_condition,
    open_store,
    retag,
    session_scope,
    topic_links,
    upgrade_database,
)
from digests.topics import load_taxonomy

SAMPLE = (resources.files("digests") / "data" / "sample-briefing.txt").read_text(encoding="utf-8")


def _ingest_sample(engine, taxonomy, now):
    with session_scope(engine) as session:
        return add_stories(session=session, drafts=parse_briefing_text(SAMPLE, source="sample"),
                           taxonomy=taxonomy, now=now)


def _search(engine, words: str) -> list[str]:
    with session_scope(engine) as session:
        return list(session.exec(select(Story.title).where(full_text_condition(session, words))))


def test_migrations_create_the_schema_from_empty(engine):
    tables = set(sa.inspect(engine).get_table_names())
    assert {"story", "topic", "story_topic", "ingest_run", "alembic_version"} <= tables
    with engine.connect() as conn:
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    assert version == ScriptDirectory(str(resources.files("digests") / "migrations")).get_current_head()


def test_opening_an_up_to_date_store_again_changes_nothing(database_url, engine, taxonomy, now):
    _ingest_sample(engine, taxonomy, now)
    again = open_store(database_url, taxonomy)
    with session_scope(again) as session:
        assert count_stories(session=session) == 18
    again.dispose()


def test_ingesting_the_sample_twice_stores_it_once(engine, taxonomy, now):
    first = _ingest_sample(engine, taxonomy, now)
    second = _ingest_sample(engine, taxonomy, now + timedelta(hours=1))
    assert (first.new, first.duplicates) == (18, 0)
    assert (second.new, second.duplicates) == (0, 18)
    with session_scope(engine) as session:
        assert count_stories(session=session) == 18


def test_duplicates_within_one_batch_are_stored_once(engine, taxonomy, now):
    drafts = [StoryDraft(title="Same", source="S", url="https://x.org/a?utm_source=1"),
              StoryDraft(title="Same again", source="T", url="https://x.org/a")]
    with session_scope(engine) as session:
        result = add_stories(session=session, drafts=drafts, taxonomy=taxonomy, now=now)
    assert (result.new, result.duplicates) == (1, 1)


def test_timestamps_come_back_timezone_aware_utc(engine, taxonomy, now):
    published = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    with session_scope(engine) as session:
        add_stories(session=session, drafts=[StoryDraft(title="T", source="S", published_at=published)],
                    taxonomy=taxonomy, now=now)
    with session_scope(engine) as session:
        story = session.exec(select(Story)).one()
    assert story.published_at == published and story.published_at.tzinfo is not None
    assert story.ingested_at == now and story.ingested_at.utcoffset() == timedelta(0)


def test_full_text_finds_greenland_in_the_article_body(engine, taxonomy, now):
    _ingest_sample(engine, taxonomy, now)
    assert [title[:30] for title in _search(engine, "Greenland")] == ["U.S. Defense Secretary Pete He"]
    assert _search(engine, "greenland arctic NATO")  # every word, any case
    assert _search(engine, "Greenland penguins") == []


def test_a_control_character_in_a_search_is_ignored_on_both_stores(engine, taxonomy, now):
    _ingest_sample(engine, taxonomy, now)
    assert _search(engine, "Green\x00land") == _search(engine, "Greenland") != []


def test_full_text_treats_query_syntax_as_plain_words(engine, taxonomy, now):
    _ingest_sample(engine, taxonomy, now)
    plain = sorted(_search(engine, "Powell"))
    assert len(plain) == 2
    for hostile in ('Powell*', '"Powell', "Powell)", "(Powell", "Powell:", "^Powell"):
        assert sorted(_search(engine, hostile)) == plain, hostile
    assert _search(engine, "*** ((") == []


def test_full_text_index_follows_updates_and_deletes(engine, taxonomy, now):
    _ingest_sample(engine, taxonomy, now)
    with session_scope(engine) as session:
        story = session.exec(select(Story).where(Story.title.startswith("Trump Family"))).one()
        story.title = "Zanzibar referendum announced"
    assert len(_search(engine, "Zanzibar")) == 1
    assert _search(engine, "IRS") == []
    with session_scope(engine) as session:
        session.delete(session.exec(select(Story).where(Story.title.startswith("Zanzibar"))).one())
    assert _search(engine, "Zanzibar") == []


@pytest.mark.parametrize("wanted", [slice(None), slice(None, None, 2), slice(None, None, 5)])
def test_topic_links_give_each_wanted_story_its_topics_in_taxonomy_order(engine, taxonomy, now, wanted):
    """All ids, every other or every fifth asked for: read as one range or in batches, only the wanted stories."""
    titles = ["Fed raises interest rates as tariffs on steel loom", "NATO troops deploy", "Cat rescued from tree",
              "Senate passes tariff bill", "Central bank inflation report", "Election polls open"] * 2
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=now,
                    drafts=[StoryDraft(title=f"{title} {n}", source="A") for n, title in enumerate(titles)])
        stories = session.exec(select(Story).order_by(Story.id)).all()
        expected = {story.id: list(session.exec(
            select(StoryTopic.topic_slug).join(Topic, Topic.slug == StoryTopic.topic_slug)
            .where(StoryTopic.story_id == story.id).order_by(Topic.position))) for story in stories}
        ids = [story.id for story in stories][wanted]
        links = topic_links(session=session, story_ids=ids)
    assert links == {story_id: expected[story_id] for story_id in ids}
    assert any(len(topics) > 1 for topics in links.values()) and any(not topics for topics in expected.values())


def test_sample_is_tagged_as_the_spec_requires(engine, taxonomy, now):
    _ingest_sample(engine, taxonomy, now)
    with session_scope(engine) as session:
        stories = session.exec(select(Story)).all()
        links = topic_links(session=session, story_ids=[s.id for s in stories])
    by_title = {s.title: links[s.id] for s in stories}

    def topics_of(prefix: str) -> list[str]:
        return next(topics for title, topics in by_title.items() if title.startswith(prefix))

    assert "defense" in topics_of("U.S. Defense Secretary")
    assert "economy" in topics_of("Jerome Powell Attends")
    assert "economy" in topics_of("Trump to Announce New Federal Reserve")
    assert "technology" in topics_of("U.S. and Taiwan Strengthen AI")
    assert "immigration" in topics_of("Trump Warns Minneapolis Mayor")


def test_retag_applies_a_changed_taxonomy(engine, taxonomy, now, tmp_path):
    _ingest_sample(engine, taxonomy, now)
    custom = tmp_path / "topics.toml"
    custom.write_text(
        '[[topic]]\nslug = "arctic"\nname = "Arctic"\nemoji = "🧊"\nkeywords = ["Greenland", "Arctic", "alliance"]\n'
        '[[topic]]\nslug = "economy"\nname = "Economy"\nemoji = "📈"\nkeywords = ["Federal Reserve"]\n',
        encoding="utf-8",
    )
    new_taxonomy = load_taxonomy(custom)
    with session_scope(engine) as session:
        links = retag(session=session, taxonomy=new_taxonomy)
    with session_scope(engine) as session:
        slugs = set(session.exec(select(Topic.slug)))
        tagged = session.exec(select(StoryTopic.topic_slug, sa.func.count()).group_by(StoryTopic.topic_slug)).all()
    assert slugs == {"arctic", "economy"}
    assert dict(tagged) == {"arctic": 1, "economy": 1}
    assert links == 2


def test_a_failed_batch_loses_nothing_already_stored(engine, taxonomy, now):
    _ingest_sample(engine, taxonomy, now)
    try:
        with session_scope(engine) as session:
            add_stories(session=session, drafts=[StoryDraft(title="New", source="S")], taxonomy=taxonomy, now=now)
            raise RuntimeError("the process died mid-ingest")
    except RuntimeError:
        pass
    with session_scope(engine) as session:
        assert count_stories(session=session) == 18


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index",
                            "ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrations_match_the_models(engine):
    """Alembic's autogenerate finds nothing to do: the migrations build exactly what the models say."""

    def ours(obj, name, type_, reflected, compare_to) -> bool:
        # The full-text index is built by hand: FTS5 tables on SQLite, a tsvector column on PostgreSQL.
        # SQLite cannot reflect the feed's expression index; test_a_feed_url_is_registered_once covers it.
        return not (name and (name.startswith("story_fts") or name in {"search", "ix_story_search",
                                                                         "ux_feed_url_guild"}))

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": ours, "compare_type": False})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def _titles(engine, guild_ids):
    from digests.store import visible_to

    with session_scope(engine) as session:
        statement = select(Story.title)
        condition = visible_to(guild_ids)
        return sorted(session.exec(statement if condition is None else statement.where(condition)))


def test_a_guild_feeds_stories_are_seen_by_that_guild_only(engine, taxonomy, now):
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=now, guild_id=111,
                    drafts=[StoryDraft(title="Local council vote", source="A", url="https://a.example/1")])
        add_stories(session=session, taxonomy=taxonomy, now=now,
                    drafts=[StoryDraft(title="World news", source="W", url="https://w.example/1")])
    assert _titles(engine, [111]) == ["Local council vote", "World news"]
    assert _titles(engine, [222]) == ["World news"]
    assert _titles(engine, []) == ["World news"]
    assert _titles(engine, None) == ["Local council vote", "World news"]


def test_a_story_two_guilds_carry_is_seen_by_both_and_a_public_source_makes_it_public(engine, taxonomy, now):
    story = StoryDraft(title="Shared scoop", source="A", url="https://a.example/s")
    for guild in (111, 222):
        with session_scope(engine) as session:
            add_stories(session=session, taxonomy=taxonomy, now=now, guild_id=guild, drafts=[story])
    assert _titles(engine, [222]) == ["Shared scoop"] and _titles(engine, [333]) == []
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=now, drafts=[story])
    assert _titles(engine, [333]) == ["Shared scoop"]


def test_a_changed_title_is_updated_in_place_and_a_changed_date_is_ignored(engine, taxonomy, now):
    url = "https://wire.example/story?utm_source=rss"
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=now,
                    drafts=[StoryDraft(title="Storm nears coast", source="W", url=url, published_at=now)])
    later = now + timedelta(hours=2)
    with session_scope(engine) as session:
        same = add_stories(session=session, taxonomy=taxonomy, now=later, drafts=[StoryDraft(
            title="Storm nears coast", source="W", url=url, published_at=later)])
        changed = add_stories(session=session, taxonomy=taxonomy, now=later, drafts=[StoryDraft(
            title="Tariffs hit coast as storm nears", source="W", url="https://wire.example/story?utm_medium=x")])
    assert (same.new, same.updated) == (0, 0)
    assert (changed.new, changed.duplicates, changed.updated) == (0, 1, 1)
    with session_scope(engine) as session:
        story = session.exec(select(Story)).one()
        links = topic_links(session=session, story_ids=[story.id])
    assert story.title == "Tariffs hit coast as storm nears"
    assert story.ingested_at == now and story.published_at == now  # not re-posted as new
    assert "trade" in links[story.id]
    assert len(_search(engine, "tariffs")) == 1


def test_a_feed_url_is_registered_once_per_guild_and_duplicates_are_merged_on_upgrade(database_url):
    engine = create_engine(database_url)
    upgrade_database(engine, "0007")
    insert = sa.text("INSERT INTO feed (url, guild_id, created_at, enabled, failures, poll_interval_minutes, "
                     "disabled_announced) VALUES (:url, :guild, '2026-11-28 07:00:00', true, 0, 15, false)")
    with engine.begin() as conn:  # two processes once registered FEEDS_FILE's feeds at the same moment
        for guild in (None, None, 7, 7, 8):
            conn.execute(insert, {"url": "https://news.example/rss", "guild": guild})
    upgrade_database(engine)
    with engine.begin() as conn:
        kept = conn.execute(sa.text("SELECT guild_id FROM feed ORDER BY id")).scalars().all()
        assert kept == [None, 7, 8]
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(insert, {"url": "https://news.example/rss", "guild": None})
    engine.dispose()


def test_every_sqlite_connection_gets_wal_foreign_keys_and_the_checkpoint_interval(tmp_path, taxonomy):
    engine = open_store(f"sqlite:///{tmp_path / 'pragmas.db'}", taxonomy)
    try:
        with engine.connect() as conn:
            settings = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()
                        for name in ("journal_mode", "foreign_keys", "synchronous", "wal_autocheckpoint")}
    finally:
        engine.dispose()
    assert settings == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 1, "wal_autocheckpoint": 4000}


def test_control_characters_and_lone_surrogates_never_reach_the_store(engine, taxonomy, now):
    # PostgreSQL refused the NUL and neither store could encode the surrogate: the whole file failed.
    drafts = [StoryDraft(title="Markets\x00 rally\ud800", source="Wire\x00", summary="Stocks\x07 rose.",
                         body="Body\x00 text.", url="https://a.example/1"),
              StoryDraft(title="A link with a NUL", source="Wire", url="https://a.example/2\x00x")]
    with session_scope(engine) as session:
        assert add_stories(session=session, drafts=drafts, taxonomy=taxonomy, now=now).new == 2
    with session_scope(engine) as session:
        stored = session.execute(sa.select(Story.title, Story.source, Story.summary, Story.body, Story.url)
                                 .order_by(Story.id)).all()
    assert [tuple(row) for row in stored] == [
        ("Markets rally", "Wire", "Stocks rose.", "Body text.", "https://a.example/1"),
        ("A link with a NUL", "Wire", "", None, None),
    ]


def test_database_errors_do_not_quote_their_parameters(engine):
    secret = "https://discord.com/api/webhooks/1/hunter2-token"
    with pytest.raises(sa.exc.IntegrityError) as raised, engine.begin() as conn:
        conn.execute(sa.insert(Topic.__table__), [{"slug": "x", "name": secret, "emoji": "", "position": 0}] * 2)
    assert "hunter2-token" not in str(raised.value)


def test_upgrading_from_0010_dates_public_stories_and_guild_shares_from_their_ingest(database_url, taxonomy):
    engine = create_engine(database_url)
    upgrade_database(engine, "0010")
    insert = sa.text("INSERT INTO story (dedupe_key, title, url, canonical_url, source, summary, published_at, "
                     "ingested_at, effective_at, public) VALUES (:key, :title, NULL, NULL, 'Wire', '', NULL, "
                     ":at, :at, :public)").bindparams(sa.bindparam("at", type_=UTCDateTime()))
    public_at, guild_at = datetime(2026, 11, 28, 6, 0, tzinfo=UTC), datetime(2026, 11, 28, 6, 30, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert, {"key": "t:public", "title": "Public tariffs story", "public": True, "at": public_at})
        conn.execute(insert, {"key": "t:guild", "title": "Guild tariffs story", "public": False, "at": guild_at})
        conn.execute(sa.text("INSERT INTO story_guild (story_id, guild_id) "
                             "SELECT id, 7 FROM story WHERE dedupe_key = 't:guild'"))
    engine.dispose()
    engine = open_store(database_url, taxonomy)
    try:
        with session_scope(engine) as session:
            stories = {story.dedupe_key: story for story in session.exec(select(Story))}
            shared_at = session.exec(select(StoryGuild.shared_at)).one()
        assert (stories["t:public"].public_at, stories["t:guild"].public_at, shared_at) == (public_at, None, guild_at)
        assert sorted(_search(engine, "tariffs")) == ["Guild tariffs story", "Public tariffs story"]
        with session_scope(engine) as session:  # the full-text index still follows new stories
            add_stories(session=session, taxonomy=taxonomy, now=public_at + timedelta(days=1),
                        drafts=[StoryDraft(title="Tariffs after the upgrade", source="Wire")])
        assert len(_search(engine, "tariffs")) == 3
    finally:
        engine.dispose()


def test_upgrading_from_0014_keeps_stories_and_targets_and_makes_every_digest_text(database_url, taxonomy):
    """Migration 0016 adds `story.image_url` (none for stories stored before) and `style` (`text`) to briefings
    and personal digests, on both stores, losing nothing."""
    from digests.models import ChannelBriefing, PersonalDigest

    engine = create_engine(database_url)
    upgrade_database(engine, "0014")
    at = sa.bindparam("at", type_=UTCDateTime())
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO story (dedupe_key, title, url, canonical_url, source, summary, ingested_at, "
                             "effective_at, public) VALUES ('url:https://a.example/1', 'Tariffs rise', "
                             "'https://a.example/1', 'https://a.example/1', 'Wire', 'Duties up.', :at, :at, true)"
                             ).bindparams(at), {"at": datetime(2026, 11, 28, 6, tzinfo=UTC)})
        conn.execute(sa.text("INSERT INTO channel_briefing (guild_id, channel_id, time_of_day, timezone, topics, days,"
                             " quiet_day_notice, paused, created_at, channel_kind) VALUES (1, 2, '08:00', 'UTC', "
                             "'trade', 'daily', false, false, '2026-11-28 07:00:00', 'forum')"))
        conn.execute(sa.text("INSERT INTO personal_digest (user_id, time_of_day, timezone, paused, created_at) "
                             "VALUES (9, '07:30', 'Europe/Brussels', false, '2026-11-28 07:00:00')"))
    engine.dispose()
    engine = open_store(database_url, taxonomy)
    try:
        with session_scope(engine) as session:
            story = session.exec(select(Story)).one()
            briefing = session.exec(select(ChannelBriefing)).one()
            digest = session.exec(select(PersonalDigest)).one()
            assert (story.title, story.summary, story.image_url) == ("Tariffs rise", "Duties up.", None)
            assert (briefing.channel_id, briefing.channel_kind, briefing.topics, briefing.style) == (
                2, "forum", "trade", "text")
            assert (digest.user_id, digest.time_of_day, digest.style) == (9, "07:30", "text")
            briefing.style, digest.style = "rich", "rich"
            add_stories(session=session, taxonomy=taxonomy, now=datetime(2026, 11, 28, 8, tzinfo=UTC), drafts=[
                StoryDraft(title="Tariffs rise", source="Wire", url="https://a.example/1", summary="Duties up.",
                           image_url="https://img.example/tariffs.jpg")])
        with session_scope(engine) as session:
            assert session.exec(select(Story.image_url)).one() == "https://img.example/tariffs.jpg"
            assert {session.exec(select(ChannelBriefing)).one().style, session.exec(select(PersonalDigest)).one().style
                    } == {"rich"}
    finally:
        engine.dispose()


def test_a_stored_picture_is_kept_when_a_feed_stops_giving_one_and_replaced_by_its_own_outlet(engine, taxonomy, now):
    url = "https://wire.example/storm"

    def ingest(image, *, source="Wire", guild_id=None, at=now):
        with session_scope(engine) as session:
            return add_stories(session=session, taxonomy=taxonomy, now=at, guild_id=guild_id, drafts=[
                StoryDraft(title="Storm nears coast", source=source, url=url, image_url=image)])

    def stored():
        with session_scope(engine) as session:
            return session.exec(select(Story.image_url)).one()

    assert ingest("https://img.example/first.jpg").new == 1
    assert ingest(None).updated == 0 and stored() == "https://img.example/first.jpg"
    assert ingest("https://img.example/other.jpg", source="Aggregator").updated == 0  # not its story to change
    assert ingest("https://img.example/other.jpg", guild_id=7).updated == 0  # a guild's feed never rewrites public
    assert stored() == "https://img.example/first.jpg"
    assert ingest("https://img.example/second.jpg", at=now + timedelta(hours=1)).updated == 1
    assert stored() == "https://img.example/second.jpg"
    with session_scope(engine) as session:
        assert session.exec(select(Story.ingested_at)).one() == now  # an edit is not a new story


def test_a_savepoint_before_the_first_write_stays_part_of_the_transaction(engine, taxonomy, now):
    # pysqlite opens a transaction only before its first INSERT/UPDATE/DELETE: a SAVEPOINT before
    # any of them opened one of SQLite's own, and its RELEASE committed the insert at once.
    _ingest_sample(engine, taxonomy, now)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        assert session.exec(select(Story.id)).first() is not None  # a read: no transaction yet on SQLite
        with session.begin_nested():
            session.add(Topic(slug="savepointed", name="Savepointed"))
        raise RuntimeError("the unit of work fails after its savepoint")
    with session_scope(engine) as session:
        assert session.get(Topic, "savepointed") is None


def test_migration_0020_puts_the_story_id_in_the_topic_time_index_and_its_downgrade_takes_it_out(database_url,
                                                                                                   taxonomy, now):
    """The (topic, time) index also holds the story id after 0020, keeping every link; 0019's index after a
    downgrade."""
    def index_columns(engine: sa.Engine) -> list[str]:
        with engine.connect() as conn:
            indexes = {index["name"]: index["column_names"] for index in sa.inspect(conn).get_indexes("story_topic")}
        return indexes["ix_story_topic_recent"]

    engine = create_engine(database_url)
    try:
        upgrade_database(engine, "0019")
        assert index_columns(engine) == ["topic_slug", "effective_at"]
        engine.dispose()
        engine = open_store(database_url, taxonomy)
        with session_scope(engine) as session:
            add_stories(session=session, taxonomy=taxonomy, now=now,
                        drafts=[StoryDraft(title="Tariffs and the economy", source="Wire", topics=("economy",))])
        assert index_columns(engine) == ["topic_slug", "effective_at", "story_id"]
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0019")
        assert index_columns(engine) == ["topic_slug", "effective_at"]
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(StoryTopic)).scalar_one() >= 1
    finally:
        engine.dispose()
