"""Rebuild the labelled corpora of the semantic tagger from openly licensed news collections.

Not part of the product: run by a maintainer when the sources or the mapping change.

    python tools/build_topic_examples.py HUFFPOST_JSON [UCI_CSV ...]

- HUFFPOST_JSON: the News Category Dataset (Rishabh Misra, CC BY 4.0), one JSON object a line with
  headline, short_description and category; any prefix of it works (the one used holds its 9,998
  newest rows, 2018-05 to 2022-09).
- UCI_CSV: the UCI News Aggregator dataset (CC BY 4.0), columns TITLE and CATEGORY; only its
  business rows are used (its other classes are too coarse: "t" mixes science and technology).

Each HuffPost row is mapped from its section to a topic slug ("-" for sections that are no topic)
and split by a hash of its headline: one row in five goes to the held-out evaluation set
(tests/digests/data/heldout_news.tsv), never to the training file (digests/data/topic_examples.tsv.gz).
Sections that mix topics (U.S. NEWS, COMEDY, MEDIA, IMPACT, the identity sections) are left out.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAINING = ROOT / "digests" / "data" / "topic_examples.tsv.gz"
HELD_OUT = ROOT / "tests" / "digests" / "data" / "heldout_news.tsv"

HUFFPOST_SECTIONS = {
    "POLITICS": "us-politics", "WORLD NEWS": "diplomacy", "THE WORLDPOST": "diplomacy", "WORLDPOST": "diplomacy",
    "BUSINESS": "economy", "MONEY": "economy", "TECH": "technology", "SCIENCE": "science-health",
    "WELLNESS": "science-health", "HEALTHY LIVING": "science-health", "SPORTS": "sports",
    "ENTERTAINMENT": "culture", "CULTURE & ARTS": "culture", "ARTS": "culture", "ARTS & CULTURE": "culture",
    "ENVIRONMENT": "energy-climate", "GREEN": "energy-climate", "CRIME": "law-courts",
    "STYLE & BEAUTY": "-", "STYLE": "-", "HOME & LIVING": "-", "FOOD & DRINK": "-", "TASTE": "-",
    "PARENTING": "-", "PARENTS": "-", "TRAVEL": "-", "WEDDINGS": "-", "WEIRD NEWS": "-",
}
HEADER = """\
# Labelled news for fitting the semantic topic tagger (see digests/topics.py and digests/semantic.py).
# Columns: topic slug ("-" = no topic), title, summary. Rebuilt by tools/build_topic_examples.py.
# Sources and licences:
#   huffpost: News Category Dataset, Rishabh Misra (2022), CC BY 4.0, https://rishabhmisra.github.io/publications/
#             (sections mapped to topics; one row in five held out for evaluation, never fitted on)
#   uci:      UCI News Aggregator, Gasparetti (2017), CC BY 4.0, business headlines only
"""


HELD_OUT_HEADER = """\
# Held-out evaluation rows for the topic tagger: never fitted on (tools/build_topic_examples.py).
# Source: News Category Dataset, Rishabh Misra (2022), CC BY 4.0; HuffPost sections mapped to one topic each.
source\ttitle\tsummary\ttopics
"""


def clean(text: str) -> str:
    return " ".join(text.replace("\t", " ").split())


def held_out(headline: str) -> bool:
    return int(hashlib.sha1(headline.encode(), usedforsecurity=False).hexdigest(), 16) % 5 == 0


def main(huffpost: str, *uci_files: str) -> None:
    training: list[tuple[str, str, str]] = []
    evaluation: list[tuple[str, str, str]] = []
    with open(huffpost, encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            slug = HUFFPOST_SECTIONS.get(row["category"])
            title, summary = clean(row["headline"]), clean(row["short_description"])
            if slug is not None and title:
                (evaluation if held_out(title) else training).append((slug, title, summary))
    seen = set()
    for path in uci_files:
        with open(path, encoding="utf-8", errors="replace", newline="") as rows:
            for row in csv.DictReader(rows):
                title = clean(row["TITLE"])
                if row["CATEGORY"] == "b" and title and title not in seen:
                    seen.add(title)
                    training.append(("economy", title, ""))
    text = HEADER + "".join(f"{slug}\t{title}\t{summary}\n" for slug, title, summary in training)
    TRAINING.write_bytes(gzip.compress(text.encode(), compresslevel=9, mtime=0))  # mtime=0: reproducible bytes
    text = HELD_OUT_HEADER + "".join(f"huffpost\t{title}\t{summary}\t{slug}\n" for slug, title, summary in evaluation)
    HELD_OUT.write_text(text, encoding="utf-8")
    print(f"{len(training)} training rows, {len(evaluation)} held out")


if __name__ == "__main__":
    main(*sys.argv[1:])
