"""Polling registered feeds: conditional GET, per-feed backoff, disabling feeds that keep failing.

Each feed has its own interval (15 min by default, jittered so feeds do not poll in step). A
failure doubles the wait (capped at 6 h); `FAILURE_LIMIT` failures in a row disable the feed, with
its last error kept for `/feeds list`, and the guild is told once in its briefing channel. One
shared HTTP client with connection limits serves every poll, at most `PER_HOST` at once per host.
Guild feeds are re-checked against private addresses before every fetch (DNS can change).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlmodel import col, select

from digests.delivery import Destination, Publisher
from digests.errors import BriefbotError, InputError
from digests.feed_registry import check_feed_url
from digests.ingest.feeds import parse_feed
from digests.ingest.fetch import CLIENT_OPTIONS, MAX_BODY_BYTES, fetch_feed
from digests.models import ChannelBriefing, Feed
from digests.rendering import Renderer
from digests.store import (
    GUILD_DAILY_STORY_QUOTA,
    add_stories,
    insert_ignoring_conflicts,
    record_ingest_run,
    session_scope,
)
from digests.topics import Taxonomy

log = logging.getLogger(__name__)

FAILURE_LIMIT = 10
MAX_BACKOFF = timedelta(hours=6)
JITTER = 0.1
PARALLEL = 8
PER_HOST = 2
# How long a claimed poll may take before another process may poll the feed again.
POLL_CLAIM = timedelta(minutes=5)


@dataclass(frozen=True)
class PollReport:
    """What one poll of one feed did."""

    feed_id: int
    url: str
    outcome: str  # "new", "not modified", "failed" or "disabled"
    new: int = 0
    duplicates: int = 0
    error: str | None = None


def read_feeds_file(path: Path) -> list[str]:
    """The URLs of a FEEDS_FILE: one a line; blank lines and `#` comments ignored.

    Every URL is checked as `/feeds add` checks one (private hosts allowed: the operator chose
    them), so a typo stops start-up with its line number rather than failing at every poll.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read FEEDS_FILE {path}: {exc}") from None
    urls = []
    for number, line in enumerate(lines, start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            try:
                urls.append(check_feed_url(line, allow_private=True))
            except InputError as exc:
                raise InputError(f"FEEDS_FILE {path}, line {number}: {exc}") from None
    return urls


def sync_deployment_feeds(*, engine: sa.Engine, urls: list[str], now: datetime) -> int:
    """Register the deployment-wide feeds that are not registered yet; returns how many were added."""
    rows = [Feed(url=url, created_at=now).model_dump(exclude={"id"}) for url in dict.fromkeys(urls)]
    if not rows:
        return 0
    with session_scope(engine) as session:  # another process starting with the same file may add them too
        table = Feed.__table__
        return len(session.execute(insert_ignoring_conflicts(session, table).returning(table.c.id), rows).all())


class FeedPoller:
    """Polls due feeds and stores their stories; shares one HTTP client between polls."""

    def __init__(self, *, engine: sa.Engine, taxonomy: Taxonomy, clock: Callable[[], datetime],
                 allow_private: bool, client: httpx.AsyncClient | None = None,
                 max_bytes: int = MAX_BODY_BYTES, rng: random.Random | None = None,
                 guild_daily_quota: int = GUILD_DAILY_STORY_QUOTA) -> None:
        self.engine = engine
        self.guild_daily_quota = guild_daily_quota
        self.taxonomy = taxonomy
        self.clock = clock
        self.allow_private = allow_private
        self.max_bytes = max_bytes
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.client = client or httpx.AsyncClient(
            limits=httpx.Limits(max_connections=PARALLEL * 2, max_keepalive_connections=PARALLEL), **CLIENT_OPTIONS
        )
        self._parallel = asyncio.Semaphore(PARALLEL)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(PER_HOST))

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()

    async def poll_due(self) -> list[PollReport]:
        """Poll every enabled feed whose time has come."""
        def due() -> list[Feed]:
            now = self.clock()
            is_due = sa.and_(col(Feed.enabled).is_(True),
                             sa.or_(col(Feed.next_poll_at).is_(None), col(Feed.next_poll_at) <= now))
            claimed = []
            with session_scope(self.engine) as session:
                for feed in session.exec(select(Feed).where(is_due).order_by(col(Feed.id))).all():
                    # Claim the poll by moving its time on: another process sharing the database
                    # finds it not due any more. The poll's outcome then sets the real next time.
                    taken = session.execute(
                        sa.update(Feed).where(col(Feed.id) == feed.id, is_due)
                        .values(next_poll_at=now + POLL_CLAIM).execution_options(synchronize_session=False)
                    ).rowcount
                    if taken == 1:
                        claimed.append(feed)
            return claimed

        return await self.poll(await asyncio.to_thread(due))

    async def poll(self, feeds: list[Feed]) -> list[PollReport]:
        """Poll these feeds now, a few at a time."""
        return list(await asyncio.gather(*(self._poll_one(feed) for feed in feeds)))

    async def _poll_one(self, feed: Feed) -> PollReport:
        host = urlsplit(feed.url).hostname or ""
        async with self._parallel, self._hosts[host]:
            try:
                if feed.guild_id is not None and not self.allow_private:
                    await asyncio.to_thread(check_feed_url, feed.url, allow_private=False)
                fetched = await fetch_feed(self.client, feed.url, etag=feed.etag, last_modified=feed.last_modified,
                                           max_bytes=self.max_bytes)
                if fetched.body is None:
                    await asyncio.to_thread(self._succeeded, feed.id, None, None)
                    return PollReport(feed.id or 0, feed.url, "not modified")
                new, duplicates = await asyncio.to_thread(self._store, feed, fetched.body)
                await asyncio.to_thread(self._succeeded, feed.id, fetched.etag, fetched.last_modified)
                return PollReport(feed.id or 0, feed.url, "new", new, duplicates)
            except BriefbotError as error:
                disabled = await asyncio.to_thread(self._failed, feed.id, str(error))
                log.info("feed %s failed: %s%s", feed.id, error, " (now disabled)" if disabled else "")
                return PollReport(feed.id or 0, feed.url, "disabled" if disabled else "failed", error=str(error))

    def _store(self, feed: Feed, body: bytes) -> tuple[int, int]:
        drafts, problems = parse_feed(body, location=feed.url)
        if feed.topic_slug:
            drafts = [replace(draft, topics=(*draft.topics, feed.topic_slug)) for draft in drafts]
        now = self.clock()
        with session_scope(self.engine) as session:
            added = add_stories(session=session, drafts=drafts, taxonomy=self.taxonomy, now=now,
                                guild_id=feed.guild_id, guild_daily_quota=self.guild_daily_quota)
            record_ingest_run(session=session, source=feed.url, started_at=now, result=added,
                              error="; ".join(problems[:3]) or None)
        return added.new, added.duplicates

    def _next_poll(self, wait: timedelta) -> datetime:
        return self.clock() + wait * (1 + self.rng.uniform(0, JITTER))

    def _succeeded(self, feed_id: int | None, etag: str | None, last_modified: str | None) -> None:
        with session_scope(self.engine) as session:
            feed = session.get(Feed, feed_id)
            if feed is None:
                return
            feed.failures, feed.last_success_at = 0, self.clock()
            if etag or last_modified:
                feed.etag, feed.last_modified = (etag or "")[:300] or None, (last_modified or "")[:100] or None
            feed.next_poll_at = self._next_poll(timedelta(minutes=feed.poll_interval_minutes))

    def _failed(self, feed_id: int | None, error: str) -> bool:
        """Record a failure and back off; returns True when the feed is now disabled."""
        with session_scope(self.engine) as session:
            feed = session.get(Feed, feed_id)
            if feed is None:
                return False
            feed.failures += 1
            feed.last_error, feed.last_error_at = error[:1000], self.clock()
            backoff = min(timedelta(minutes=feed.poll_interval_minutes) * 2 ** feed.failures, MAX_BACKOFF)
            feed.next_poll_at = self._next_poll(backoff)
            if feed.failures >= FAILURE_LIMIT:
                feed.enabled, feed.disabled_announced = False, False
                return True
            return False


