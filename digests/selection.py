"""Choosing stories: what a digest holds, what `/stories` answers, how many stories a topic has.

Nothing here reads the clock: every function takes `now`, so digests are testable on any day.

A digest covers what reached its target since its last delivery, bounded by the schedule's period
(see `Coverage` and `digests.scheduling.period_at`): a daily digest a day, a Monday-only briefing the
week, a first digest the 24 h before its slot, a target back from a long pause one period (and it
says so). It is chosen from a pool: the stories of its window (that reached the target in the
coverage, see `arrived`, and dated at most `LATE_ARRIVAL` before the period), clustered into events
(see `digests.clustering`) and ranked by `StoryItem.score` over the window. A target takes the best
events on its topics (an event is on a topic when any outlet's story of it is) that pass its filters
(`digests.filters`), within `DigestLimits`.
The pool depends only on the window and on which guild-only stories the target may see, so the
thousands of targets of one slot share a few pools (`StoryPools`) and each distinct topic set is
chosen once (with each distinct set of filters: each rule runs once over the pool). A target limited
to some feeds gets a pool of those feeds' stories alone. Each of its saved searches adds a section of
the pool's events matching its words (`StoryPool.with_searches`), one full-text query per pool and
distinct search; the target's filters apply to those sections too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import reduce
from heapq import merge
from itertools import islice
from operator import or_

import sqlalchemy as sa
from sqlmodel import Session, col

from digests.bitsets import as_bits, set_bits
from digests.clustering import cluster
from digests.collector import collector_paused
from digests.errors import InputError
from digests.filters import NO_FILTERS, FilterSet, PoolMatches
from digests.models import Story, StoryFeed, StoryGuild, StoryTopic
from digests.store import TextSearch, text_search, visible_to
from digests.story_items import StoryItem, items_by_id, load_items, window
from digests.story_search import StorySearch, matching_in_range, newest_listing, newest_story_ids
from digests.topics import Taxonomy, Topic

DIGEST_MAX_ITEMS = 15
FIRST_DIGEST_WINDOW = timedelta(hours=24)
DAILY = timedelta(hours=24)
# A feed may carry a story this long after the story's own date: it still counts as news of the period.
LATE_ARRIVAL = timedelta(hours=12)
# A period longer than this (a weekday briefing's Monday, a weekly one) gets the multi-day limits.
MULTI_DAY = timedelta(hours=36)
MULTI_DAY_MAX_ITEMS = 25
MULTI_DAY_HIGHLIGHTS = 4
MULTI_DAY_PER_TOPIC = 4
# A guard for a flood: a pool keeps the newest stories of its window up to this many per whole day of it.
POOL_MAX_STORIES = 25_000
# The most stories a saved search's section shows (the rest are counted).
SEARCH_SECTION_MAX = 5


@dataclass(frozen=True)
class Coverage:
    """What a digest at `end` covers: the stories that reached its target after `start` and by `end`.

    `start` is the last delivery, or the start of the schedule's period if that is later (a target
    back from a pause gets one period, and `cut_from` is then its last delivery, for the digest to
    say what it left out); a first digest starts `FIRST_DIGEST_WINDOW` (or its period, if shorter)
    before `end`, as if the target had been delivered then, so it shares that digest's pool. Stories
    dated before `oldest` are left out, however late they arrived.
    """

    start: datetime
    end: datetime
    oldest: datetime
    period: timedelta = DAILY
    first: bool = False
    cut_from: datetime | None = None

    @property
    def span(self) -> timedelta:
        """How long a time the digest covers."""
        return self.end - self.start

    @property
    def window(self) -> tuple[datetime, datetime, datetime]:
        """What its pool depends on: targets of one slot with equal windows share a pool."""
        return self.end, self.start, self.oldest


def coverage(*, since: datetime | None, now: datetime, period: timedelta = DAILY,
             first_window: timedelta = FIRST_DIGEST_WINDOW) -> Coverage:
    """The coverage of a digest at `now` for a target last delivered at `since` (never: None).

    `period` is the schedule's period at `now` (see `digests.scheduling.period_at`).
    """
    if since is None:
        start = now - min(first_window, period)
        return Coverage(start=start, end=now, oldest=start - LATE_ARRIVAL, period=period, first=True)
    period_start = now - period
    oldest = period_start - LATE_ARRIVAL
    if since >= period_start:  # the previous slot, or a `post-now` since
        return Coverage(start=since, end=now, oldest=oldest, period=period)
    return Coverage(start=period_start, end=now, oldest=oldest, period=period, cut_from=since)


@dataclass(frozen=True)
class DigestLimits:
    """How many items a digest shows: in all, as highlights after the top story, and per topic section.

    A day's digest is its best 15 events by topic. A longer period has more news than a reader
    takes in at once, so it shows a little more, opens with the period's best events across topics
    (`highlights`) and caps each topic, so one busy topic cannot fill it.
    """

    items: int
    highlights: int = 0
    per_topic: int | None = None

    @classmethod
    def for_span(cls, span: timedelta) -> DigestLimits:
        """The limits of a digest covering `span`."""
        if span <= MULTI_DAY:
            return cls(items=DIGEST_MAX_ITEMS)
        return cls(items=MULTI_DAY_MAX_ITEMS, highlights=MULTI_DAY_HIGHLIGHTS, per_topic=MULTI_DAY_PER_TOPIC)



@dataclass(frozen=True)
class DigestSection:
    """Headlines under one topic; `topic` is None for stories that have no topic."""

    topic: Topic | None
    items: tuple[StoryItem, ...]


@dataclass(frozen=True)
class SearchSection:
    """A saved search's stories that the digest did not show above it, best first, and how many more matched."""

    query: str
    items: tuple[StoryItem, ...]
    more: int


