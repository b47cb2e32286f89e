"""The newest stories of a window on a topic and/or matching words, read the cheaper way round.

`/stories` wants at most ten stories, newest first, that are in a time window, on a topic (or
not), match some words (or not) and that the viewer may see. Two ways to find them:

- **by time**: walk the window newest first (the topic's (topic, time) index, or the stories' time
  index) and keep the rows whose story matches the words. Cheap when matching stories are common
  among the rows walked: a page of the walk is enough.
- **by matches**: read every story matching the words (the full-text index) and keep those in the
  window and on the topic. Cheap when few stories match, whatever the window.

Neither is cheap in every case: a broad topic with a word it never meets walks the whole window by
time, and a common word read by matches reads a large part of the store. So the walk by time reads
a first page (a common word fills the answer there, or matches often enough there to fill it within
`Thresholds.walk_budget` rows); if it does not, the text side is counted, no further than
`Thresholds.some_matches` (FTS5 counts a rare word's matches for almost nothing; PostgreSQL's
planner estimates them), and few matches are read by matches; some (tens of thousands at most) are
gathered once and probed by one walk through the window. Otherwise the walk goes on page by page, and if
`Thresholds.walk_budget` rows have not filled the answer, the rest of the window and the matches
are counted (each no further than the other) and the smaller side is read. The matches are counted
and read as the window holds them, not as the whole store does: on SQLite, with a topic, from the
lowest story id of the topic's window on (`lowest_story_id`); on PostgreSQL, within the window's time
range. Every way gives the same
stories in the same order, newest first and, at the same time, the higher id first
(tests/digests/test_story_search.py checks each against a plain query on both stores).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from digests.models import Story, StoryTopic
from digests.store import TextSearch, matching_statement, postgresql_query, visible_to_parameter
from digests.story_items import listing


@dataclass(frozen=True)
class Thresholds:
    """Where the plan changes; tests make them small so a small store takes every path."""

    # A text side with fewer matches than this is read by matches (a few milliseconds at most).
    few_matches: int = 1_000
    # With fewer than this, the matches are gathered once and the walk probes them in one statement.
    some_matches: int = 20_000
    # PostgreSQL: an estimate below this is read by matches (there is no probing walk).
    few_estimated: int = 5_000
    # Pages of the walk by time grow from the first to the last size, so an answer found at once costs little.
    first_page: int = 128
    last_page: int = 4_096
    # Rows walked by time before the two sides are weighed again.
    walk_budget: int = 2_048
    # The rest of a window is counted no further than this: counting both sides further would cost more
    # than reading a side this large saves.
    window_count_cap: int = 50_000


THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class StorySearch:
    """What to find: stories dated in [oldest, now], on `topic` (a slug) if given, matching `text` if given,
    that `guild_ids` may see (None: everything), at most `limit` of them."""

    oldest: datetime
    now: datetime
    limit: int
    topic: str | None = None
    text: TextSearch | None = None
    guild_ids: Sequence[int] | None = None


def newest_story_ids(session: Session, search: StorySearch, thresholds: Thresholds = THRESHOLDS) -> list[int]:
    """The ids of the stories `search` asks for, newest first (at the same time, the higher id first)."""
    if search.text is None:
        return [row.id for row in session.connection().execute(*newest_listing(search))]
    return by_time(session, search, search.text, thresholds)


def newest_listing(search: StorySearch) -> tuple[sa.Select, dict[str, object]]:
    """No words: the newest stories of the window (on the topic) that the viewer may see, as item columns
    (`digests.story_items.listing`) in one statement, walked by the (topic, time) or time index; with
    the values of its parameters."""
    return _newest_listing(search.topic is not None, search.guild_ids is not None), _params(search)


# Every statement below is built once per shape of request, with named parameters (`_params`), and reused:
# building one of subqueries and window functions took longer than SQLite takes to run it, and a request
# runs two to six.


def _params(search: StorySearch, **more: object) -> dict[str, object]:
    """The values of the statements' parameters for `search` (and its words), with `more`."""
    values: dict[str, object] = {"oldest": search.oldest, "now": search.now, "limit": search.limit, **more}
    if search.topic is not None:
        values["topic"] = search.topic
    if search.guild_ids is not None:
        values["guild_ids"] = list(search.guild_ids)
    if search.text is not None:
        values.update(search.text.params)
    return values


