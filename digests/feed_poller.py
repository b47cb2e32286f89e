"""Polling registered feeds: conditional GET, per-feed backoff, disabling feeds that keep failing.

Each feed has its own interval (15 min by default, jittered so feeds do not poll in step). A
failure doubles the wait (capped at 6 h); `FAILURE_LIMIT` failures in a row disable the feed, with
its last error kept for `/feeds list`, and the guild is told once in its briefing channel. One
shared HTTP client with connection limits serves every poll, at most `PER_HOST` at once per host.

Guild feeds (unless ALLOW_PRIVATE_FEEDS) are fetched through a second client that connects only to
checked public addresses (`digests.ingest.guard`), every redirect hop included.

One feed never holds up the others: every fetch has a deadline, each poll runs as its own task,
and the bot's tick does not wait for a slow one (its report comes with a later tick). Whatever goes
wrong with one feed, even an exception nobody foresaw, is recorded as that feed's failure, so
backoff and disabling work for it.
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
from typing import cast
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlmodel import col, select

from digests.delivery import Destination, Publisher
from digests.errors import BriefbotError, InputError
from digests.feed_registry import check_feed_url
from digests.ingest.draft import StoryDraft
from digests.ingest.feeds import parse_feed
from digests.ingest.fetch import FETCH_DEADLINE, MAX_BODY_BYTES, feed_client, fetch_feed
from digests.ingest.guard import GuardedNetwork
from digests.models import ChannelBriefing, Feed
from digests.rendering import Renderer
from digests.store import (
    GUILD_DAILY_STORY_QUOTA,
    add_stories,
    insert_ignoring_conflicts,
    record_ingest_run,
    session_scope,
)
from digests.telemetry import NO_TELEMETRY, FeedPollOutcome, Telemetry
from digests.topics import Taxonomy

log = logging.getLogger(__name__)

FAILURE_LIMIT = 10
MAX_BACKOFF = timedelta(hours=6)
JITTER = 0.1
PARALLEL = 8
PER_HOST = 2
# How long a claimed poll may take before another process may poll the feed again: well over FETCH_DEADLINE.
POLL_CLAIM = timedelta(minutes=5)
# Stories kept from one poll, the newest first: real feeds carry a few dozen; a 5 MB document can
# carry 150,000, which would grow the database without limit.
MAX_ITEMS_PER_POLL = 200
# How long the bot's tick waits for the polls it started before it returns (they go on running).
TICK_WAIT_SECONDS = 10.0
UNEXPECTED = "the feed could not be read (an unexpected error; the bot's log has the details)"


@dataclass(frozen=True)
class PollReport:
    """What one poll of one feed did."""

    feed_id: int
    url: str
    outcome: str  # "new", "not modified", "failed" or "disabled"
    new: int = 0
    duplicates: int = 0
    error: str | None = None


def newest(drafts: list[StoryDraft], count: int) -> list[StoryDraft]:
    """The `count` newest drafts; undated ones after the dated, in the feed's order (feeds list the newest first)."""
    def age(draft: StoryDraft) -> tuple[bool, float]:
        return draft.published_at is not None, draft.published_at.timestamp() if draft.published_at else 0.0

    return sorted(drafts, key=age, reverse=True)[:count]  # a stable sort: ties keep the feed's order


