"""Briefings limited to chosen feeds: a briefing with feeds takes only the stories those feeds carry.

Topics still apply on top (a briefing with feeds and topics takes those feeds' stories on those
topics; with feeds alone, all of them), and so do its saved searches (they search those feeds'
stories). A guild's briefing may choose the guild's own feeds and the deployment-wide ones, at most
MAX_BRIEFING_FEEDS. A feed carries a story when a poll of it read the story (`StoryFeed`). Removing
a feed removes it from every briefing; a briefing left without feeds takes every story again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from digests.errors import Refusal
from digests.models import ChannelBriefing, Feed, TargetFeed

MAX_BRIEFING_FEEDS = 25


@dataclass(frozen=True)
class FeedName:
    """What a refusal shows of a feed: plain values, still there once the refused command's session rolled back."""

    id: int
    url: str
    title: str | None
    guild_id: int | None

    @classmethod
    def of(cls, feed: Feed) -> FeedName:
        return cls(id=feed.id, url=feed.url, title=feed.title, guild_id=feed.guild_id)


def routable_feeds(*, session: Session, guild_id: int) -> list[Feed]:
    """The feeds a briefing of the guild may be limited to: the guild's own first, then the deployment-wide ones."""
    own_first = col(Feed.guild_id).is_(None)
    return list(session.exec(select(Feed).where(sa.or_(col(Feed.guild_id) == guild_id, own_first))
                             .order_by(own_first, col(Feed.id))))


def feeds_of_target(*, session: Session, target_id: int) -> list[Feed]:
    """The feeds the target is limited to (none: every feed), by id."""
    return list(session.exec(select(Feed).join(TargetFeed, col(TargetFeed.feed_id) == col(Feed.id))
                             .where(col(TargetFeed.target_id) == target_id).order_by(col(Feed.id))))


def _named(feeds: Iterable[Feed], name: str) -> Feed | None:
    """The feed `name` names: its id (as autocomplete gives it, with or without “#”) or its URL."""
    name = (name or "").strip()
    return next((feed for feed in feeds if name in {str(feed.id), f"#{feed.id}", feed.url}), None)


def limit_to_feed(*, session: Session, briefing: ChannelBriefing, feed: str | Feed) -> Feed:
    """Add a feed (one of `routable_feeds`, or its id or URL) to the briefing's feeds.

    Refusal for a feed the briefing's guild may not choose, one it has already, or one too many.
    """
    chosen = feed if isinstance(feed, Feed) else _named(routable_feeds(session=session, guild_id=briefing.guild_id),
                                                         feed)
    if chosen is None or chosen.guild_id not in (None, briefing.guild_id):
        raise Refusal("briefing_feed_unknown", feed=str(feed)[:100])
    current = feeds_of_target(session=session, target_id=briefing.id)
    if any(known.id == chosen.id for known in current):
        raise Refusal("briefing_feed_exists", feed=FeedName.of(chosen), channel_id=briefing.channel_id)
    check_room_for_a_feed(session=session, briefing=briefing)
    try:
        with session.begin_nested():
            session.add(TargetFeed(target_id=briefing.id, feed_id=chosen.id))
    except sa.exc.IntegrityError:  # added by a command running at the same moment
        raise Refusal("briefing_feed_exists", feed=FeedName.of(chosen), channel_id=briefing.channel_id) from None
    return chosen


def check_room_for_a_feed(*, session: Session, briefing: ChannelBriefing) -> list[Feed]:
    """The briefing's feeds; Refusal when it has the most it may have. `/feeds add briefing:` asks before it
    registers the feed, so a refusal leaves nothing behind."""
    current = feeds_of_target(session=session, target_id=briefing.id)
    if len(current) >= MAX_BRIEFING_FEEDS:
        raise Refusal("briefing_feed_limit", limit=MAX_BRIEFING_FEEDS, channel_id=briefing.channel_id)
    return current


def unlimit_feed(*, session: Session, briefing: ChannelBriefing, feed: str) -> tuple[Feed, list[Feed]]:
    """Take a feed (by id or URL) out of the briefing's feeds; returns it and the feeds left.

    Refusal when the briefing is not limited to that feed.
    """
    current = feeds_of_target(session=session, target_id=briefing.id)
    chosen = _named(current, feed)
    if chosen is None:
        raise Refusal("briefing_feed_not_chosen", feed=(feed or "").strip()[:100], channel_id=briefing.channel_id,
                      feeds=[FeedName.of(known) for known in current])
    session.execute(sa.delete(TargetFeed).where(col(TargetFeed.target_id) == briefing.id,
                                                col(TargetFeed.feed_id) == chosen.id)
                    .execution_options(synchronize_session=False))
    return chosen, [known for known in current if known.id != chosen.id]


def briefings_limited_to(*, session: Session, feed_id: int) -> list[tuple[ChannelBriefing, int]]:
    """The briefings limited to this feed, each with how many other feeds it has (for the notice of a removal)."""
    limited = col(TargetFeed.target_id) == col(ChannelBriefing.id)
    briefings = session.exec(select(ChannelBriefing).join(TargetFeed, limited)
                             .where(col(TargetFeed.feed_id) == feed_id).order_by(col(ChannelBriefing.id))).all()
    counts = dict(session.execute(sa.select(TargetFeed.target_id, sa.func.count()).where(
        col(TargetFeed.target_id).in_([briefing.id for briefing in briefings])).group_by(col(TargetFeed.target_id))
    ).all())
    return [(briefing, counts.get(briefing.id, 1) - 1) for briefing in briefings]


def feeds_by_target(*, session: Session, target_ids: Iterable[int] | sa.Select) -> dict[int, frozenset[int]]:
    """The feeds each of these targets (a list, or a SELECT of their ids) is limited to; those without are left out."""
    ids = target_ids if isinstance(target_ids, sa.Select) else list(target_ids)
    found: dict[int, set[int]] = {}
    for target_id, feed_id in session.execute(sa.select(TargetFeed.target_id, TargetFeed.feed_id)
                                              .where(col(TargetFeed.target_id).in_(ids))):
        found.setdefault(target_id, set()).add(feed_id)
    return {target_id: frozenset(feeds) for target_id, feeds in found.items()}