@dataclass(frozen=True)
class Digest:
    """A top story, the period's other best events (multi-day digests), headlines grouped by topic, how
    many more matched, and a section per saved search that found something new. `start` is when the
    stories it covers began to arrive; `filtered` how many events on its topics the target's filters
    left out."""

    top: StoryItem | None
    sections: tuple[DigestSection, ...]
    more: int
    now: datetime
    start: datetime | None = None
    highlights: tuple[StoryItem, ...] = ()
    searches: tuple[SearchSection, ...] = ()
    filtered: int = 0

    @property
    def span(self) -> timedelta | None:
        """How long a time it covers (None: not known, e.g. a preview over hours)."""
        return None if self.start is None else self.now - self.start

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to post."""
        return self.top is None and not self.searches

    @property
    def size(self) -> int:
        """How many items the digest shows."""
        return (self.top is not None) + len(self.highlights) + sum(len(section.items) for section in self.sections) \
            + sum(len(section.items) for section in self.searches)

    def shown_ids(self) -> set[int]:
        """The stories it shows (an event by the story it shows)."""
        listed = [*self.highlights, *(item for section in (*self.sections, *self.searches) for item in section.items)]
        return {item.id for item in ([self.top] if self.top else []) + listed}


class StoryPool:
    """The ranked events of one window, and the digest of each topic set chosen from them (memoised).

    Freshness counts down over the whole window, so a weekly digest ranks the week's stories.
    """

    def __init__(self, events: list[StoryItem], covered: Coverage) -> None:
        self.now = covered.end
        self.start = covered.start
        self.limits = DigestLimits.for_span(covered.span)
        horizon = covered.end - covered.oldest
        self.ranked = sorted(events, key=lambda item: item.score(self.now, horizon), reverse=True)
        self._ranks_by_topic: dict[str, list[int]] = {}
        for rank, item in enumerate(self.ranked):
            for slug in item.topics:
                self._ranks_by_topic.setdefault(slug, []).append(rank)
        # The same ranks as bits: how many events a topic set has is the bit count of their union.
        self._rank_bits = {slug: as_bits(ranks, len(self.ranked)) for slug, ranks in self._ranks_by_topic.items()}
        self._digests: dict[tuple, Digest] = {}
        self._lock = threading.Lock()
        self.nothing = Digest(top=None, sections=(), more=0, now=self.now, start=self.start)
        self._rank_of: dict[int, int] | None = None  # story id -> its event's rank (copies included)
        self._id_range: tuple[int, int] | None = None  # the lowest and highest of those ids
        self._matches: dict[tuple, tuple[tuple[int, ...], frozenset[int]]] = {}  # a search's terms -> its events' ranks
        self._searched: dict[tuple, tuple[Digest, Digest]] = {}  # (digest id, searches, filters) -> (it, with sections)
        self._filter_matches: PoolMatches | None = None

    @classmethod
    def load(cls, session: Session, *, covered: Coverage, guild_ids: Sequence[int] | None,
             feed_ids: frozenset[int] = frozenset()) -> StoryPool:
        """The pool of the stories `covered` that `guild_ids` sees (and, if any `feed_ids`, that those feeds carry)."""
        statement = window(covered.oldest, covered.end, guild_ids).where(
            arrived(covered.start, covered.end, guild_ids))
        if feed_ids:
            carried = sa.select(StoryFeed.story_id).where(col(StoryFeed.feed_id).in_(sorted(feed_ids)))
            statement = statement.where(col(Story.id).in_(carried))
        # The limit follows the window (part of a pool's key), not the period: a weekly target's first digest
        # shares the 24 h window, and so the pool, of a daily one's.
        days = max(1, (covered.end - covered.oldest) // DAILY)
        # Ties in time go by id, so both stores keep the same stories at the limit and cluster them alike.
        statement = statement.order_by(col(Story.effective_at).desc(), col(Story.id).desc()).limit(
            POOL_MAX_STORIES * days)
        with collector_paused():  # a week's pool is hundreds of thousands of objects: see digests.collector
            return cls(cluster(load_items(session, statement), covered.end, covered.end - covered.oldest), covered)

    def digest(self, taxonomy: Taxonomy, topics: Sequence[str] | None, filters: FilterSet = NO_FILTERS) -> Digest:
        """The digest for these topics (None or empty: all) of the events that pass `filters`."""
        topic_key = tuple(sorted(set(topics or ())))
        key = (topic_key, filters.key)
        with self._lock:
            found = self._digests.get(key)
        if found is None:
            found = self._choose(taxonomy, topic_key, filters)
            with self._lock:
                self._digests[key] = found
        return found

    def with_searches(self, session: Session, digest: Digest, queries: Sequence[str],
                      filters: FilterSet = NO_FILTERS) -> Digest:
        """`digest` (one of this pool's) with a section per saved search, in the order given (memoised).

        A section holds the best events of the pool matching the search's words (any story of the
        event: the one shown or another outlet's copy), at most SEARCH_SECTION_MAX, leaving out those
        the digest shows above it (its topic part, or an earlier search's section); a search that
        finds nothing new has no section. A search is not limited to the target's topics, but only
        events that pass `filters` count.
        """
        key = (id(digest), tuple(queries), filters.key)
        with self._lock:
            kept = self._searched.get(key)
        if kept is not None and kept[0] is digest:
            return kept[1]
        rank_of = self._ranks()
        shown = {rank_of[story_id] for story_id in digest.shown_ids()}
        sections = []
        for query in queries:
            text = text_search(session, query)
            if text is None:
                continue
            # The matches are walked only until the section is full, and the rest counted: a common word
            # matches thousands of a week's events, and a slot has a thousand targets with searches.
            ranks, matching = self._matching(session, text)
            if filters:
                ranks = tuple(self._rule_matches().passing(ranks, filters))
                matching = frozenset(ranks)
            chosen = []
            for rank in ranks:
                if rank not in shown:
                    chosen.append(rank)
                    if len(chosen) == SEARCH_SECTION_MAX:
                        break
            if chosen:
                above = len(shown & matching)  # walks the smaller set
                sections.append(SearchSection(query=query, items=tuple(self.ranked[rank] for rank in chosen),
                                              more=len(ranks) - above - len(chosen)))
                shown.update(chosen)
        found = replace(digest, searches=tuple(sections))
        with self._lock:
            # The entry keeps `digest` alive, so no other digest can be given its id meanwhile.
            return self._searched.setdefault(key, (digest, found))[1]

    def _ranks(self) -> dict[int, int]:
        """Story id -> the rank of its event, every copy of an event included (built on first use, with the ids'
        range: each of a slot's hundreds of distinct searches reads its matches in it)."""
        with self._lock:
            if self._rank_of is None:
                self._rank_of = {story_id: rank for rank, item in enumerate(self.ranked)
                                 for story_id in (item.id, *item.copies)}
                self._id_range = (min(self._rank_of), max(self._rank_of)) if self._rank_of else None
            return self._rank_of

    def _matching(self, session: Session, text: TextSearch) -> tuple[tuple[int, ...], frozenset[int]]:
        """The ranks of the events matching `text`, best first (and as a set): one full-text query per pool
        and search."""
        with self._lock:
            found = self._matches.get(text.terms)
        if found is None:
            rank_of = self._ranks()
            ids = matching_in_range(session, text, *self._id_range) if self._id_range else set()
            matching = frozenset(rank_of[story_id] for story_id in ids if story_id in rank_of)
            found = (tuple(sorted(matching)), matching)
            with self._lock:
                self._matches[text.terms] = found
        return found

    def _choose(self, taxonomy: Taxonomy, topics: tuple[str, ...], filters: FilterSet) -> Digest:
        count, ranks = self._topic_ranks(topics)
        filtered = 0
        if filters:
            # The ranks that pass, walked as bits: include rules may leave a few of a topic's thousands.
            chosen = self._topic_bits(topics) & self._rule_matches().passing_bits(filters)
            kept = chosen.bit_count()
            count, ranks, filtered = kept, set_bits(chosen, len(self.ranked)), count - kept
        if not count:
            return replace(self.nothing, filtered=filtered) if filtered else self.nothing
        limits = self.limits
        best = [self.ranked[rank] for rank in islice(ranks, 1 + limits.highlights)]
        room = limits.items - len(best)
        if limits.per_topic is None:
            headlines = [self.ranked[rank] for rank in islice(ranks, room)]
        else:
            headlines = self._capped(ranks, topics, room, limits.per_topic)
        shown = len(best) + len(headlines)
        return Digest(top=best[0], highlights=tuple(best[1:]), sections=_sections(headlines, taxonomy, topics),
                      more=count - shown, now=self.now, start=self.start, filtered=filtered)

    def _rule_matches(self) -> PoolMatches:
        """What each filter rule matches among the ranked events (made when a target with filters first asks)."""
        with self._lock:
            if self._filter_matches is None:
                self._filter_matches = PoolMatches(self.ranked)
            return self._filter_matches

    def _topic_ranks(self, topics: tuple[str, ...]) -> tuple[int, Iterator[int]]:
        """How many events are on any of `topics` (none: all events), and their ranks, best first.

        The ranks are merged as they are read: a digest reads a few dozen of a week's thousands.
        """
        if not topics:
            return len(self.ranked), iter(range(len(self.ranked)))
        present = [slug for slug in topics if slug in self._ranks_by_topic]
        if len(present) <= 1:
            ranks = self._ranks_by_topic[present[0]] if present else []
            return len(ranks), iter(ranks)
        return self._topic_bits(topics).bit_count(), _distinct(merge(*(self._ranks_by_topic[slug] for slug in present)))

    def _topic_bits(self, topics: tuple[str, ...]) -> int:
        """The ranks of the events on any of `topics` (none: all events), as bits."""
        if not topics:
            return (1 << len(self.ranked)) - 1
        return reduce(or_, (self._rank_bits.get(slug, 0) for slug in topics), 0)

    def _capped(self, ranks: Iterable[int], topics: tuple[str, ...], room: int, cap: int) -> list[StoryItem]:
        """The best items of `ranks`, at most `cap` under each section, `room` in all.

        It stops once every section it could fill is full: a weekly digest of two topics need not
        walk the week's thousands of other stories of those topics.
        """
        sections = len(topics) if topics else len(self._ranks_by_topic) + 1  # + 1: stories of no topic
        chosen: list[StoryItem] = []
        counts: dict[str | None, int] = {}
        full = 0
        for rank in ranks:
            if len(chosen) >= room or full >= sections:
                break
            item = self.ranked[rank]
            home = _home(item, topics)
            count = counts.get(home, 0)
            if count < cap:
                counts[home] = count + 1
                full += count + 1 == cap
                chosen.append(item)
        return chosen


def _distinct(ranks: Iterator[int]) -> Iterator[int]:
    """Sorted `ranks` without their repeats."""
    last = -1
    for rank in ranks:
        if rank != last:
            yield rank
            last = rank


Scope = frozenset[int] | None  # the guilds whose own stories a pool holds; None: every story (the operator)
# A pool of a window: its scope, or its scope and the feeds it is limited to.
PoolKey = Scope | tuple[Scope, frozenset[int]]


@dataclass
class _Window:
    """The pools of one window (see `Coverage.window`), by scope; each pool is built by the first worker to need it."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    private_guilds: frozenset[int] | None = None
    pools: OrderedDict[PoolKey, Future[StoryPool]] = field(default_factory=OrderedDict)


class StoryPools:
    """The pools of the latest windows, shared by the deliveries of a fan-out (thread-safe).

    A pool is built once, on first use: a story that arrives later (see `arrived`) belongs to the
    next window anyway. Viewers share a pool unless they see different guild-only
    stories of the window: a channel of a guild without feeds of its own sees what a webhook sees.
    A pool holds a window's events (about 2 MB for a window of 10,000 stories, measured). The latest
    `windows` windows are kept (a Monday slot mixes daily, weekday and first digests), each with its
    shared pools and its latest `private_scopes` pools for guilds with feeds of their own.
    """

    def __init__(self, windows: int = 8, private_scopes: int = 16) -> None:
        self._windows: OrderedDict[tuple[datetime, datetime, datetime], _Window] = OrderedDict()
        self._size = windows
        self._private_scopes = private_scopes
        self._lock = threading.Lock()

    def get(self, session: Session, *, covered: Coverage, guild_ids: Sequence[int] | None,
            feed_ids: frozenset[int] = frozenset()) -> StoryPool:
        """The pool `StoryPool.load` would build, built at most once per window, scope and feeds."""
        found = self._window(covered.window)
        with found.lock:
            if found.private_guilds is None:
                found.private_guilds = _guilds_with_own_stories(session, covered.oldest, covered.end)
            scope = None if guild_ids is None else frozenset(guild_ids) & found.private_guilds
            key: PoolKey = (scope, feed_ids) if feed_ids else scope
            building = found.pools.get(key)
            if building is None:
                building = found.pools[key] = Future()
                self._forget_private_pools(found)
                mine = True
            else:
                found.pools.move_to_end(key)
                mine = False
        if mine:  # built outside the lock: workers needing other scopes go on meanwhile
            try:
                building.set_result(StoryPool.load(session, covered=covered, feed_ids=feed_ids,
                                                   guild_ids=None if scope is None else sorted(scope)))
            except BaseException as error:
                with found.lock:
                    found.pools.pop(key, None)
                building.set_exception(error)
        return building.result()

    def _window(self, key: tuple[datetime, datetime, datetime]) -> _Window:
        with self._lock:
            found = self._windows.get(key) or _Window()
            self._windows[key] = found
            self._windows.move_to_end(key)
            while len(self._windows) > self._size:
                self._windows.popitem(last=False)
            return found

    def _forget_private_pools(self, found: _Window) -> None:
        """Drop the least recently used pools of guild scopes, or of chosen feeds, beyond the limit (called with
        the window's lock)."""
        private = [scope for scope in found.pools if scope]
        for scope in private[:max(0, len(private) - self._private_scopes)]:
            del found.pools[scope]


def select_digest(
    *,
    session: Session,
    taxonomy: Taxonomy,
    topics: Sequence[str] | None,
    since: datetime | None,
    now: datetime,
    period: timedelta = DAILY,
    first_window: timedelta = FIRST_DIGEST_WINDOW,
    guild_ids: Sequence[int] | None = None,
    pools: StoryPools | None = None,
    covered: Coverage | None = None,
    searches: Sequence[str] = (),
    feed_ids: frozenset[int] = frozenset(),
    follows_topics: bool = True,
    filters: FilterSet = NO_FILTERS,
) -> Digest:
    """The digest at `now` for a target with these topics (None or empty: all) last delivered at `since`.

    It holds the stories that reached it (see `arrived`) in its `coverage`: after `since`, at most
    one `period` back, by `now`; a target never delivered (`since` None) gets the `first_window`
    (24 h) before `now`, or its period if that is shorter. `covered`, when given, is that coverage
    already worked out. `guild_ids` limits it to what those guilds may see (see
    `digests.store.visible_to`). With `pools`, the window's pool is shared with the other targets of
    the same slot. With `feed_ids` it holds only what those feeds carried (topics narrow it further);
    each of its saved `searches` adds a section; a target that `follows_topics` not (a personal
    digest of saved searches alone) has only those.
    Only the events that pass `filters` (the target's rules) are chosen, in its search sections too.
    """
    if covered is None:
        covered = coverage(since=since, now=now, period=period, first_window=first_window)
    if pools is None:
        pool = StoryPool.load(session, covered=covered, guild_ids=guild_ids, feed_ids=feed_ids)
    else:
        pool = pools.get(session, covered=covered, guild_ids=guild_ids, feed_ids=feed_ids)
    digest = pool.digest(taxonomy, topics, filters) if follows_topics else pool.nothing
    return pool.with_searches(session, digest, searches, filters) if searches else digest


def arrived(since: datetime | None, now: datetime, guild_ids: Sequence[int] | None) -> sa.ColumnElement[bool]:
    """Stories that reached a viewer after `since` (None: ever) and by `now`.

    A story reaches a guild when the first of these happens: it becomes public (`public_at`), or
    one of the guild's feeds carries it (`StoryGuild.shared_at`). So a story another guild's feed
    stored first is still new to everyone else when it becomes public, and is not new again to a
    guild whose own feed brought it earlier. The operator (None) sees stories as they were stored.
    """
    if guild_ids is None:
        return _between(col(Story.ingested_at), since, now)
    public_at = col(Story.public_at)
    if not guild_ids:
        return _between(public_at, since, now)

    def shared_by(moment: datetime) -> sa.Exists:
        return sa.exists().where(col(StoryGuild.story_id) == col(Story.id),
                                 col(StoryGuild.guild_id).in_(list(guild_ids)), col(StoryGuild.shared_at) <= moment)

    reached_by_now = sa.or_(public_at <= now, shared_by(now))
    if since is None:
        return reached_by_now
    return sa.and_(sa.or_(public_at.is_(None), public_at > since), ~shared_by(since), reached_by_now)


def _between(moment: sa.ColumnElement, since: datetime | None, now: datetime) -> sa.ColumnElement[bool]:
    return moment <= now if since is None else sa.and_(moment > since, moment <= now)


def _guilds_with_own_stories(session: Session, oldest: datetime, now: datetime) -> frozenset[int]:
    """The guilds that saw stories of this window before (or without) those became public.

    For every other guild a story reached it when it became public, as it reached a webhook, so
    they share the public pool.
    """
    rows = session.execute(
        sa.select(StoryGuild.guild_id).distinct()
        .join(Story, col(Story.id) == col(StoryGuild.story_id))
        .where(sa.or_(sa.not_(col(Story.public)), col(StoryGuild.shared_at) < col(Story.public_at)),
               col(Story.effective_at) >= oldest, col(Story.effective_at) <= now)
    ).scalars()
    return frozenset(rows)


@dataclass(frozen=True)
class StoryList:
    """The answer to a `/stories` request."""

    topic: Topic | None
    query: str | None
    hours: int
    items: tuple[StoryItem, ...]


def find_stories(
    *,
    session: Session,
    taxonomy: Taxonomy,
    topic: str | None,
    query: str | None,
    hours: int,
    limit: int,
    now: datetime,
    guild_ids: Sequence[int] | None = None,
) -> StoryList:
    """The newest stories of the last `hours` on `topic`, matching `query` when given.

    A `topic` that names no topic of the taxonomy is taken as words to search for.
    """
    if not 1 <= hours <= 168:
        raise InputError("hours must be between 1 and 168.")
    if not 1 <= limit <= 10:
        raise InputError("limit must be between 1 and 10.")
    resolved = taxonomy.resolve(topic) if topic else None
    words = " ".join(part for part in ((topic if topic and not resolved else None), query) if part and part.strip())
    text = text_search(session, words) if words else None
    if words and text is None:  # words, but none a search can read
        return StoryList(topic=resolved, query=words, hours=hours, items=())
    search = StorySearch(oldest=now - timedelta(hours=hours), now=now, limit=limit,
                         topic=resolved.slug if resolved else None, text=text, guild_ids=guild_ids)
    if text is None:
        items = tuple(load_items(session, *newest_listing(search)))
    else:
        items = tuple(items_by_id(session, newest_story_ids(session, search)))
    return StoryList(topic=resolved, query=words or None, hours=hours, items=items)


def topic_counts(
    *, session: Session, taxonomy: Taxonomy, now: datetime, hours: int = 24, guild_ids: Sequence[int] | None = None
) -> list[tuple[Topic, int]]:
    """Every topic of the taxonomy with its number of stories in the last `hours` (that `guild_ids` see)."""
    statement = (
        sa.select(StoryTopic.topic_slug, sa.func.count())
        .join(Story, col(Story.id) == col(StoryTopic.story_id))
        .where(col(Story.effective_at) >= now - timedelta(hours=hours), col(Story.effective_at) <= now)
        .group_by(col(StoryTopic.topic_slug))
    )
    visible = visible_to(guild_ids)
    rows = session.execute(statement if visible is None else statement.where(visible)).all()
    counts = dict(rows)
    return [(topic, counts.get(topic.slug, 0)) for topic in taxonomy]


def _home(item: StoryItem, wanted: Sequence[str]) -> str | None:
    """The section an item goes under: the first of its topics the target follows (None: no topic)."""
    return next((slug for slug in item.topics if not wanted or slug in wanted), None)


def _sections(
    items: Sequence[StoryItem], taxonomy: Taxonomy, wanted: Sequence[str]
) -> tuple[DigestSection, ...]:
    """Items under the first of their topics the target follows, sections in taxonomy order."""
    by_topic: dict[str | None, list[StoryItem]] = {}
    for item in items:
        by_topic.setdefault(_home(item, wanted), []).append(item)
    sections = [
        DigestSection(topic=topic, items=tuple(by_topic[topic.slug])) for topic in taxonomy if topic.slug in by_topic
    ]
    if None in by_topic:
        sections.append(DigestSection(topic=None, items=tuple(by_topic[None])))
    return tuple(sections)

