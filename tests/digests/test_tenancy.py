"""Guild feeds and the other tenants: who may change a stored story, when a story is new to whom,
and the daily per-guild quota (review H2, M5, M4), on both stores."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from digests.errors import ConfigError
from digests.ingest.draft import StoryDraft
from digests.models import Story
from digests.selection import StoryPools, find_stories, select_digest
from digests.settings import Settings
from digests.store import GUILD_DAILY_STORY_QUOTA, add_stories, session_scope, topic_links

URL = "https://www.reuters.com/world/fed-holds-rates-2026-11-30/"
REAL = StoryDraft(title="Fed holds rates steady", source="Reuters", url=URL,
                  summary="The Federal Reserve kept rates unchanged.")
FAKE = StoryDraft(title="Fed chair resigns, markets crash", source="Reuters", url=URL + "?utm_source=x",
                  summary="Sell everything now.")


def add(engine, taxonomy, when, drafts, guild_id=None, **options):
    with session_scope(engine) as session:
        return add_stories(session=session, drafts=drafts, taxonomy=taxonomy, now=when, guild_id=guild_id, **options)


def seen_by(engine, taxonomy, now, guild_ids):
    """(title, source, summary) of every story `guild_ids` find on economy in /stories."""
    with session_scope(engine) as session:
        found = find_stories(session=session, taxonomy=taxonomy, topic="economy", query=None, hours=24, limit=10,
                             now=now, guild_ids=guild_ids)
    return [(item.title, item.source, item.summary) for item in found.items]


def titles(engine, taxonomy, now, since, guild_ids, pools=None):
    with session_scope(engine) as session:
        found = select_digest(session=session, taxonomy=taxonomy, topics=None, since=since, now=now,
                              guild_ids=guild_ids, pools=pools)
    return sorted(item.title for item in ([found.top] if found.top else [])
                  + [item for section in found.sections for item in section.items])


# H2: a guild's feed never rewrites what another tenant sees ------------------------------------


def test_a_guild_feed_cannot_rewrite_a_public_story(engine, taxonomy, now):
    add(engine, taxonomy, now, [REAL])
    result = add(engine, taxonomy, now + timedelta(minutes=2), [FAKE], guild_id=111)
    later = now + timedelta(minutes=3)
    real = ("Fed holds rates steady", "Reuters", "The Federal Reserve kept rates unchanged.")
    assert (result.new, result.duplicates, result.updated) == (0, 1, 0)
    assert seen_by(engine, taxonomy, later, [222]) == [real]
    assert seen_by(engine, taxonomy, later, []) == [real]
    assert seen_by(engine, taxonomy, later, [111]) == [real]  # the guild shares the public story as it is


def test_a_guild_feed_cannot_rewrite_a_story_another_guild_also_carries(engine, taxonomy, now):
    add(engine, taxonomy, now, [REAL], guild_id=222)
    add(engine, taxonomy, now + timedelta(minutes=1), [REAL], guild_id=111)
    result = add(engine, taxonomy, now + timedelta(minutes=2), [FAKE], guild_id=111)
    assert result.updated == 0
    assert [row[0] for row in seen_by(engine, taxonomy, now + timedelta(minutes=3), [222])] == [REAL.title]


def test_a_guild_feed_that_stored_a_link_first_does_not_word_it_for_another_guild(engine, taxonomy, now):
    add(engine, taxonomy, now, [FAKE], guild_id=111)  # a hostile guild seeds the outlet's link first
    result = add(engine, taxonomy, now + timedelta(minutes=1), [REAL], guild_id=222)
    later = now + timedelta(minutes=2)
    assert result.new == 1  # guild 222 gets a copy of its own
    assert [row[0] for row in seen_by(engine, taxonomy, later, [222])] == [REAL.title]
    assert [row[0] for row in seen_by(engine, taxonomy, later, [111])] == [FAKE.title]
    assert seen_by(engine, taxonomy, later, [333]) == []
    refreshed = replace(REAL, summary="Rates unchanged again.")
    again = add(engine, taxonomy, later, [refreshed], guild_id=222)
    assert (again.new, again.updated) == (0, 1)  # the next poll finds, and may refresh, its own copy
    assert seen_by(engine, taxonomy, later, [222])[0][2] == "Rates unchanged again."
    assert [row[0] for row in seen_by(engine, taxonomy, later, [111])] == [FAKE.title]


def test_a_guild_still_refreshes_a_story_only_its_own_feeds_carry(engine, taxonomy, now):
    add(engine, taxonomy, now, [REAL], guild_id=111)
    result = add(engine, taxonomy, now + timedelta(minutes=2), [FAKE], guild_id=111)
    assert result.updated == 1
    assert [row[0] for row in seen_by(engine, taxonomy, now + timedelta(minutes=3), [111])] == [FAKE.title]


def test_a_story_made_public_shows_the_deployment_sources_version_not_the_guilds(engine, taxonomy, now):
    add(engine, taxonomy, now, [FAKE], guild_id=111)
    add(engine, taxonomy, now + timedelta(minutes=5), [REAL])
    with session_scope(engine) as session:
        story = session.exec(select(Story)).one()
        topics = topic_links(session=session, story_ids=[story.id])[story.id]
    assert (story.title, story.summary, story.url, story.public) == (REAL.title, REAL.summary, URL, True)
    assert story.public_at == now + timedelta(minutes=5) and story.ingested_at == now
    assert "economy" in topics


def test_another_outlet_listing_a_url_does_not_rewrite_the_outlets_story(engine, taxonomy, now):
    add(engine, taxonomy, now, [REAL])
    aggregator = StoryDraft(title="Markets crash as Fed chair quits", source="Aggregator", url=URL)
    assert add(engine, taxonomy, now + timedelta(minutes=1), [aggregator]).updated == 0
    republished = StoryDraft(title="Fed holds rates steady, signals cuts", source="Reuters", url=URL)
    assert add(engine, taxonomy, now + timedelta(minutes=2), [republished]).updated == 1
    assert [row[0] for row in seen_by(engine, taxonomy, now + timedelta(minutes=3), [])] == [republished.title]


# M5: a guild feed cannot keep a story out of other targets' digests --------------------------


def test_a_story_a_guild_feed_carried_first_is_new_to_others_when_it_becomes_public(engine, taxonomy, now):
    delivered = now.replace(hour=8, minute=0)
    story = [StoryDraft(title="Central bank raises interest rates again", source="Wire",
                        url="https://wire.example/rates")]
    add(engine, taxonomy, delivered - timedelta(minutes=20), story, guild_id=111)  # guild A's mirror, 07:40
    add(engine, taxonomy, delivered + timedelta(minutes=10), story)  # the deployment-wide feed, 08:10
    next_slot = delivered + timedelta(days=1)
    assert titles(engine, taxonomy, next_slot, delivered, [222]) == [story[0].title]  # guild B
    assert titles(engine, taxonomy, next_slot, delivered, []) == [story[0].title]  # a webhook
    assert titles(engine, taxonomy, next_slot, delivered, [222, 111]) == []  # a member of A had it at 08:00
    assert titles(engine, taxonomy, next_slot, delivered, [111]) == []  # guild A had it at 08:00 already
    pools = StoryPools()  # a shared pool agrees with each target alone
    shared = [titles(engine, taxonomy, next_slot, delivered, ids, pools) for ids in ([222], [111], [])]
    assert shared == [[story[0].title], [], [story[0].title]]


def test_a_guild_feed_carrying_another_guilds_story_later_brings_it_as_new(engine, taxonomy, now):
    delivered = now
    story = [StoryDraft(title="Local plant to close", source="Local", url="https://local.example/plant")]
    add(engine, taxonomy, delivered - timedelta(minutes=30), story, guild_id=111)
    add(engine, taxonomy, delivered + timedelta(minutes=30), story, guild_id=222)
    assert titles(engine, taxonomy, delivered + timedelta(hours=2), delivered, [222]) == [story[0].title]
    assert titles(engine, taxonomy, delivered + timedelta(hours=2), delivered, [111]) == []


# M4: a daily per-guild story quota -----------------------------------------------------------


def _drafts(prefix, count):
    return [StoryDraft(title=f"{prefix} story {n}", source="Flood", url=f"https://flood.example/{prefix}/{n}")
            for n in range(count)]


def _stored(engine) -> int:
    with session_scope(engine) as session:
        return session.execute(sa.select(sa.func.count()).select_from(Story)).scalar_one()


def test_a_guilds_feeds_store_at_most_the_daily_quota_and_the_rest_is_refused(engine, taxonomy, now):
    first = add(engine, taxonomy, now, _drafts("a", 6), guild_id=111, guild_daily_quota=10)
    second = add(engine, taxonomy, now + timedelta(hours=1), _drafts("a", 3) + _drafts("b", 6), guild_id=111,
                 guild_daily_quota=10)
    assert (first.new, first.refused) == (6, 0)
    assert (second.new, second.duplicates, second.refused) == (4, 3, 2)  # known stories cost nothing
    assert _stored(engine) == 10
    other_guild = add(engine, taxonomy, now, _drafts("c", 5), guild_id=222, guild_daily_quota=10)
    public = add(engine, taxonomy, now, _drafts("d", 20), guild_daily_quota=10)
    next_day = add(engine, taxonomy, now + timedelta(days=1), _drafts("e", 12), guild_id=111, guild_daily_quota=10)
    assert (other_guild.new, public.new, next_day.new, next_day.refused) == (5, 20, 10, 2)


def test_the_default_quota_holds_a_flood_of_one_poll(engine, taxonomy, now):
    flood = add(engine, taxonomy, now, _drafts("f", 2_100), guild_id=111)
    assert (flood.new, flood.refused) == (2_000, 100)
    assert _stored(engine) == 2_000


def test_the_quota_is_a_setting_with_a_default_and_a_clear_error():
    assert Settings.from_mapping({}).guild_daily_story_quota == GUILD_DAILY_STORY_QUOTA == 2_000
    assert Settings.from_mapping({"GUILD_DAILY_STORY_QUOTA": "50"}).guild_daily_story_quota == 50
    with pytest.raises(ConfigError, match="GUILD_DAILY_STORY_QUOTA must be a whole number"):
        Settings.from_mapping({"GUILD_DAILY_STORY_QUOTA": "lots"})