def _host_of(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:  # a URL stored before httpx's rules were checked; its fetch fails with a clear error
        return ""


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
                 guarded_client: httpx.AsyncClient | None = None, max_bytes: int = MAX_BODY_BYTES,
                 deadline: float = FETCH_DEADLINE, rng: random.Random | None = None,
                 guild_daily_quota: int = GUILD_DAILY_STORY_QUOTA, telemetry: Telemetry = NO_TELEMETRY) -> None:
        """`client` fetches deployment-wide feeds (and all feeds with `allow_private`);
        `guarded_client` fetches guild feeds and must connect through `GuardedNetwork`."""
        self.engine = engine
        self.telemetry = telemetry
        self.guild_daily_quota = guild_daily_quota
        self.taxonomy = taxonomy
        self.clock = clock
        self.allow_private = allow_private
        self.max_bytes = max_bytes
        self.deadline = deadline
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        limits = httpx.Limits(max_connections=PARALLEL * 2, max_keepalive_connections=PARALLEL)
        self.client = client or feed_client(limits=limits)
        self.guarded_client = guarded_client or feed_client(network=GuardedNetwork(), limits=limits)
        self._parallel = asyncio.Semaphore(PARALLEL)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(PER_HOST))
        self._running: set[asyncio.Task[PollReport]] = set()
        self._ended: list[PollReport] = []

    async def aclose(self) -> None:
        """Stop the polls still running (their feeds are polled again once their claim runs out); close the clients."""
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        await self.client.aclose()
        await self.guarded_client.aclose()

    async def poll_due(self, *, wait: float | None = None) -> list[PollReport]:
        """Start polling every due feed; return the reports of the polls that ended since the last call.

        With `wait=None` this waits for every poll it started (the CLI, tests). The bot's tick
        passes a short `wait`: a slow feed then never holds up the tick, the next tick starts the
        feeds due by then, and the slow poll's report comes with a later call.
        """
        started = [self._start(feed) for feed in await asyncio.to_thread(self._claim_due)]
        if started:
            await asyncio.wait(started, timeout=wait)
        ended, self._ended = self._ended, []
        return ended

    def _claim_due(self) -> list[Feed]:
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

    def _start(self, feed: Feed) -> asyncio.Task[PollReport]:
        task = asyncio.create_task(self._poll_one(feed), name=f"poll-feed-{feed.id}")
        self._running.add(task)
        task.add_done_callback(self._on_end)
        return task

    def _on_end(self, task: asyncio.Task[PollReport]) -> None:
        self._running.discard(task)
        if task.cancelled():
            return
        if task.exception() is not None:  # recording the failure failed, e.g. the database is down
            log.error("polling a feed failed", exc_info=task.exception())
            return
        self._ended.append(task.result())

    async def poll(self, feeds: list[Feed]) -> list[PollReport]:
        """Poll these feeds now, a few at a time."""
        return list(await asyncio.gather(*(self._poll_one(feed) for feed in feeds)))

    async def _poll_one(self, feed: Feed) -> PollReport:
        report = await self._fetch_and_store(feed)
        self.telemetry.feed_polled(cast(FeedPollOutcome, report.outcome.replace(" ", "_")), report.new)
        return report

    async def _fetch_and_store(self, feed: Feed) -> PollReport:
        guarded = feed.guild_id is not None and not self.allow_private
        async with self._parallel, self._hosts[_host_of(feed.url)]:
            try:
                fetched = await fetch_feed(self.guarded_client if guarded else self.client, feed.url, etag=feed.etag,
                                           last_modified=feed.last_modified, max_bytes=self.max_bytes,
                                           deadline=self.deadline, guarded=guarded)
                if fetched.body is None:
                    await asyncio.to_thread(self._succeeded, feed.id, None, None)
                    return PollReport(feed.id or 0, feed.url, "not modified")
                new, duplicates = await asyncio.to_thread(self._store, feed, fetched.body)
                await asyncio.to_thread(self._succeeded, feed.id, fetched.etag, fetched.last_modified)
                return PollReport(feed.id or 0, feed.url, "new", new, duplicates)
            except BriefbotError as error:
                return await self._report_failure(feed, str(error))
            except Exception:  # a bug or a hostile input nobody foresaw: still this feed's failure only
                log.exception("feed %s: unexpected error while polling", feed.id)
                return await self._report_failure(feed, UNEXPECTED)

    async def _report_failure(self, feed: Feed, error: str) -> PollReport:
        disabled = await asyncio.to_thread(self._failed, feed.id, error)
        log.info("feed %s failed: %s%s", feed.id, error, " (now disabled)" if disabled else "")
        return PollReport(feed.id or 0, feed.url, "disabled" if disabled else "failed", error=error)

    def _store(self, feed: Feed, body: bytes) -> tuple[int, int]:
        drafts, problems = parse_feed(body, location=feed.url)
        if len(drafts) > MAX_ITEMS_PER_POLL:
            problems = [f"kept the newest {MAX_ITEMS_PER_POLL} of {len(drafts)} entries", *problems]
            drafts = newest(drafts, MAX_ITEMS_PER_POLL)
        if feed.topic_slug:
            drafts = [replace(draft, topics=(*draft.topics, feed.topic_slug)) for draft in drafts]
        now = self.clock()
        with session_scope(self.engine) as session:
            added = add_stories(session=session, drafts=drafts, taxonomy=self.taxonomy, now=now,
                                guild_id=feed.guild_id, guild_daily_quota=self.guild_daily_quota, feed_id=feed.id)
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

