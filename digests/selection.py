"""Choosing stories: what a digest holds, what `/stories` answers, how many stories a topic has.

Nothing here reads the clock: every function takes `now`, so digests are testable on any day.

Stories about the same event are one item, a cluster: their headlines, as sets of words without
stop words, share at least four words (three for very short ones) that make up 60 % of the shorter
one, and they are at most a day apart. Candidates are found through an index of the words: only headlines
sharing two words that are not too common to tell events apart are compared, never all pairs. The cluster
shows its best story, with the other outlets that carried it listed as "also"; each item scores

    2 × (sources − 1)  +  0.5 if it has a body  +  freshness (1 when new, 0 at the age limit)

so a story carried by more outlets wins, then a full article beats a bare headline of similar age.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlmodel import Session, col, select

from digests.errors import InputError
from digests.models import Story, StoryTopic
from digests.store import full_text_condition, topic_links, visible_to
from digests.text import normalise_title
from digests.topics import Taxonomy, Topic

DIGEST_MAX_ITEMS = 15
MAX_AGE = timedelta(hours=36)
FIRST_DIGEST_WINDOW = timedelta(hours=24)
# Enough candidates to fill a digest after grouping, without loading a busy day's whole store.
CANDIDATES_MAX = 1_000


@dataclass(frozen=True)
class StoryItem:
    """A story as it is shown: one line, or the top story with its summary."""

    id: int
    title: str
    url: str | None
    source: str
    summary: str
    effective_at: datetime
    topics: tuple[str, ...]
    has_body: bool
    also: tuple[str, ...] = ()

    def score(self, now: datetime) -> float:
        """Rank of this item in a digest (see the module docstring)."""
        freshness = max(0.0, 1.0 - (now - self.effective_at) / MAX_AGE)
        return 2.0 * len(self.also) + (0.5 if self.has_body else 0.0) + freshness


@dataclass(frozen=True)
class DigestSection:
    """Headlines under one topic; `topic` is None for stories that have no topic."""

    topic: Topic | None
    items: tuple[StoryItem, ...]


@dataclass(frozen=True)
class Digest:
    """A top story and headlines grouped by topic, plus how many more matched."""

    top: StoryItem | None
    sections: tuple[DigestSection, ...]
    more: int
    now: datetime

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to post."""
        return self.top is None

    @property
    def size(self) -> int:
        """How many items the digest shows."""
        return (self.top is not None) + sum(len(section.items) for section in self.sections)


def select_digest(
    *,
    session: Session,
    taxonomy: Taxonomy,
    topics: Sequence[str] | None,
    since: datetime | None,
    now: datetime,
    first_window: timedelta = FIRST_DIGEST_WINDOW,
    guild_ids: Sequence[int] | None = None,
) -> Digest:
    """The digest for a target with these topics (None or empty: all) last delivered at `since`.

    It holds the stories ingested after `since` that are at most 36 h old; a target never delivered
    (`since` None) gets the stories of the `first_window` (24 h) before `now`. `guild_ids` limits
    it to what those guilds may see (see `digests.store.visible_to`).
    """
    oldest = now - (MAX_AGE if since is not None else first_window)
    statement = _window(oldest, now, guild_ids)
    if since is not None:
        statement = statement.where(col(Story.ingested_at) > since)
    if topics:
        statement = statement.where(_has_topic(topics))
    rows = session.execute(statement.order_by(col(Story.effective_at).desc()).limit(CANDIDATES_MAX)).all()
    items = _cluster(_items(session, rows), now)
    ranked = sorted(items, key=lambda item: item.score(now), reverse=True)
    shown = ranked[:DIGEST_MAX_ITEMS]
    if not shown:
        return Digest(top=None, sections=(), more=0, now=now)
    return Digest(
        top=shown[0],
        sections=_sections(shown[1:], taxonomy, topics),
        more=len(ranked) - len(shown),
        now=now,
    )


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
    oldest = now - timedelta(hours=hours)
    statement = _window(oldest, now, guild_ids)
    newest_first = col(Story.effective_at).desc()
    if resolved:  # walk the topic's (topic, time) index newest first; see StoryTopic
        statement = statement.join(StoryTopic, col(StoryTopic.story_id) == col(Story.id)).where(
            col(StoryTopic.topic_slug) == resolved.slug, col(StoryTopic.effective_at) >= oldest,
            col(StoryTopic.effective_at) <= now)
        newest_first = col(StoryTopic.effective_at).desc()
    if words:
        condition = full_text_condition(session, words, scan_by_time=resolved is None)
        if condition is None:
            return StoryList(topic=resolved, query=words, hours=hours, items=())
        statement = statement.where(condition)
    rows = session.execute(statement.order_by(newest_first).limit(limit)).all()
    return StoryList(topic=resolved, query=words or None, hours=hours, items=tuple(_items(session, rows)))


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