def _in_window(moment: sa.ColumnElement) -> list[sa.ColumnElement[bool]]:
    """`moment` within the window, whose ends are the parameters `oldest` and `now`."""
    return [moment >= sa.bindparam("oldest"), moment <= sa.bindparam("now")]


@functools.cache
def _newest_listing(by_topic: bool, visible: bool) -> sa.Select:
    statement = listing(None)
    if visible:
        statement = statement.where(visible_to_parameter())
    if not by_topic:
        return statement.where(*_in_window(col(Story.effective_at))).order_by(
            col(Story.effective_at).desc(), col(Story.id).desc()).limit(sa.bindparam("limit"))
    moment = col(StoryTopic.effective_at)
    # The story's own time is not asked for: alone, it only misleads PostgreSQL's row estimate into a
    # hash join (it is the link's, copied).
    return statement.join(StoryTopic, col(StoryTopic.story_id) == col(Story.id)).where(
        col(StoryTopic.topic_slug) == sa.bindparam("topic"), *_in_window(moment),
    ).order_by(moment.desc(), col(StoryTopic.story_id).desc()).limit(sa.bindparam("limit"))


def by_time(session: Session, search: StorySearch, text: TextSearch, thresholds: Thresholds = THRESHOLDS,
            *, weigh: bool = True) -> list[int]:
    """Walk the window newest first, page by page, keeping the rows that match `text` and are visible.

    When `weigh`: if the first page does not fill the answer, nor matches often enough to fill it
    within `walk_budget` rows (`_fills_soon`), the matches are counted; few are read
    by matches instead, some are probed by one walk (`probing`); with more, after `walk_budget` rows
    the rest of the window and the matches are counted, and the smaller side is read.
    """
    found: list[int] = []
    after: int | None = None
    page, walked = thresholds.first_page, 0
    lowest: int | None = None  # the lowest story id the answer can hold, once weighed
    while True:
        hits, last, read = _page(session, search, text, after, page)
        found += hits
        if len(found) >= search.limit or read < page:
            return found[:search.limit]
        if weigh and not walked and not _fills_soon(len(found), read, search.limit, thresholds.walk_budget):
            lowest = lowest_story_id(session, search)
            matches = text.count(session, cap=thresholds.some_matches, window=_window(search), lowest=lowest)
            if text.dialect == "sqlite":
                if matches < thresholds.few_matches:
                    return by_matches(session, search, text, lowest)
                if matches < thresholds.some_matches:
                    return probing(session, search, text, lowest)
            elif matches < thresholds.few_estimated:
                # PostgreSQL's estimate: read by matches (GIN finds them at once); its own plan for a
                # probing walk scans the whole window when it expects many matches.
                return by_matches(session, search, text, lowest)
        walked += read
        after = last
        page = min(page * 4, thresholds.last_page)
        if weigh and walked >= thresholds.walk_budget:
            weigh = False
            counted = _count_walk(search.topic is not None)
            left = session.connection().execute(
                counted, _params(search, after=after, cap=thresholds.window_count_cap)).scalar_one()
            lowest = lowest_story_id(session, search) if lowest is None else lowest
            if text.count(session, cap=left, window=_window(search), lowest=lowest) < left:
                return by_matches(session, search, text, lowest)


def _window(search: StorySearch) -> tuple[datetime, datetime]:
    return search.oldest, search.now


def lowest_story_id(session: Session, search: StorySearch) -> int:
    """A story id no story of the answer is below: on SQLite with a topic, the lowest of the topic's window (read
    from the (topic, time, story) index alone); otherwise 0.

    SQLite's full-text matches are then read from that id on: FTS5 seeks to it, so a word's matches cost
    what the window holds rather than what the whole store does (a week is a thirteenth of a 90-day
    store, a day a ninetieth). Without a topic, the window's lowest id would take reading the whole
    window's time index. PostgreSQL needs no bound: it reads the matches with the window's time range
    (`_by_matches`), ANDing the GIN index's matches with the time index's before reading a row, which the
    bound's primary-key range did no better ("peace talks" over a week: 29 ms either way, 30 with both).
    """
    if search.text is None or search.topic is None or search.text.dialect != "sqlite":
        return 0
    return session.connection().execute(_lowest_of_topic(), _params(search)).scalar_one() or 0


