"""T1 and T2: topic tagging quality on the evaluation sets, and semantic tagging speed.

T1 prints, for each evaluation set of tests/digests/tagging_eval.py (never fitted on), the figures
issue 12 sets targets for: macro recall, mis-tagged, untagged and topics per story, with per-topic
precision and recall in the details and the log; then the same four on the five coarse classes the
issue's outside collections are measured on (T1.*.coarse). T2 tags generated stories (title and summary, as
ingest does) in batches of 500: the semantic model alone, then the whole tagger (keywords and model).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from digests.topics import load_taxonomy, semantic_text
from tests.benchmarks.context import Context
from tests.benchmarks.generator import StoryGenerator
from tests.benchmarks.report import Figure
from tests.digests.tagging_eval import HELD_OUT, HELD_OUT_UK, LABELLED, measure, read_labelled, report

BATCH = 500


def run_t1(context: Context) -> list[Figure]:
    """Quality of the built-in taxonomy with the semantic tagger, then with keywords alone, on each set."""
    figures = []
    for tagger in ("semantic", "keywords"):
        taxonomy = load_taxonomy(tagger=tagger)
        for key, name, path in (("labelled", "labelled headlines", LABELLED),
                                ("heldout", "held-out HuffPost", HELD_OUT),
                                ("heldout-uk", "held-out BBC (MasakhaNEWS)", HELD_OUT_UK)):
            quality = measure(taxonomy, read_labelled(path))
            context.log(f"T1 ({tagger}) " + report(name, quality))
            figure_id = f"T1.{key}.{'sem' if tagger == 'semantic' else 'kw'}"
            figures.append(_figure(
                figure_id, f"tagging {name} ({quality.stories}), {tagger}", quality.macro_recall, quality.mis_tagged,
                quality.untagged, quality.topics_per_story, "story",
                {"precision": quality.precision, "recall": quality.recall, "mis_tagged": quality.mis_tagged,
                 "untagged": quality.untagged, "topics_per_story": quality.topics_per_story,
                 "untopical_left_untagged": quality.untopical_kept_untagged}))
            figures.append(_figure(
                f"{figure_id}.coarse", "the same, five coarse classes", quality.coarse_macro_recall,
                quality.coarse_mis_tagged, quality.coarse_untagged, quality.classes_per_story, "story (classes)",
                {"precision": quality.coarse_precision, "recall": quality.coarse_recall,
                 "mis_tagged": quality.coarse_mis_tagged, "untagged": quality.coarse_untagged,
                 "classes_per_story": quality.classes_per_story}))
    return figures


def _figure(figure_id: str, what: str, recall: float, mis_tagged: float, untagged: float, per_story: float,
            unit: str, details: dict) -> Figure:
    met = recall >= 0.90 and mis_tagged <= 0.08 and untagged <= 0.03 and per_story <= 1.6
    return Figure(
        figure_id, what,
        f"recall {recall:.2f} · mis-tag {mis_tagged:.1%} · untagged {untagged:.1%} · {per_story:.2f}/{unit}",
        "recall ≥ 0.90, mis-tag ≤ 8 %, untagged ≤ 3 %, ≤ 1.6/story", met, recall, "recall", details)


def run_t2(context: Context) -> list[Figure]:
    """Stories per second: the semantic model's probabilities, and the full tagger."""
    count = 2_000 if context.quick else 20_000
    taxonomy = load_taxonomy(tagger="semantic")
    model = taxonomy.semantic_tagger
    generated = StoryGenerator(seed=context.seed, anchor=datetime.now(UTC)).stories(count)
    stories = [(story.title, story.summary or "") for story in generated]
    batches = [stories[i:i + BATCH] for i in range(0, count, BATCH)]
    started = time.perf_counter()
    for batch in batches:
        model.probabilities([semantic_text(title, text) for title, text in batch])
    model_rate = count / (time.perf_counter() - started)
    started = time.perf_counter()
    for batch in batches:
        taxonomy.tag_many(batch)
    full_rate = count / (time.perf_counter() - started)
    context.log(f"T2: semantic model {model_rate:,.0f} stories/s; keywords + model {full_rate:,.0f} stories/s")
    return [
        Figure("T2", f"semantic tagging of {count:,} stories, batches of {BATCH}", f"{model_rate:,.0f} stories/s",
               "≥ 1,000 stories/s", model_rate >= 1_000, model_rate, "stories/s"),
        Figure("T2.full", "the whole tagger (keyword rules and semantic model)", f"{full_rate:,.0f} stories/s",
               "≥ 1,000 stories/s", full_rate >= 1_000, full_rate, "stories/s"),
    ]
