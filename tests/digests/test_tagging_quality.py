"""Tagging quality of the built-in taxonomy on labelled news it was never fitted on, and on the sample briefing.

The evaluation sets and figures are described in tests/digests/tagging_eval.py. The floors sit a
little under what the tagger achieved when they were written (python -m tests.benchmarks --only T1
prints the figures), so a change to the taxonomy, its examples or the model that makes tagging
clearly worse fails here. The keyword rules alone keep their own floors: they are what an operator
without the semantic extra gets.
"""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest

import digests
from digests.topics import Taxonomy, load_taxonomy
from tests.digests.tagging_eval import HELD_OUT, HELD_OUT_UK, LABELLED, Quality, measure, read_labelled

SAMPLE = Path(digests.__file__).parent / "data" / "sample-briefing.txt"
TRAINING = Path(digests.__file__).parent / "data" / "topic_examples.tsv.gz"


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


@pytest.fixture(scope="module")
def labelled(taxonomy: Taxonomy) -> Quality:
    return measure(taxonomy, read_labelled(LABELLED))


@pytest.fixture(scope="module")
def held_out(taxonomy: Taxonomy) -> Quality:
    return measure(taxonomy, read_labelled(HELD_OUT))


@pytest.fixture(scope="module")
def held_out_uk(taxonomy: Taxonomy) -> Quality:
    return measure(taxonomy, read_labelled(HELD_OUT_UK))


def test_labelled_set_is_large_and_covers_every_topic(taxonomy: Taxonomy) -> None:
    rows = read_labelled(LABELLED)
    assert len(rows) >= 250
    assert len({row.title for row in rows}) == len(rows)
    slugs = {t.slug for t in taxonomy}
    counts = Counter(slug for row in rows for slug in row.topics)
    assert set(counts) == slugs  # no label outside the taxonomy, no topic without labels
    assert min(counts.values()) >= 5
    assert sum(1 for row in rows if not row.topics) >= 15  # stories that belong to no topic


def test_no_evaluation_story_is_among_the_examples_fitted_on(taxonomy: Taxonomy) -> None:
    fitted = {line.split("\t")[1] for line in gzip.decompress(TRAINING.read_bytes()).decode().splitlines()
              if not line.startswith("#")}
    fitted |= {example for topic in taxonomy for example in topic.examples}
    evaluation = {row.title for path in (LABELLED, HELD_OUT, HELD_OUT_UK) for row in read_labelled(path)}
    assert len(read_labelled(HELD_OUT)) >= 1000
    assert len(read_labelled(HELD_OUT_UK)) >= 400
    assert not fitted & evaluation


def test_the_semantic_tagger_is_in_use(taxonomy: Taxonomy) -> None:
    assert taxonomy.uses_semantic  # the test extra installs it; without it every floor below is moot


def test_labelled_headlines_are_tagged_with_their_topics(labelled: Quality) -> None:
    assert labelled.macro_recall >= 0.80
    assert labelled.macro_precision >= 0.70
    assert labelled.coarse_macro_recall >= 0.90
    assert labelled.coarse_mis_tagged <= 0.03  # 1.7 % until Wikipedia's current events were fitted on, 0.9 % after
    assert labelled.mis_tagged <= 0.09
    # 2.1 % until a text's keyword counted when the model supports it, 1.3 % after, 0.8 % with Wikipedia's
    # current events among the examples.
    assert labelled.untagged <= 0.012
    assert labelled.topics_per_story <= 1.6


def test_each_topic_is_sane(labelled: Quality) -> None:
    broken = {slug: (labelled.precision[slug], recall) for slug, recall in labelled.recall.items()
              if recall < 0.55 or labelled.precision[slug] < 0.45}
    assert not broken


def test_held_out_news_is_tagged_with_its_section(held_out: Quality) -> None:
    assert held_out.macro_recall >= 0.73
    # 20.3 % before the head read a text's bag of tokens, 16.7 % after; 18.9 % with Wikipedia's current events
    # among the examples, whose conflict news makes "Defense" as likely as "Diplomacy & World" for a war story
    # (HuffPost files those under WORLD NEWS alone: the coarse class is still right).
    assert held_out.mis_tagged <= 0.195
    assert held_out.coarse_macro_recall >= 0.77
    # 12.8 % before the model's vectors were tuned, 11.4 % after, 12.0 % with MasakhaNEWS's raw annotations
    # (1,598 BBC rows, most of them sport, technology and health, which lift the held-out BBC set below),
    # 10.5 % with a weaker penalty on the head and a runner-up half as likely as the top topic kept, 8.6 %
    # with the bag of tokens. 9.8 % with Wikipedia's current events among the examples: news of every other
    # outlet is tagged better (the held-out BBC set below; see tools/build_topic_examples.py), HuffPost's own
    # sections a little worse. 10.2 % with Wikinews articles among the examples too: again, other outlets gain
    # (unseen BBC and HuffPost rows, README), and HuffPost's share of the examples falls.
    assert held_out.coarse_mis_tagged <= 0.105
    assert held_out.untagged <= 0.03
    assert held_out.topics_per_story <= 1.6


def test_held_out_uk_news_is_tagged_with_its_section(held_out_uk: Quality) -> None:
    # One section label a story, and BBC sections are broad (an NHS strike is "health"), so the five
    # coarse classes are what is held to account here.
    # Before the model's vectors were tuned: 0.81 and 14.6 %; after: 0.84 and 12.1 %; with MasakhaNEWS's
    # raw annotations among the examples: 0.85, 11.3 % and 2.5 % untagged; with a weaker penalty on the head
    # and a runner-up half as likely as the top topic kept: 0.89, 8.9 % and 1.7 %; with the head reading a
    # text's bag of tokens too: 0.91, 7.9 % and 1.1 %; with a text's keyword counted when the model supports
    # its topic: 0.91, 7.4 % and 0.6 %; with Wikipedia's current events among the examples: 0.92, 6.4 % and
    # 1.1 % (five stories of 471 untagged instead of three); with Wikinews articles too: 0.92, 7.0 % and 1.1 %
    # (three more stories mis-tagged; the BBC's stories with no BBC row fitted on gain: README).
    assert held_out_uk.coarse_macro_recall >= 0.91
    assert held_out_uk.coarse_mis_tagged <= 0.075
    assert held_out_uk.coarse_untagged <= 0.012
    assert held_out_uk.classes_per_story <= 1.3


def test_keyword_rules_alone_stay_precise() -> None:
    keywords = measure(load_taxonomy(tagger="keywords"), read_labelled(LABELLED))
    assert keywords.macro_precision >= 0.90
    assert keywords.macro_recall >= 0.70
    assert keywords.untopical_kept_untagged >= 0.8  # stories of no topic mostly stay untagged


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
