"""`/stories` finds the same stories in the same order whichever way the planner reads them, on both stores.

The store holds a few hundred stories made so that every plan of `digests.story_search` is taken and
can go wrong: a broad topic and words it never meets, common, rare and absent words, phrases,
stories sharing one time (the order falls back to the id), stories whose ids do not follow their time
(the walk by time probes matches by id range), stories older than the longest window, and stories
only one guild sees. The thresholds are made small, so a few hundred stories take paths that a
deployment takes at a million.

Each search is answered by `find_stories` (the planner's choice), by each plan forced, and by one
plain query (every condition in one WHERE, ordered by time then id): all must agree.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import col

from digests import story_search
from digests.ingest.draft import StoryDraft
from digests.models import Story, StoryTopic
from digests.selection import find_stories
from digests.store import (
    TextSearch,
    add_stories,
    full_text_condition,
    open_store,
    session_scope,
    text_search,
    visible_to,
)
from digests.story_search import (
    StorySearch,
    Thresholds,
    by_matches,
    by_time,
    lowest_story_id,
    newest_story_ids,
    probing,
)
from tests.conftest import NOW, fresh_database

# Small enough that a few hundred stories cross every one of them.
SMALL = Thresholds(few_matches=8, some_matches=14, few_estimated=10, first_page=4, last_page=16, walk_budget=24,
                   window_count_cap=500)
GUILD = 7


@dataclass(frozen=True)
class Case:
    """One `/stories` request: a topic argument (a topic, or words), an optional query, hours, limit, viewer."""

    topic: str
    query: str | None
    hours: int
    limit: int
    guild_ids: tuple[int, ...] | None


def drafts(rng: random.Random) -> Iterator[tuple[StoryDraft, timedelta, int | None]]:
    """(draft, how long before NOW it was ingested, the guild whose feed carried it or None).

    Topics are declared by the source; the words are made up, so the keyword tagger adds no topic.
    "zulu" is on every story of technology and "yankee" on every story of sports: each topic's own
    common word, never on the other topic.
    """
    for index in range(420):
        topic = ("technology", "sports", "culture", None)[index % 4]
        words = ["alpha"] if rng.random() < 0.5 else []
        words += {"technology": ["zulu"], "sports": ["yankee"], "culture": [], None: []}[topic]
        if index % 37 == 0:
            words.append("rarebit")  # 12 stories: more than SMALL.few_matches
        if index % 97 == 0:
            words.append("kilo")  # 5 stories: fewer
        if index % 19 == 0:
            words.append("lima")  # 23 stories: more than SMALL.some_matches
        if index % 5 == 0:
            words += ["echo", "foxtrot"] if rng.random() < 0.5 else ["foxtrot", "echo"]
        hours_ago = timedelta(minutes=index * 29)  # 420 stories over about 200 hours: some beyond 168 h
        published = None
        if index % 11 == 0:
            published = NOW - hours_ago - timedelta(hours=rng.randrange(1, 90))  # an id out of time order
        if index % 13 == 0:
            hours_ago = timedelta(hours=10)  # a run of stories at one time
        title = " ".join([*words, f"item{index}"])
        draft = StoryDraft(title=title, source="Wire", url=f"https://example.com/{index}",
                           summary=f"Summary {index} of {title}.", published_at=published,
                           topics=(topic,) if topic else ())
        yield draft, hours_ago, GUILD if index % 9 == 0 else None


@pytest.fixture(scope="module")
def stores(tmp_path_factory, taxonomy):
    made = list(drafts(random.Random(17)))
    with fresh_database("sqlite", tmp_path_factory.mktemp("plans")) as sqlite_url, \
            fresh_database("postgresql", tmp_path_factory.mktemp("plans")) as postgresql_url:
        engines = {kind: open_store(url, taxonomy) for kind, url in (("sqlite", sqlite_url),
                                                                      ("postgresql", postgresql_url))}
        for engine in engines.values():
            for draft, ago, guild in made:  # one at a time, newest first: ids run against time
                with session_scope(engine) as session:
                    add_stories(session=session, drafts=[draft], taxonomy=taxonomy, now=NOW - ago, guild_id=guild)
        yield engines
        for engine in engines.values():
            engine.dispose()


TOPICS = ["technology", "Sports", "culture"]
TEXTS = ["alpha", "zulu", "yankee", "rarebit", "kilo", "lima", "nothinghere", "echo foxtrot", '"echo foxtrot"',
         "zulu yankee", "alpha rarebit", "rarebit*", "alph*"]
CASES = [
    *(Case(topic, None, hours, 10, None) for topic in TOPICS for hours in (1, 24, 168)),
    *(Case(text, None, hours, limit, viewer) for text in TEXTS for hours in (24, 168) for limit in (3, 10)
      for viewer in (None, (GUILD,), ())),
    *(Case(topic, text, hours, limit, viewer) for topic in TOPICS for text in TEXTS for hours in (6, 168)
      for limit in (1, 10) for viewer in (None, ())),
    Case("technology", "alpha", 168, 10, (GUILD, 99)),
]


def reference(session, taxonomy, case: Case) -> list[int]:
    """The answer as one plain query: every condition in one WHERE, newest first, then the higher id."""
    topic = taxonomy.resolve(case.topic)
    words = " ".join(part for part in (None if topic else case.topic, case.query) if part)
    oldest = NOW - timedelta(hours=case.hours)
    statement = sa.select(Story.id).where(col(Story.effective_at) >= oldest, col(Story.effective_at) <= NOW)
    newest = col(Story.effective_at)
    if topic:
        statement = statement.join(StoryTopic, col(StoryTopic.story_id) == col(Story.id)).where(
            col(StoryTopic.topic_slug) == topic.slug, col(StoryTopic.effective_at) >= oldest,
            col(StoryTopic.effective_at) <= NOW)
        newest = col(StoryTopic.effective_at)
    if words:
        statement = statement.where(full_text_condition(session, words))
    if case.guild_ids is not None:
        statement = statement.where(visible_to(list(case.guild_ids)))
    return list(session.execute(statement.order_by(newest.desc(), col(Story.id).desc()).limit(case.limit)).scalars())


def answers(session, taxonomy, case: Case) -> dict[str, list[int]]:
    """The answer of find_stories and of each plan forced, with the default and the small thresholds."""
    found = find_stories(session=session, taxonomy=taxonomy, topic=case.topic, query=case.query, hours=case.hours,
                         limit=case.limit, now=NOW, guild_ids=case.guild_ids)
    topic = taxonomy.resolve(case.topic)
    words = " ".join(part for part in (None if topic else case.topic, case.query) if part)
    search = StorySearch(oldest=NOW - timedelta(hours=case.hours), now=NOW, limit=case.limit,
                         topic=topic.slug if topic else None, text=text_search(session, words),
                         guild_ids=case.guild_ids)
    got = {"find_stories": [item.id for item in found.items], "planned": newest_story_ids(session, search, SMALL)}
    if search.text is not None:
        got["by time"] = by_time(session, search, search.text, SMALL, weigh=False)
        got["by matches"] = by_matches(session, search, search.text)
        got["probing"] = probing(session, search, search.text)
        lowest = lowest_story_id(session, search)
        got["by matches from the window's lowest id"] = by_matches(session, search, search.text, lowest)
        got["probing from the window's lowest id"] = probing(session, search, search.text, lowest)
    return got


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_every_plan_gives_the_plain_answer(stores, taxonomy, kind):
    wrong = []
    with session_scope(stores[kind]) as session:
        for case in CASES:
            expected = reference(session, taxonomy, case)
            wrong += [(case, plan, got, expected) for plan, got in answers(session, taxonomy, case).items()
                      if got != expected]
    assert not wrong, f"{len(wrong)} answers differ, first: {wrong[0]}"


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_matches_are_read_from_the_lowest_story_id_of_the_topics_window(stores, kind):
    """On SQLite the bound is the window's own lowest id: the store's first story is dated before a 6-hour
    window, so a bound that ignored the window would be lower. Without a topic nothing is bounded, nor on
    PostgreSQL, which reads the matches within the window's time range instead."""
    with session_scope(stores[kind]) as session:
        for hours in (6, 168):
            oldest = NOW - timedelta(hours=hours)
            window = session.execute(sa.select(StoryTopic.story_id).where(
                col(StoryTopic.topic_slug) == "technology", col(StoryTopic.effective_at) >= oldest,
                col(StoryTopic.effective_at) <= NOW)).scalars().all()
            text = text_search(session, "alpha")
            on_topic = StorySearch(oldest=oldest, now=NOW, limit=5, topic="technology", text=text)
            assert lowest_story_id(session, on_topic) == (min(window) if kind == "sqlite" else 0)
            assert lowest_story_id(session, StorySearch(oldest=oldest, now=NOW, limit=5, text=text)) == 0


