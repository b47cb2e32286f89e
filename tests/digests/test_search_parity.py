"""Full-text search gives the same stories on SQLite (FTS5) and PostgreSQL (tsvector) for the same data.

Both stores get the sample briefing and the news-feed snapshots of the corpus (real headlines,
summaries and bodies). The searches are what users type: names, places, topics, several words, stop
words, possessives, abbreviations, and query syntax that must stay plain text. The tokenizers are
not the same (FTS5's Porter stemmer against PostgreSQL's Snowball; PostgreSQL keeps host names and
number ranges whole and does not fold accents), so some words still differ: the agreement over
words drawn from the stories' titles is printed (`pytest -s`).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
import sqlalchemy as sa

from digests.ingest import read_source
from digests.ingest.draft import StoryDraft
from digests.models import Story
from digests.store import add_stories, full_text_condition, open_store, session_scope
from tests.conftest import NOW, fresh_database

NEWS_FEEDS = Path(__file__).resolve().parents[1] / "data" / "feed-corpus" / "news-feeds"
SEARCHES = [
    "Greenland", "tariffs", "NATO ministers", "interest rates", "Jerome Powell", "immigration raid", "Supreme Court",
    "Brussels", "election", "inflation", "Hegseth", "space station", "climate change", "iPhone",
    "the fed", "will", "who", "Trump's", "U.S.", "U.S. defense", "don't", "NATO AND Greenland", "court*", "-Trump",
]
# Query syntax is plain text on both stores: each finds what its words find (something, in the corpus).
PLAIN_TEXT = [('"Supreme Court"', "supreme court"), ("Powell*", "Powell"), ("(Powell)", "Powell"),
              ("NOT Trump", "not trump"), ('"Supreme Court', "Supreme Court"),
              ("election:", "election"), ("-Trump", "Trump")]


def corpus() -> list[StoryDraft]:
    """The sample briefing and every news-feed snapshot, as drafts."""
    drafts = list(read_source(str(resources.files("digests") / "data" / "sample-briefing.txt")).drafts)
    for path in sorted(NEWS_FEEDS.iterdir()):
        if path.suffix in {".xml", ".rss", ".atom", ".json"}:
            drafts += read_source(str(path)).drafts
    return drafts


def found(engine: sa.Engine, query: str) -> set[tuple[str, str]]:
    """(source, title) of every story matching `query`."""
    with session_scope(engine) as session:
        condition = full_text_condition(session, query)
        if condition is None:
            return set()
        return set(session.execute(sa.select(Story.source, Story.title).where(condition)).all())


@pytest.fixture(scope="module")
def stores(tmp_path_factory, taxonomy) -> Iterator[dict[str, sa.Engine]]:
    drafts = corpus()
    with fresh_database("sqlite", tmp_path_factory.mktemp("fts")) as sqlite_url, \
            fresh_database("postgresql", tmp_path_factory.mktemp("fts")) as postgresql_url:
        engines = {kind: open_store(url, taxonomy) for kind, url in (("sqlite", sqlite_url),
                                                                      ("postgresql", postgresql_url))}
        for engine in engines.values():
            with session_scope(engine) as session:
                add_stories(session=session, drafts=drafts, taxonomy=taxonomy, now=NOW)
        yield engines
        for engine in engines.values():
            engine.dispose()


@pytest.mark.parametrize("query", SEARCHES)
def test_a_search_finds_the_same_stories_on_both_stores(stores, query):
    on_sqlite = found(stores["sqlite"], query)
    assert on_sqlite, f"{query!r} should find something in the corpus"
    assert found(stores["postgresql"], query) == on_sqlite


@pytest.mark.parametrize(("query", "words"), PLAIN_TEXT)
def test_query_syntax_is_plain_text_on_both_stores(stores, query, words):
    on_sqlite = found(stores["sqlite"], words)
    assert on_sqlite, f"{words!r} should find something in the corpus"
    assert found(stores["sqlite"], query) == found(stores["postgresql"], query) == on_sqlite


def test_a_term_a_store_cannot_read_narrows_the_search_rather_than_widening_it(stores):
    assert found(stores["sqlite"], "Powell")
    assert found(stores["sqlite"], "½ Powell") == found(stores["postgresql"], "½ Powell") == set()
    assert found(stores["postgresql"], "x" * 3000 + " Powell") == set()  # PostgreSQL skips words over 2 KB


def test_agreement_over_words_of_the_stories(stores):
    with session_scope(stores["sqlite"]) as session:
        titles = session.execute(sa.select(Story.title)).scalars().all()
    words = Counter(word.lower() for title in titles for word in re.findall(r"[^\W\d_]{3,}", title))
    sample = random.Random(7).sample(sorted(word for word, count in words.items() if count >= 2), 200)
    same = [word for word in sample if found(stores["sqlite"], word) == found(stores["postgresql"], word)]
    print(f"\nfull-text parity: {len(same)} of {len(sample)} title words find the same stories on both stores; "
          f"differ: {sorted(set(sample) - set(same))}")
    assert len(same) >= 0.9 * len(sample)
