"""Tagging quality of the built-in taxonomy on labelled real-world headlines and on the sample briefing.

The labelled set (tests/digests/data/labelled_headlines.tsv) holds real feed items from news
snapshots plus wire-style headlines, each labelled by hand; its header says where they come from.
The floors sit a little under what the tagger achieves (precision 0.95, recall 0.77 when written),
so a change to the taxonomy that makes tagging clearly worse fails here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

import digests
from digests.topics import Taxonomy, load_taxonomy

LABELLED = Path(__file__).parent / "data" / "labelled_headlines.tsv"
SAMPLE = Path(digests.__file__).parent / "data" / "sample-briefing.txt"

MIN_PRECISION = 0.90
MIN_RECALL = 0.72
# Per topic, for topics with at least five labelled stories: a floor that catches a broken topic.
MIN_TOPIC_PRECISION = 0.75
MIN_TOPIC_RECALL = 0.45


@dataclass(frozen=True)
class Labelled:
    source: str
    title: str
    summary: str
    topics: frozenset[str]


def read_labelled() -> list[Labelled]:
    lines = [line for line in LABELLED.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    assert lines[0] == "source\ttitle\tsummary\ttopics"
    rows = []
    for line in lines[1:]:
        source, title, summary, topics = line.split("\t")
        rows.append(
            Labelled(source, title, summary, frozenset() if topics == "-" else frozenset(topics.split(",")))
        )
    return rows


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


@pytest.fixture(scope="module")
def results(taxonomy: Taxonomy) -> list[tuple[Labelled, frozenset[str]]]:
    return [(row, frozenset(taxonomy.tag(row.title, row.summary))) for row in read_labelled()]


def test_labelled_set_is_large_and_covers_every_topic(taxonomy: Taxonomy) -> None:
    rows = read_labelled()
    assert len(rows) >= 250
    assert len({row.title for row in rows}) == len(rows)
    slugs = {t.slug for t in taxonomy}
    counts = Counter(slug for row in rows for slug in row.topics)
    assert set(counts) == slugs  # no label outside the taxonomy, no topic without labels
    assert min(counts.values()) >= 5
    assert sum(1 for row in rows if not row.topics) >= 15  # stories that belong to no topic


def test_micro_precision_and_recall(results: list[tuple[Labelled, frozenset[str]]]) -> None:
    true_pos = sum(len(row.topics & got) for row, got in results)
    tagged = sum(len(got) for _, got in results)
    expected = sum(len(row.topics) for row, _ in results)
    precision, recall = true_pos / tagged, true_pos / expected
    assert precision >= MIN_PRECISION, f"precision {precision:.3f}"
    assert recall >= MIN_RECALL, f"recall {recall:.3f}"


def test_each_topic_is_sane(taxonomy: Taxonomy, results: list[tuple[Labelled, frozenset[str]]]) -> None:
    failures = []
    for slug in (t.slug for t in taxonomy):
        true_pos = sum(1 for row, got in results if slug in row.topics and slug in got)
        tagged = sum(1 for _, got in results if slug in got)
        expected = sum(1 for row, _ in results if slug in row.topics)
        if expected < 5:
            continue
        if tagged == 0 or true_pos / tagged < MIN_TOPIC_PRECISION:
            failures.append(f"{slug}: precision {true_pos}/{tagged}")
        if true_pos / expected < MIN_TOPIC_RECALL:
            failures.append(f"{slug}: recall {true_pos}/{expected}")
    assert not failures


def test_stories_without_a_topic_mostly_stay_untagged(results: list[tuple[Labelled, frozenset[str]]]) -> None:
    untopical = [got for row, got in results if not row.topics]
    assert sum(1 for got in untopical if not got) >= 0.8 * len(untopical)


# --- the sample briefing -------------------------------------------------------------------------


def read_sample() -> tuple[str, str, list[str]]:
    """(article title, article text, headlines) from the sample: first block, then one headline a line."""
    block, _, rest = SAMPLE.read_text(encoding="utf-8").strip().partition("\n\n")
    paragraphs = [line.strip() for line in block.splitlines() if line.strip()]
    lead = paragraphs[0]
    title = lead if len(lead) <= 120 else lead[:121].rsplit(" ", 1)[0]
    return title, "\n".join(paragraphs), [line.strip() for line in rest.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def sample() -> tuple[str, str, list[str]]:
    return read_sample()


def headline(sample: tuple[str, str, list[str]], words: str) -> str:
    (line,) = [h for h in sample[2] if words in h]
    return line


def test_sample_parses_into_article_and_17_headlines(sample: tuple[str, str, list[str]]) -> None:
    title, text, headlines = sample
    assert "NATO" in title
    assert len(title) <= 120
    assert text.count("\n") == 6
    assert len(headlines) == 17


def test_sample_nato_article_is_defense(taxonomy: Taxonomy, sample: tuple[str, str, list[str]]) -> None:
    title, text, _ = sample
    tags = taxonomy.tag(title, text)
    assert "defense" in tags
    assert not {"sports", "culture", "immigration"} & set(tags)


@pytest.mark.parametrize("words", ["Jerome Powell Attends", "Federal Reserve Chair"])
def test_sample_fed_and_powell_headlines_are_economy(
    taxonomy: Taxonomy, sample: tuple[str, str, list[str]], words: str
) -> None:
    assert "economy" in taxonomy.tag(headline(sample, words))


def test_sample_ai_semiconductor_headline_is_technology(
    taxonomy: Taxonomy, sample: tuple[str, str, list[str]]
) -> None:
    assert "technology" in taxonomy.tag(headline(sample, "AI, Semiconductor"))


@pytest.mark.parametrize("words", ["Immigration Raids Continue", "ICE Enforcement", "ICE Funding"])
def test_sample_immigration_headlines_are_immigration(
    taxonomy: Taxonomy, sample: tuple[str, str, list[str]], words: str
) -> None:
    assert "immigration" in taxonomy.tag(headline(sample, words))


def test_sample_other_headlines_are_sensible(taxonomy: Taxonomy, sample: tuple[str, str, list[str]]) -> None:
    assert "trade" in taxonomy.tag(headline(sample, "Tariff Hike"))
    assert "diplomacy" in taxonomy.tag(headline(sample, "Ukraine Peace Talks"))
    assert "law-courts" in taxonomy.tag(headline(sample, "$10 Billion Lawsuit"))
    # Every headline gets a topic, and none is filed under sport or culture.
    for line in sample[2]:
        tags = taxonomy.tag(line)
        assert tags, line
        assert not {"sports", "culture"} & set(tags), line