def test_the_cases_are_not_trivial(stores, taxonomy):
    """Many answers are full, some are empty, some are cut by the limit: a plan that lost stories would show."""
    with session_scope(stores["sqlite"]) as session:
        results = [(case, reference(session, taxonomy, case)) for case in CASES]
    assert sum(len(found) == case.limit for case, found in results) > len(CASES) // 3
    assert sum(not found for _, found in results) > 10
    assert sum(0 < len(found) < case.limit for case, found in results) > 10


def test_both_stores_give_the_same_answers(stores, taxonomy):
    """The same stories on SQLite and PostgreSQL (by URL: ids are each store's own), in the same order."""
    def urls(kind: str, case: Case) -> list[str]:
        with session_scope(stores[kind]) as session:
            ids = newest_story_ids(session, StorySearch(
                oldest=NOW - timedelta(hours=case.hours), now=NOW, limit=case.limit, topic=None,
                text=text_search(session, case.topic), guild_ids=case.guild_ids), SMALL)
            by_id = dict(session.execute(sa.select(Story.id, Story.url).where(col(Story.id).in_(ids))).all())
        return [by_id[story_id] for story_id in ids]

    for case in CASES:
        if taxonomy.resolve(case.topic) is None:
            assert urls("sqlite", case) == urls("postgresql", case), case