@functools.cache
def _lowest_of_topic() -> sa.Select:
    # min(+story_id): of the window's index entries. A plain min(story_id) may be read by walking the primary
    # key (story, topic) from the oldest story until one is on the topic in the window: PostgreSQL chose that
    # for a 48-hour window, 67 ms against 1.
    return sa.select(sa.func.min(_unindexed(StoryTopic.story_id))).where(
        col(StoryTopic.topic_slug) == sa.bindparam("topic"), *_in_window(col(StoryTopic.effective_at)))


def _fills_soon(found: int, walked: int, limit: int, budget: int) -> bool:
    """Whether the walk, matching as often as it did on its first page, fills the answer within `budget` rows.

    Then the text side is not weighed: an estimate can be far off (PostgreSQL multiplies the
    frequencies of words as if they were independent: "interest rates" was expected in 438 stories of
    a million and is in 11,327), and reading every match would cost more than the few pages left.
    """
    return found > 0 and (limit - found) * walked <= found * budget


def probing(session: Session, search: StorySearch, text: TextSearch, lowest: int = 0) -> list[int]:
    """One statement: walk the window newest first, probing the set of matching ids from `lowest` (gathered
    once)."""
    statement = _probing(text.shape, search.topic is not None, search.guild_ids is not None)
    return list(session.connection().execute(statement, _params(search, lowest=lowest)).scalars())


@functools.cache
def _probing(shape: tuple[str, int], by_topic: bool, visible: bool) -> sa.Select:
    statement = _walk(by_topic, after=False)
    walked_id = statement.selected_columns[0]
    if shape[0] == "sqlite" and not by_topic:
        walked_id = sa.literal_column("+story.id")  # walk the time index, not the matches
    statement = statement.where(walked_id.in_(_matching_from_lowest(shape)))
    if by_topic:
        statement = statement.join(Story, col(Story.id) == col(StoryTopic.story_id)).where(
            *_story_conditions(visible=visible))
    elif visible:
        statement = statement.where(visible_to_parameter())
    return statement.limit(sa.bindparam("limit"))


def _page(session: Session, search: StorySearch, text: TextSearch, after: int | None,
          size: int) -> tuple[list[int], int | None, int]:
    """The next `size` rows of the walk: (those that match and are kept (see `_kept`), in order; the last row's
    story id; how many were read).

    On SQLite one statement reads the page, numbered, probed against the matches within the page's id
    range, returning the matching rows and the last one, and `_kept` then keeps those of the window and
    viewer; on PostgreSQL one statement returns every row of the page with whether its story matches and
    is kept.
    """
    params = _params(search, after=after, size=size)
    if text.dialect != "sqlite":
        by_topic, visible = search.topic is not None, search.guild_ids is not None
        rows = session.connection().execute(_postgresql_page(text.shape, by_topic, visible, after is not None),
                                            params).all()
        return [story_id for story_id, hit in rows if hit], (rows[-1][0] if rows else None), len(rows)
    rows = session.connection().execute(_sqlite_page(search.topic is not None, after is not None), params).all()
    if not rows:
        return [], None, 0
    last_id, read, _ = rows[-1]  # the page's last row is always returned, numbered with the page's size
    return _kept(session, search, [story_id for story_id, _, matched in rows if matched]), last_id, read