# The columns a listing needs: a digest reads up to 1,000 candidates, so never their bodies.
_ITEM_COLUMNS = (Story.id, Story.title, Story.url, Story.source, Story.summary, Story.effective_at,
                 col(Story.body).is_not(None).label("has_body"))


def _window(oldest: datetime, now: datetime, guild_ids: Sequence[int] | None) -> sa.Select:
    statement = sa.select(*_ITEM_COLUMNS).where(col(Story.effective_at) >= oldest, col(Story.effective_at) <= now)
    visible = visible_to(guild_ids)
    return statement if visible is None else statement.where(visible)


def _has_topic(slugs: Sequence[str]) -> sa.ColumnElement[bool]:
    return col(Story.id).in_(select(StoryTopic.story_id).where(col(StoryTopic.topic_slug).in_(list(slugs))))


def _items(session: Session, rows: Sequence[sa.Row]) -> list[StoryItem]:
    links = topic_links(session=session, story_ids=[row.id for row in rows])
    return [
        StoryItem(id=row.id, title=row.title, url=row.url, source=row.source, summary=row.summary,
                  effective_at=row.effective_at, topics=tuple(links.get(row.id, ())), has_body=bool(row.has_body))
        for row in rows
    ]


_STOP_WORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is", "it", "its",
    "of", "on", "or", "over", "says", "say", "said", "than", "that", "the", "their", "this", "to", "up", "was",
    "were", "will", "with", "after", "amid", "about", "into", "new", "more",
))
CLUSTER_MIN_SHARED = 3
CLUSTER_OVERLAP = 0.6
CLUSTER_WINDOW = timedelta(hours=24)
# A word carried by more candidates than this says little about which event a story is about.
_COMMON_WORD_POSTINGS = 50


@lru_cache(maxsize=50_000)
def _words(title: str) -> frozenset[str]:
    """A headline's words for clustering (cached: the same stories are candidates of many digests)."""
    return frozenset(word for word in normalise_title(title).split() if word not in _STOP_WORDS)


def _same_event(a: frozenset[str], b: frozenset[str]) -> bool:
    """Enough shared words, making up most of the shorter headline.

    Four shared words are needed (three for headlines of four words or fewer): "Trump warns Iran
    over nuclear talks" and "Trump warns China over trade talks" share three and stay apart.
    """
    shared = len(a & b)
    shorter = min(len(a), len(b))
    needed = max(CLUSTER_MIN_SHARED, min(CLUSTER_MIN_SHARED + 1, shorter - 1))
    return shared >= needed and shared / shorter >= CLUSTER_OVERLAP


def _cluster(items: list[StoryItem], now: datetime) -> list[StoryItem]:
    """One item per event (see the module docstring), found with a word index, not all pairs."""
    words = [_words(item.title) for item in items]
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    postings: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        # Only headlines sharing two informative words can share the four an event needs.
        shared = Counter(j for word in words[i] if len(postings[word]) <= _COMMON_WORD_POSTINGS
                         for j in postings[word])
        candidates = [j for j, count in shared.items() if count >= 2]
        for j in candidates:
            close = abs(item.effective_at - items[j].effective_at) <= CLUSTER_WINDOW
            if close and root(i) != root(j) and _same_event(words[i], words[j]):
                parent[root(i)] = root(j)
        for word in words[i]:
            postings[word].append(i)
    clusters: dict[int, list[StoryItem]] = defaultdict(list)
    for i, item in enumerate(items):
        clusters[root(i)].append(item)
    merged = []
    for copies in clusters.values():
        best = max(copies, key=lambda item: item.score(now))
        others = tuple(dict.fromkeys(c.source for c in copies if c.source != best.source))
        topics = tuple(dict.fromkeys(slug for c in copies for slug in c.topics))
        merged.append(replace(best, also=others, topics=topics))
    return merged


def _sections(
    items: Sequence[StoryItem], taxonomy: Taxonomy, wanted: Sequence[str] | None
) -> tuple[DigestSection, ...]:
    """Items under the first of their topics the target follows, sections in taxonomy order."""
    wanted_set = set(wanted or ())
    by_topic: dict[str | None, list[StoryItem]] = {}
    for item in items:
        home = next((slug for slug in item.topics if not wanted_set or slug in wanted_set), None)
        by_topic.setdefault(home, []).append(item)
    sections = [
        DigestSection(topic=topic, items=tuple(by_topic[topic.slug])) for topic in taxonomy if topic.slug in by_topic
    ]
    if None in by_topic:
        sections.append(DigestSection(topic=None, items=tuple(by_topic[None])))
    return tuple(sections)

