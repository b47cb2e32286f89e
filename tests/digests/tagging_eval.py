"""How well a taxonomy tags labelled news: the figures of issue 12, shared by the quality tests and benchmarks.

The evaluation sets are never fitted on:
- `labelled_headlines.tsv`: real items from the news snapshots plus wire-style headlines, labelled by
  hand with every topic that applies (see its header);
- `heldout_news.tsv`: one HuffPost row in five, with its section mapped to one topic (see
  tools/build_topic_examples.py, which keeps these rows out of the training file);
- `heldout_uk_news.tsv`: the validation split of MasakhaNEWS's English BBC articles, with their section
  mapped to one topic: another outlet, country and labelling than most of the training rows.

Figures, over the stories that have a label: per-topic precision and recall (topics with at least
MIN_STORIES labelled stories), their macro means, mis-tagged (tagged, but no tag right), untagged, and
topics per story. The "coarse" figures map topics to the five classes of common news collections
(business, science/technology, sport, entertainment, world/politics; energy-climate is neutral), as
the outside measurement of the issue does, and count again over the stories of a class: per-class
precision and recall, mis-tagged (a class given, none right: a second politics topic beside the right
one is no error there), untagged (no class given) and classes per story.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from statistics import mean

from digests.topics import Taxonomy

DATA = Path(__file__).parent / "data"
LABELLED = DATA / "labelled_headlines.tsv"
HELD_OUT = DATA / "heldout_news.tsv"
HELD_OUT_UK = DATA / "heldout_uk_news.tsv"
MIN_STORIES = 5
COARSE = {
    "economy": "business", "trade": "business", "technology": "sci-tech", "science-health": "sci-tech",
    "sports": "sport", "culture": "entertainment", "defense": "world", "diplomacy": "world",
    "us-politics": "world", "immigration": "world", "law-courts": "world", "elections": "world",
}


@dataclass(frozen=True)
class Labelled:
    source: str
    title: str
    summary: str
    topics: frozenset[str]


def read_labelled(path: Path) -> list[Labelled]:
    """The rows of an evaluation file: source, title, summary, topics ("-" for none)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    assert lines[0] == "source\ttitle\tsummary\ttopics"
    rows = []
    for line in lines[1:]:
        source, title, summary, topics = line.split("\t")
        rows.append(Labelled(source, title, summary, frozenset() if topics == "-" else frozenset(topics.split(","))))
    return rows


@dataclass(frozen=True)
class Quality:
    """The figures of one taxonomy on one evaluation set."""

    stories: int
    precision: dict[str, float]
    recall: dict[str, float]
    mis_tagged: float
    untagged: float
    topics_per_story: float
    coarse_recall: dict[str, float]
    coarse_precision: dict[str, float]
    coarse_mis_tagged: float
    coarse_untagged: float
    classes_per_story: float
    untopical_kept_untagged: float

    @property
    def macro_recall(self) -> float:
        return mean(self.recall.values())

    @property
    def macro_precision(self) -> float:
        return mean(self.precision[slug] for slug in self.recall)

    @property
    def coarse_macro_recall(self) -> float:
        return mean(self.coarse_recall.values())


def measure(taxonomy: Taxonomy, rows: list[Labelled]) -> Quality:
    """Tag every row and compare with its labels."""
    tagged = [frozenset(tags) for tags in taxonomy.tag_many([(row.title, row.summary) for row in rows])]
    pairs = list(zip((row.topics for row in rows), tagged, strict=True))
    labelled = [(want, got) for want, got in pairs if want]
    precision, recall = {}, {}
    for slug in (topic.slug for topic in taxonomy):
        expected = [got for want, got in pairs if slug in want]
        if len(expected) >= MIN_STORIES:
            recall[slug] = sum(slug in got for got in expected) / len(expected)
            given = [want for want, got in pairs if slug in got]
            precision[slug] = sum(slug in want for want in given) / len(given) if given else 0.0
    classes = [(_classes(want), _classes(got)) for want, got in labelled]
    classes = [(want, got) for want, got in classes if want]
    names = sorted({name for want, _ in classes for name in want})
    untopical = [not got for want, got in pairs if not want]
    return Quality(
        stories=len(rows),
        precision=precision,
        recall=recall,
        mis_tagged=sum(bool(got) and not want & got for want, got in labelled) / len(labelled),
        untagged=sum(not got for _, got in labelled) / len(labelled),
        topics_per_story=sum(len(got) for _, got in labelled) / len(labelled),
        coarse_recall={name: mean(name in got for want, got in classes if name in want) for name in names},
        coarse_precision={name: mean([name in want for want, got in classes if name in got] or [0.0])
                          for name in names},
        coarse_mis_tagged=mean(bool(got) and not want & got for want, got in classes),
        coarse_untagged=mean(not got for _, got in classes),
        classes_per_story=mean(len(got) for _, got in classes),
        untopical_kept_untagged=mean(untopical) if untopical else 1.0,
    )


def _classes(topics: frozenset[str]) -> frozenset[str]:
    return frozenset(COARSE[slug] for slug in topics if slug in COARSE)


def report(name: str, quality: Quality) -> str:
    """The figures as a few lines of text."""
    lines = [
        f"{name} ({quality.stories} stories): macro recall {quality.macro_recall:.2f}, macro precision "
        f"{quality.macro_precision:.2f}, mis-tagged {quality.mis_tagged:.1%}, untagged {quality.untagged:.1%}, "
        f"{quality.topics_per_story:.2f} topics/story, untopical left untagged {quality.untopical_kept_untagged:.0%}",
        f"  coarse classes: macro recall {quality.coarse_macro_recall:.2f}, "
        f"mis-tagged {quality.coarse_mis_tagged:.1%}, "
        f"untagged {quality.coarse_untagged:.1%}, {quality.classes_per_story:.2f} classes/story; precision / recall: "
        + ", ".join(f"{k} {quality.coarse_precision[k]:.2f} / {v:.2f}" for k, v in quality.coarse_recall.items()),
        "  topic            precision  recall",
        *(f"  {slug:<16} {quality.precision[slug]:>9.2f}  {quality.recall[slug]:.2f}" for slug in quality.recall),
    ]
    return "\n".join(lines)
