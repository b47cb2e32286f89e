"""Forgetting a guild's data when a member or the bot leaves it (review L7), on both stores."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from digests.feed_registry import add_feed, feeds_of
from digests.guilds import forget_guild, forget_member
from digests.ingest.draft import StoryDraft
from digests.models import ChannelBriefing, Story
from digests.selection import select_digest
from digests.store import add_stories, member_guilds, remember_member, session_scope
from digests.targets import briefings_of, setup_briefing

PRIVATE = StoryDraft(title="Guild A's private council leak", source="A", url="https://a.example/leak")
SHARED = StoryDraft(title="Story both guilds carry", source="A", url="https://a.example/shared")
PUBLIC = StoryDraft(title="Public wire story", source="Wire", url="https://wire.example/1")
WEBHOOK = "https://discord.com/api/webhooks/123456789012345678/" + "t" * 68


def _dm_titles(engine, taxonomy, now, user_id):
    with session_scope(engine) as session:
        digest = select_digest(session=session, taxonomy=taxonomy, topics=None, since=None, now=now,
                               guild_ids=member_guilds(session=session, user_id=user_id))
    items = ([digest.top] if digest.top else []) + [item for section in digest.sections for item in section.items]
    return sorted(item.title for item in items)


def test_a_member_who_left_no_longer_gets_the_guilds_private_stories_by_dm(engine, taxonomy, now):
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=now - timedelta(hours=1), guild_id=111, drafts=[PRIVATE])
        add_stories(session=session, taxonomy=taxonomy, now=now - timedelta(hours=1), drafts=[PUBLIC])
        for guild_id in (111, 222):
            remember_member(session=session, user_id=5, guild_id=guild_id)
    assert _dm_titles(engine, taxonomy, now, 5) == sorted([PRIVATE.title, PUBLIC.title])
    with session_scope(engine) as session:
        assert forget_member(session=session, user_id=5, guild_id=111)
        assert not forget_member(session=session, user_id=5, guild_id=333)
    with session_scope(engine) as session:
        assert member_guilds(session=session, user_id=5) == [222]
    assert _dm_titles(engine, taxonomy, now, 5) == [PUBLIC.title]


def test_a_guild_that_removed_the_bot_loses_its_feeds_briefings_members_and_own_stories(engine, taxonomy, now):
    with session_scope(engine) as session:
        for guild_id in (111, 222):
            add_feed(session=session, taxonomy=taxonomy, url="http://127.0.0.1/feed", guild_id=guild_id, topic=None,
                     added_by=1, allow_private=True, now=now)
            setup_briefing(session=session, taxonomy=taxonomy, guild_id=guild_id, channel_id=guild_id * 10,
                           time_of_day="08:00", timezone="UTC", topics=None, days=None, mention_role_id=None,
                           quiet_day_notice=None, now=now, webhook_url=WEBHOOK if guild_id == 111 else None)
            remember_member(session=session, user_id=5, guild_id=guild_id)
        add_stories(session=session, taxonomy=taxonomy, now=now, guild_id=111, drafts=[PRIVATE, SHARED, PUBLIC])
        add_stories(session=session, taxonomy=taxonomy, now=now, guild_id=222, drafts=[SHARED])
        add_stories(session=session, taxonomy=taxonomy, now=now, drafts=[PUBLIC])
    with session_scope(engine) as session:
        forgotten = forget_guild(session=session, guild_id=111)
    assert (forgotten.feeds, len(forgotten.briefing_ids), forgotten.members, forgotten.stories) == (1, 1, 1, 1)
    with session_scope(engine) as session:
        assert feeds_of(session=session, guild_id=111) == [] and briefings_of(session=session, guild_id=111) == []
        assert [feed.guild_id for feed in feeds_of(session=session, guild_id=222)] == [222]
        assert [b.guild_id for b in session.exec(select(ChannelBriefing))] == [222]
        assert member_guilds(session=session, user_id=5) == [222]
        assert sorted(session.exec(select(Story.title))) == sorted([SHARED.title, PUBLIC.title])
        webhook_urls = session.execute(sa.select(ChannelBriefing.webhook_url)).scalars().all()
    assert webhook_urls == [None]
