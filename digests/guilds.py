"""Forgetting a guild's data when the bot or a member leaves it (review L7).

A user who left a guild must stop getting its private stories in their DM digest, and a guild
that removed the bot must stop having its feeds polled and its briefings posted; its webhook URLs
(secrets) and the stories only its feeds carried go too. The bot calls these from its gateway
events (see `bot.client`).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col

from digests.models import ChannelBriefing, Feed, GuildDailyStories, MemberGuild, Story, StoryGuild, Target


@dataclass(frozen=True)
class ForgottenGuild:
    """What `forget_guild` removed; `briefing_ids` lets the caller drop their scheduled jobs."""

    feeds: int
    briefing_ids: tuple[int, ...]
    members: int
    stories: int


def forget_member(*, session: Session, user_id: int, guild_id: int) -> bool:
    """The user left the guild: their digest no longer includes its stories. True if they were known there."""
    return session.execute(sa.delete(MemberGuild).where(
        col(MemberGuild.user_id) == user_id, col(MemberGuild.guild_id) == guild_id,
    ).execution_options(synchronize_session=False)).rowcount > 0


def forget_guild(*, session: Session, guild_id: int) -> ForgottenGuild:
    """The bot left the guild: delete its feeds, briefings, members, quota count and its own stories.

    A story another guild's feed also carries, or that is public, stays for them; only this
    guild's claim on it goes. Past deliveries stay, as history.
    """
    briefing_ids = tuple(session.execute(
        sa.select(ChannelBriefing.id).where(col(ChannelBriefing.guild_id) == guild_id)).scalars())
    others = sa.select(StoryGuild.story_id).where(col(StoryGuild.story_id) == col(Story.id),
                                                  col(StoryGuild.guild_id) != guild_id)
    own = sa.select(StoryGuild.story_id).where(col(StoryGuild.guild_id) == guild_id)
    stories = _delete(session, sa.delete(Story).where(col(Story.id).in_(own), sa.not_(col(Story.public)),
                                                      ~others.exists()))
    _delete(session, sa.delete(StoryGuild).where(col(StoryGuild.guild_id) == guild_id))
    feeds = _delete(session, sa.delete(Feed).where(col(Feed.guild_id) == guild_id))
    # Deleting the targets deletes their briefing rows and archives (ON DELETE CASCADE).
    _delete(session, sa.delete(Target).where(col(Target.id).in_(briefing_ids)))
    members = _delete(session, sa.delete(MemberGuild).where(col(MemberGuild.guild_id) == guild_id))
    _delete(session, sa.delete(GuildDailyStories).where(col(GuildDailyStories.guild_id) == guild_id))
    return ForgottenGuild(feeds=feeds, briefing_ids=briefing_ids, members=members, stories=stories)


def _delete(session: Session, statement: sa.Delete) -> int:
    return session.execute(statement.execution_options(synchronize_session=False)).rowcount