@functools.cache
def _sqlite_page(by_topic: bool, after: bool) -> sa.Select:
    page = _walk(by_topic, after, with_time=True).limit(sa.bindparam("size")).cte("page")
    numbered = sa.select(page.c.id, sa.func.row_number().over(order_by=(page.c.moment.desc(), page.c.id.desc()))
                         .label("k")).subquery("numbered")
    lowest, highest = (sa.select(sa.func.min(page.c.id)).scalar_subquery(),
                       sa.select(sa.func.max(page.c.id)).scalar_subquery())
    read = sa.select(sa.func.count()).select_from(page).scalar_subquery()
    rowid = sa.column("rowid")
    hit = numbered.c.id.in_(matching_statement(("sqlite", 1)).where(rowid >= lowest, rowid <= highest))
    return sa.select(numbered.c.id, numbered.c.k, hit).where(sa.or_(hit, numbered.c.k == read)).order_by(numbered.c.k)


@functools.cache
def _postgresql_page(shape: tuple[str, int], by_topic: bool, visible: bool, after: bool) -> sa.Select:
    # The page is walked first (materialised), then each of its stories read by id, matched against the
    # words' query (parsed once) and kept or not (`_kept`). As three statements this cost two round trips
    # more, and matching by the ids alone let PostgreSQL read the words' matches over the whole store from
    # the GIN index instead ("interest rates" on a page of 512: 60 ms).
    page = _walk(by_topic, after, with_time=True).limit(sa.bindparam("size")).cte("page").prefix_with("MATERIALIZED")
    query_ts, every_term_read = postgresql_query(shape[1])
    query = sa.select(query_ts.label("words"), every_term_read.label("read")).cte("query").prefix_with("MATERIALIZED")
    kept = _story_conditions(visible=visible) if by_topic else ([visible_to_parameter()] if visible else [])
    matched = sa.and_(query.c.read, sa.literal_column("story.search").op("@@")(query.c.words), *kept)
    return sa.select(page.c.id, matched).select_from(page).join(Story, col(Story.id) == page.c.id).join(
        query, sa.true()).order_by(page.c.moment.desc(), page.c.id.desc())


@functools.cache
def _walk(by_topic: bool, after: bool, *, with_time: bool = False) -> sa.Select:
    """The story ids of the window (`id`, and its time as `moment` if `with_time`), newest first (then the
    higher id), on the topic if `by_topic`, after story `after` (the parameter) if `after`.

    Times are not read back: turning thousands of them into datetimes would cost more than the walk.
    """
    if by_topic:
        story_id, moment = col(StoryTopic.story_id), col(StoryTopic.effective_at)
        after_moment = sa.select(moment).where(story_id == sa.bindparam("after"),
                                               col(StoryTopic.topic_slug) == sa.bindparam("topic"))
        statement = sa.select(story_id.label("id"), *([moment.label("moment")] if with_time else [])).where(
            col(StoryTopic.topic_slug) == sa.bindparam("topic"))
    else:
        story_id, moment = col(Story.id), col(Story.effective_at)
        after_moment = sa.select(moment).where(story_id == sa.bindparam("after"))
        statement = sa.select(story_id.label("id"), *([moment.label("moment")] if with_time else []))
    statement = statement.where(*_in_window(moment))
    if after:
        # (time, id) below the last row's, spelled so both stores use the time index for its first part.
        last = after_moment.scalar_subquery()
        statement = statement.where(moment <= last, sa.or_(moment < last, story_id < sa.bindparam("after")))
    return statement.order_by(moment.desc(), story_id.desc())


@functools.cache
def _count_walk(by_topic: bool) -> sa.Select:
    """How many rows the rest of the walk (after `after`) holds, counting no further than `cap`."""
    rest = _walk(by_topic, after=True).limit(sa.bindparam("cap")).subquery()
    return sa.select(sa.func.count()).select_from(rest)


def _kept(session: Session, search: StorySearch, story_ids: list[int]) -> list[int]:
    """`story_ids` (in their order) whose story is dated in the window and visible to the viewer.

    A walk by topic reads the time copied to the topic link; the story's own time must be in the
    window too, as it must when read by matches.
    """
    if not story_ids or (search.topic is None and search.guild_ids is None):
        return story_ids  # walked on the story's own time, and everything is visible
    statement = _kept_statement(search.guild_ids is not None)
    kept = set(session.connection().execute(statement, _params(search, ids=story_ids)).scalars())
    return [story_id for story_id in story_ids if story_id in kept]