def test_the_planner_reads_the_smaller_side(stores, monkeypatch):
    """Which plans run, in order (their answers are checked above): the plans are wrapped to note it.

    On SQLite, whose counts are exact. PostgreSQL weighs its planner's estimate instead, which on a
    few hundred stories says little; its answers are checked above like SQLite's.
    """
    kind = "sqlite"
    taken: list[str] = []

    def noting(name: str):
        plan = getattr(story_search, name)

        def noted(*args, **options):
            taken.append(name)
            return plan(*args, **options)
        return noted

    for name in ("by_matches", "by_time", "probing"):
        monkeypatch.setattr(story_search, name, noting(name))

    def plans(text: str, topic: str | None = None) -> list[str]:
        taken.clear()
        with session_scope(stores[kind]) as session:
            newest_story_ids(session, StorySearch(oldest=NOW - timedelta(hours=168), now=NOW, limit=10, topic=topic,
                                                  text=text_search(session, text)), SMALL)
        return list(taken)

    assert plans("alpha") == ["by_time"]  # common: the first page fills the answer
    assert plans("kilo") == ["by_time", "by_matches"]  # the first page does not, and few stories match
    assert plans("nothinghere", "sports") == ["by_time", "by_matches"]
    # rarebit: 12 stories, more than `few_matches` and fewer than `some_matches`
    assert plans("rarebit", "sports") == ["by_time", "probing"]
    # lima: 23 stories, one in nineteen: the walk goes on to its budget, and then they are fewer than
    # the stories left in the window, and are read
    assert plans("lima") == ["by_time", "by_matches"]
    # zulu is on every technology story and never on sports: more matches than sports stories left,
    # so the walk goes on to the end of the window
    assert plans("zulu", "sports") == ["by_time"]


def test_a_first_page_that_matches_often_is_walked_on_without_weighing_the_text(stores, monkeypatch):
    """A word on half the stories matches on the first page: the walk goes on rather than counting its matches
    (an estimate can be far off, and reading them all would cost more). A rarer word's first page finds none."""
    counted: list[str] = []
    count = TextSearch.count

    def noted(self, session, **options):
        counted.append(self.terms[0][0])
        return count(self, session, **options)

    monkeypatch.setattr(TextSearch, "count", noted)
    for word in ("alpha", "kilo"):
        with session_scope(stores["sqlite"]) as session:
            newest_story_ids(session, StorySearch(oldest=NOW - timedelta(hours=168), now=NOW, limit=5,
                                                  text=text_search(session, word)), SMALL)
    assert counted == ["kilo"]


@pytest.mark.parametrize(("found", "walked", "limit", "fills"), [
    (1, 128, 5, True),  # four more hits at one in 128: 512 rows
    (0, 128, 5, False),  # no hit yet: nothing to project
    (1, 128, 20, False),  # nineteen more: 2,432 rows, over the budget
    (4, 128, 20, True),
])
def test_the_walk_goes_on_when_its_first_page_promises_to_fill_the_answer_within_the_budget(found, walked, limit,
                                                                                             fills):
    assert story_search._fills_soon(found, walked, limit, budget=2_048) is fills
