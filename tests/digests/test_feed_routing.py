"""Briefings limited to chosen feeds, the feeds that carried each story, and migration 0019 (both stores)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from digests.delivery import render_target
from digests.errors import Refusal
from digests.feed_registry import register_feed, remove_feed
from digests.feed_routing import (
    MAX_BRIEFING_FEEDS,
    briefings_limited_to,
    feeds_of_target,
    limit_to_feed,
    routable_feeds,
    unlimit_feed,
)
from digests.ingest.draft import StoryDraft
from digests.models import ChannelBriefing, StoryFeed
from digests.saved_searches import add_saved_search
from digests.store import add_stories, alembic_config, create_engine, session_scope, upgrade_database
from digests.targets import setup_briefing

GUILD, OTHER = 7, 8


def feed(session, now, url, guild_id=None):
    return register_feed(session=session, url=url, guild_id=guild_id, topic_slug=None, added_by=None, now=now)[0]


def briefing(session, taxonomy, now, channel_id=70, topics=None):
    return setup_briefing(session=session, taxonomy=taxonomy, guild_id=GUILD, channel_id=channel_id,
                          time_of_day="08:00", timezone="UTC", topics=topics, days=None, mention_role_id=None,
                          quiet_day_notice=None, now=now - timedelta(days=3))[0]


def refused(reply: str):
    return pytest.raises(Refusal, match=f"^{reply}$")


def test_a_briefing_chooses_its_guilds_feeds_and_the_deployments_not_another_guilds(engine, taxonomy, now):
    with session_scope(engine) as session:
        wide = feed(session, now, "https://wire.example/feed")
        own = feed(session, now, "https://local.example/feed", GUILD)
        theirs = feed(session, now, "https://elsewhere.example/feed", OTHER)
        target = briefing(session, taxonomy, now)
        assert [f.id for f in routable_feeds(session=session, guild_id=GUILD)] == [own.id, wide.id]
        assert limit_to_feed(session=session, briefing=target, feed=str(own.id)).id == own.id
        assert limit_to_feed(session=session, briefing=target, feed=wide.url).id == wide.id  # by URL too
        with refused("briefing_feed_unknown"):
            limit_to_feed(session=session, briefing=target, feed=str(theirs.id))
        with refused("briefing_feed_unknown"):
            limit_to_feed(session=session, briefing=target, feed=theirs)
        with refused("briefing_feed_exists"):
            limit_to_feed(session=session, briefing=target, feed=f"#{own.id}")
        with refused("briefing_feed_not_chosen"):
            unlimit_feed(session=session, briefing=target, feed=str(theirs.id))
        removed, left = unlimit_feed(session=session, briefing=target, feed=str(wide.id))
        assert removed.id == wide.id and [f.id for f in left] == [own.id]
        for n in range(MAX_BRIEFING_FEEDS - 1):
            limit_to_feed(session=session, briefing=target, feed=feed(session, now, f"https://w{n}.example/feed"))
        with refused("briefing_feed_limit"):
            limit_to_feed(session=session, briefing=target, feed=wide)
        assert len(feeds_of_target(session=session, target_id=target.id)) == MAX_BRIEFING_FEEDS


def test_a_poll_links_new_and_known_stories_to_its_feed_and_removing_the_feed_unlinks_them(engine, taxonomy, now):
    story = StoryDraft(title="Harbour strike ends", source="Gazette", url="https://gazette.example/strike")
    with session_scope(engine) as session:
        first, second = feed(session, now, "https://a.example/feed"), feed(session, now, "https://b.example/feed")
        add_stories(session=session, taxonomy=taxonomy, now=now, drafts=[story], feed_id=first.id)
        add_stories(session=session, taxonomy=taxonomy, now=now, drafts=[story], feed_id=second.id)  # known already
        add_stories(session=session, taxonomy=taxonomy, now=now, drafts=[story], feed_id=second.id)  # no new link
        add_stories(session=session, taxonomy=taxonomy, now=now, drafts=[StoryDraft(title="Ingested", source="CLI")])
        links = session.execute(sa.select(StoryFeed.feed_id)).scalars().all()
        assert sorted(links) == sorted([first.id, second.id])
        target = briefing(session, taxonomy, now)
        other = briefing(session, taxonomy, now, channel_id=71)
        for chosen in (first, second):
            limit_to_feed(session=session, briefing=target, feed=chosen)
        limit_to_feed(session=session, briefing=other, feed=first)
        assert [(b.channel_id, others) for b, others in briefings_limited_to(session=session, feed_id=first.id)] == \
            [(70, 1), (71, 0)]
        remove_feed(session=session, guild_id=None, feed=str(first.id))
    with session_scope(engine) as session:
        assert session.execute(sa.select(StoryFeed.feed_id)).scalars().all() == [second.id]
        assert [f.id for f in feeds_of_target(session=session, target_id=target.id)] == [second.id]
        assert feeds_of_target(session=session, target_id=other.id) == []  # it takes every feed's stories again


def test_a_briefing_limited_to_feeds_takes_only_their_stories_narrowed_by_its_topics(engine, taxonomy, renderer,
                                                                                     now):
    arrived = now - timedelta(hours=2)
    with session_scope(engine) as session:
        wide, own = feed(session, now, "https://wire.example/f"), feed(session, now, "https://local.example/f", GUILD)
        add_stories(session=session, taxonomy=taxonomy, now=arrived, feed_id=wide.id, drafts=[
            StoryDraft(title="Federal Reserve holds interest rates", source="Wire"),
            StoryDraft(title="NATO allies meet on defence spending", source="Wire")])
        add_stories(session=session, taxonomy=taxonomy, now=arrived, feed_id=own.id, guild_id=GUILD, drafts=[
            StoryDraft(title="Harbour tariffs raised for steel imports", source="Local")])
        add_stories(session=session, taxonomy=taxonomy, now=arrived, drafts=[
            StoryDraft(title="Bank of England holds interest rates", source="Unrouted"),
            StoryDraft(title="Tariffs on wine imports debated", source="Unrouted")])
        target = briefing(session, taxonomy, now)
        limit_to_feed(session=session, briefing=target, feed=wide)
        limit_to_feed(session=session, briefing=target, feed=own)
        add_saved_search(session=session, target_id=target.id, query="tariffs", now=now)
        topical = briefing(session, taxonomy, now, channel_id=71, topics="economy")
        limit_to_feed(session=session, briefing=topical, feed=wide)
        everything = briefing(session, taxonomy, now, channel_id=72)

    def text(channel_id: int) -> str:
        with session_scope(engine) as session:
            target = session.get(ChannelBriefing, session.execute(
                sa.select(ChannelBriefing.id).where(ChannelBriefing.channel_id == channel_id)).scalar_one())
            return "\n".join(render_target(session=session, taxonomy=taxonomy, renderer=renderer, target=target,
                                           now=now))

    routed = text(70)
    assert "Federal Reserve" in routed and "NATO" in routed and "Harbour tariffs" in routed
    assert "Bank of England" not in routed and "wine" not in routed  # the search, too, sees only its feeds
    assert "**🔎 tariffs**" not in routed  # the one match is shown above
    narrowed = text(71)
    assert "Federal Reserve" in narrowed and "NATO" not in narrowed and "Bank of England" not in narrowed
    assert "Bank of England" in text(everything.channel_id)


def test_migration_0019_adds_its_tables_and_its_downgrade_drops_them_keeping_the_rest(database_url, taxonomy, now):
    engine = create_engine(database_url)
    try:
        upgrade_database(engine, "0018")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO feed (id, url, created_at, enabled, failures, poll_interval_minutes, "
                                 "disabled_announced) VALUES (5, 'https://a.example/f', :at, true, 0, 15, false)"),
                         {"at": now})
        upgrade_database(engine)
        with session_scope(engine) as session:
            target = briefing(session, taxonomy, now)
            limit_to_feed(session=session, briefing=target, feed="5")
            add_saved_search(session=session, target_id=target.id, query="harbour", now=now)
            add_stories(session=session, taxonomy=taxonomy, now=now, drafts=[StoryDraft(title="Harbour", source="A")],
                        feed_id=5)
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0018")
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            assert not tables & {"saved_search", "target_feed", "story_feed"}
            assert conn.execute(sa.text("SELECT count(*) FROM feed")).scalar_one() == 1
            assert conn.execute(sa.text("SELECT count(*) FROM story")).scalar_one() == 1
            assert conn.execute(sa.text("SELECT count(*) FROM channel_briefing")).scalar_one() == 1
        upgrade_database(engine)
        with session_scope(engine) as session:
            assert feeds_of_target(session=session, target_id=target.id) == []
    finally:
        engine.dispose()