@functools.cache
def _kept_statement(visible: bool) -> sa.Select:
    return sa.select(col(Story.id)).where(col(Story.id).in_(sa.bindparam("ids", expanding=True)),
                                          *_story_conditions(visible=visible))


def by_matches(session: Session, search: StorySearch, text: TextSearch, lowest: int = 0) -> list[int]:
    """Read every story matching the words from story `lowest` on, keep those of the window, topic and viewer,
    newest first."""
    statement = _by_matches(text.shape, search.topic is not None, search.guild_ids is not None)
    return list(session.connection().execute(statement, _params(search, lowest=lowest)).scalars())


@functools.cache
def _by_matches(shape: tuple[str, int], by_topic: bool, visible: bool) -> sa.Select:
    sqlite = shape[0] == "sqlite"
    matches = _matching_from_lowest(shape)
    if not sqlite:
        # The window's time range beside the words: PostgreSQL ANDs the GIN index's matches with the time
        # index's range before reading any row, so a word's matches cost what the window holds ("looted" in
        # a day: 28 → 2 ms). Materialised: PostgreSQL would otherwise weigh the matches against the time
        # index itself, walking it newest first.
        matches = matches.where(*_in_window(col(Story.effective_at)))
        matches = sa.select(matches.cte("matches").prefix_with("MATERIALIZED").c.id)
    statement = sa.select(col(Story.id)).where(col(Story.id).in_(matches),
                                               *_story_conditions(unindexed=sqlite, visible=visible))
    newest = col(Story.effective_at)
    if by_topic:
        # The topic is probed through the link's primary key (story, topic), not walked by its index.
        slug, moment = col(StoryTopic.topic_slug), col(StoryTopic.effective_at)
        if sqlite:
            slug, moment = _unindexed(StoryTopic.topic_slug), _unindexed(StoryTopic.effective_at)
        statement = statement.join(StoryTopic, col(StoryTopic.story_id) == col(Story.id)).where(
            slug == sa.bindparam("topic"), *_in_window(moment))
        newest = col(StoryTopic.effective_at)
    return statement.order_by(newest.desc(), col(Story.id).desc()).limit(sa.bindparam("limit"))


def _matching_from_lowest(shape: tuple[str, int]) -> sa.Select:
    """The matching ids: on SQLite from the parameter `lowest` on; PostgreSQL has no such bound (see
    `lowest_story_id`)."""
    if shape[0] != "sqlite":
        return matching_statement(shape)
    return matching_statement(shape).where(sa.column("rowid") >= sa.bindparam("lowest"))


def _story_conditions(*, unindexed: bool = False, visible: bool) -> list[sa.ColumnElement[bool]]:
    """The conditions on the story row itself: its time in the window, and visible to the viewer if `visible`.

    `unindexed` ("+story.effective_at") keeps SQLite from walking the time index for them.
    """
    moment = _unindexed(Story.effective_at) if unindexed else col(Story.effective_at)
    return [*_in_window(moment), *([visible_to_parameter()] if visible else [])]


def _unindexed(column: object) -> sa.ColumnElement:
    """`+table.column` with the column's type: SQLite reads the same value but may not use an index for it."""
    column = col(column)
    return sa.literal_column(f"+{column.table.name}.{column.name}", column.type)


def matching_in_range(session: Session, text: TextSearch, lowest: int, highest: int) -> set[int]:
    """The ids from `lowest` to `highest` of the stories matching `text`: every match of a digest's pool at once.

    A saved search (see `digests.selection.StoryPool.with_searches`) wants all of a pool's stories that
    match, not the newest few: FTS5 seeks to the id range and reads only it (as a page of the walk
    does), PostgreSQL combines the GIN index with the primary key's range. The matching is `/stories`'.
    """
    if text.dialect == "sqlite":
        statement = text.matching_between(sa.bindparam("lowest"), sa.bindparam("highest"))
    else:
        statement = matching_statement(text.shape).where(col(Story.id) >= sa.bindparam("lowest"),
                                                         col(Story.id) <= sa.bindparam("highest"))
    return set(session.connection().execute(statement, {**text.params, "lowest": lowest,
                                                        "highest": highest}).scalars())