async def announce_disabled_feeds(*, engine: sa.Engine, publisher: Publisher, renderer: Renderer) -> int:
    """Tell each guild, once, in its first briefing channel, that one of its feeds was disabled.

    Each announcement is claimed in the database before it is sent, so processes sharing the
    database never both send it (one lost to an error is not retried: it is a courtesy).
    """
    def pending() -> list[tuple[Feed, int | None]]:
        with session_scope(engine) as session:
            feeds = session.exec(select(Feed).where(
                col(Feed.enabled).is_(False), col(Feed.disabled_announced).is_(False), col(Feed.guild_id).is_not(None),
            )).all()
            return [(feed, session.exec(select(ChannelBriefing.channel_id).where(
                col(ChannelBriefing.guild_id) == feed.guild_id).order_by(col(ChannelBriefing.id))).first())
                for feed in feeds]

    def claim(feed_id: int | None) -> bool:
        with session_scope(engine) as session:
            return session.execute(
                sa.update(Feed).where(col(Feed.id) == feed_id, col(Feed.disabled_announced).is_(False))
                .values(disabled_announced=True).execution_options(synchronize_session=False)
            ).rowcount == 1

    told = 0
    for feed, channel_id in await asyncio.to_thread(pending):
        if not await asyncio.to_thread(claim, feed.id) or channel_id is None:
            continue
        try:
            for index, part in enumerate(renderer.reply("feed_disabled", feed=feed, limit=FAILURE_LIMIT)):
                await publisher.send(Destination("channel", channel_id), part, nonce=f"fd{feed.id}p{index}",
                                     mention_role_id=None)
            told += 1
        except BriefbotError as error:
            log.warning("could not announce disabled feed %s: %s", feed.id, error)
    return told

