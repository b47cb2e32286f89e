"""A deterministic generator of realistic news stories for the benchmarks.

Stories have wire/BBC-style headlines built from the templates and vocabulary of
`tests.benchmarks.vocabulary` across all thirteen topics, one- or two-sentence summaries, bodies of
a few paragraphs for about a third of them (the rest are headline-and-summary items, as most feeds
carry), about forty outlets weighted like a general-news mix, URLs with tracking parameters on
many of them. The stream runs in time, as feeds deliver: the stories arrive evenly over the `hours`
before `anchor`, each published up to half an hour before it arrives, so a store's ids follow time
as a deployment's do.

Like real feeds, the stream repeats itself a little: a few stories come again with other tracking
parameters (the same article: dedupe must drop them) and a few headlines are carried by a second
outlet under its own URL (syndication: digests list those outlets as "also").

The same seed and anchor always give the same stories.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from tests.benchmarks.vocabulary import (
    GENERIC,
    HEADLINES,
    PREDICATES,
    SECTIONS,
    SENTENCES,
    SLOTS,
    SOURCES,
    SUBJECTS,
    TOPIC_WEIGHTS,
)
from tests.benchmarks.vocabulary_sparse import PLACES, SENTENCE_FORMS, WORDS

DEFAULT_SEED = 20_260_101
# Bump when the generated stories change, so cached data sets built from older output are rebuilt.
GENERATOR_VERSION = 3

T = TypeVar("T")
_SLOT_RE = re.compile(r"\{(\w+)\}")
_SLUG_DROP_RE = re.compile(r"[^a-z0-9]+")
_TRACKING = (
    "?utm_source=rss&utm_medium=feed&utm_campaign={campaign}",
    "?at_medium=RSS&at_campaign=KARANGA",
    "?utm_source=twitter&utm_medium=social",
    "?ocid=rss&cmpid=feed",
    "?fbclid=IwAR{campaign}",
    "?smid=nytcore-ios-share&ref=homepage",
)
_QUALIFIERS = (
    "", "", "", "", "", "", " – live updates", " – report", ", officials say", ", sources say",
    " amid growing pressure", " as talks continue", " after {weekday} meeting", " – what we know",
)
_PREFIXES = ("", "", "", "", "", "", "", "", "Analysis: ", "Explainer: ", "Live: ", "Exclusive: ")


@dataclass(frozen=True, slots=True)
class GeneratedStory:
    """One generated story, in the terms of the JSON Lines format (docs/sources.md)."""

    title: str
    url: str
    canonical_url: str
    source: str
    summary: str
    body: str | None
    published: datetime | None
    topics: tuple[str, ...]
    arrived: datetime  # when a feed poll would have brought it in

    def as_json(self) -> dict[str, object]:
        """The JSON Lines object of this story (no `topics`: the tagger finds them, as for most feeds)."""
        record: dict[str, object] = {"title": self.title, "url": self.url, "source": self.source,
                                     "summary": self.summary}
        if self.body:
            record["body"] = self.body
        if self.published is not None:
            record["published"] = self.published.isoformat()
        return record


class StoryGenerator:
    """Produces `GeneratedStory` values from a seed; iterate `stories(count)`."""

    def __init__(self, *, seed: int = DEFAULT_SEED, anchor: datetime, hours: float = 48.0,
                 duplicate_rate: float = 0.02, syndicate_rate: float = 0.04, body_rate: float = 0.35) -> None:
        if anchor.tzinfo is None:
            raise ValueError("anchor must be timezone-aware")
        self.rng = random.Random(seed)
        self.anchor = anchor
        self.span_seconds = hours * 3600.0
        self.duplicate_rate = duplicate_rate
        self.syndicate_rate = syndicate_rate
        self.body_rate = body_rate
        self._random = self.rng.random
        # Weighted choices as uniform picks from lists where each item appears `weight` times.
        self._topics = [slug for slug, weight in TOPIC_WEIGHTS.items() for _ in range(weight)]
        self._sources = [(name, domain) for name, domain, share in SOURCES for _ in range(share)]
        self._recent: list[GeneratedStory] = []
        self._serial = 0
        self._arrival = anchor - timedelta(seconds=self.span_seconds)
        self._step = timedelta(0)

    def stories(self, count: int) -> Iterator[GeneratedStory]:
        """`count` stories, repeats and syndicated copies included, arriving evenly until `anchor`."""
        self._step = timedelta(seconds=self.span_seconds / max(count, 1))
        for _ in range(count):
            self._arrival += self._step
            yield self.next_story()

    def next_story(self) -> GeneratedStory:
        """The next story of the stream."""
        roll = self._random()
        if self._recent and roll < self.duplicate_rate:
            return self._repeat(self._pick(self._recent))
        if self._recent and roll < self.duplicate_rate + self.syndicate_rate:
            return self._syndicate(self._pick(self._recent))
        story = self._fresh()
        if len(self._recent) < 500:
            self._recent.append(story)
        else:
            self._recent[int(self._random() * 500)] = story
        return story

    def _fresh(self) -> GeneratedStory:
        rnd = self._random
        topic = self._pick(self._topics)
        topics = (topic,)
        if rnd() < 0.15:
            second = self._pick(self._topics)
            if second != topic:
                topics = (topic, second)
        title = self._pick(_PREFIXES) + self._headline(topic) + self._fill(self._pick(_QUALIFIERS))
        source, domain = self._pick(self._sources)
        published = self._published()
        summary = "" if rnd() < 0.08 else self._paragraph(topics, 1 + (rnd() < 0.5))
        body = None
        if rnd() < self.body_rate:
            paragraphs = [summary or self._paragraph(topics, 2)]
            paragraphs += [self._paragraph(topics, 2 + (rnd() < 0.5)) for _ in range(2 + int(rnd() * 3))]
            body = "\n\n".join(paragraphs)
        return self._with_url(title, source, domain, topics[0], summary, body, published, topics)

    def _headline(self, topic: str) -> str:
        """A whole-sentence template (a third of the time) or a subject with a predicate."""
        if self._random() < 0.33:
            return self._fill(self._pick(HEADLINES[topic]))
        return self._fill(self._pick(SUBJECTS[topic]) + " " + self._pick(PREDICATES[topic]))

    def _repeat(self, story: GeneratedStory) -> GeneratedStory:
        """The same article again, reached through another tracking link."""
        url = story.canonical_url + self._fill(self._pick(_TRACKING))
        return GeneratedStory(story.title, url, story.canonical_url, story.source, story.summary, story.body,
                              story.published, story.topics, self._arrival)

    def _syndicate(self, story: GeneratedStory) -> GeneratedStory:
        """The same headline carried by another outlet, at its own URL."""
        source, domain = self._pick(self._sources)
        return self._with_url(story.title, source, domain, story.topics[0], story.summary, None, story.published,
                              story.topics)

    def _with_url(self, title: str, source: str, domain: str, topic: str, summary: str, body: str | None,
                  published: datetime | None, topics: tuple[str, ...]) -> GeneratedStory:
        self._serial += 1
        moment = published or self.anchor
        day = f"{moment.year:04d}/{moment.month:02d}/{moment.day:02d}"
        slug = _SLUG_DROP_RE.sub("-", title.lower()).strip("-")[:60].rstrip("-")
        canonical = f"https://{domain}/{SECTIONS[topic]}/{day}/{slug}-{self._serial:x}"
        url = canonical + (self._fill(self._pick(_TRACKING)) if self._random() < 0.35 else "")
        return GeneratedStory(title, url, canonical, source, summary, body, published, topics, self._arrival)

    def _published(self) -> datetime | None:
        if self._random() < 0.04:
            return None  # feeds without dates: the store counts these from their ingest time
        return self._arrival - timedelta(seconds=self._random() * 1800)

    def _paragraph(self, topics: tuple[str, ...], sentences: int) -> str:
        picked = []
        for index in range(sentences):
            pool = SENTENCES[topics[index % len(topics)]] if self._random() < 0.7 else GENERIC
            picked.append(self._fill(self._pick(pool)))
        return " ".join(picked)

    def _slot(self, match: re.Match[str]) -> str:
        return self._pick(SLOTS.get(match[1]) or (match[1],))

    def _pick(self, items: Sequence[T]) -> T:
        """A uniformly random item (`random.choice` without its overhead)."""
        return items[int(self._random() * len(items))]

    def _fill(self, template: str) -> str:
        if "{" not in template:
            return template
        if template.endswith("{campaign}"):
            return template.replace("{campaign}", f"{self.rng.getrandbits(32):08x}")
        return _SLOT_RE.sub(self._slot, template)


class SparseStoryGenerator(StoryGenerator):
    """Stories in the words of `vocabulary_sparse`: "subject verb object in place" headlines.

    Everything else (outlets, times, URLs, bodies, syndicated copies) is as `StoryGenerator` makes it.
    """

    def __init__(self, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self._words = {topic: tuple(part.split() for part in parts) for topic, parts in WORDS.items()}

    def _headline(self, topic: str) -> str:
        subjects, verbs, objects = self._words[topic]
        headline = f"{self._pick(subjects)} {self._pick(verbs)} {self._pick(objects)} in {self._pick(PLACES)}"
        return headline[0].upper() + headline[1:]

    def _paragraph(self, topics: tuple[str, ...], sentences: int) -> str:
        picked = []
        for index in range(sentences):
            subjects, verbs, objects = self._words[topics[index % len(topics)]]
            picked.append(self._pick(SENTENCE_FORMS).format(
                subject=self._pick(subjects), verb=self._pick(verbs), object=self._pick(objects),
                place=self._pick(PLACES)))
        return " ".join(picked)


# The benchmark stores' vocabularies, by the name `--vocabulary` and the cache use.
GENERATORS: dict[str, type[StoryGenerator]] = {"wire": StoryGenerator, "sparse": SparseStoryGenerator}
