"""The topic taxonomy and the keyword tagger that assigns topics to stories at ingest.

A taxonomy is a list of topics, each with a slug, a display name, an emoji, keywords and
optional exclude phrases. The built-in one is ``digests/data/topics.toml``; a deployment can
replace it with its own TOML file (``TOPICS_FILE``; the format is documented at the top of the
built-in file).

Matching — how a keyword finds a hit:

* Whole words only: a hit may not have a letter or digit on either side, so ``AI`` never
  matches inside "said" and ``trade`` never inside "trademark". Keywords start with a letter
  or digit.
* Case: a keyword written with any capital letter (``NATO``, ``ICE``, ``Fed``) matches only with
  exactly those capitals, so ICE the agency is not "ice cream" and the Fed is not "fed up".
  An all-lowercase keyword matches in any case.
* Phrases: the words of a keyword (split at spaces and hyphens) match across any run of
  whitespace or hyphens, Unicode dashes and no-break spaces included, so ``trade war`` matches
  "trade-war" and a phrase broken by a line end.
* Inflection: the last word also matches its plural and possessive: ``tariff`` matches
  "tariffs", ``NATO`` matches "NATO's" and "NATO\u2019s", ``economy`` matches "economies".
* Overlaps: where keywords overlap, the longest wins and counts once, for every topic that has
  a keyword inside it ("Supreme Court" is one law-courts hit, not also a hit for "court").
  An ``exclude`` phrase is found the same way but counts for no topic that lists it, which
  hides that topic's keywords inside it (``trade deadline`` hides ``trade`` for the trade topic).

Scoring — when a story gets a topic: every hit in the title scores 3, every hit in the text
(summary or body; only its first 3,000 characters are read) scores 1, and a topic is assigned
when its score reaches 3. So one keyword in a headline is enough, while the body alone needs
three hits: one passing mention of "trade" deep in an article does not make it a trade story.

Semantic tagging — most real news names no keyword of its topic, so where the ``semantic`` extra
is installed the keywords are joined by the semantic tagger (digests/semantic.py), fitted to the
taxonomy's examples: each topic's ``description`` and ``examples``, the ``no_topic_examples``, and
the labelled rows of ``examples_file``. A story then gets its likeliest topic (none when "no topic"
is likelier, or the likeliest is under LIKELIEST_MIN) and a second one only when it clearly belongs
there too: a keyword topic, or the semantic runner-up at SECOND_MIN or more or at least SECOND_RATIO
times as likely as the likeliest (a story the model finds torn between two topics); at most MAX_TOPICS.
Keyword topics come first, so a rule an operator wrote is never overruled by the model, which only
adds what the rules missed (cross-validation agreed: macro recall 0.900 against 0.893 when the
model's topic came before a second keyword topic). With the model, a keyword the text names but the
headline does not (a score of 1 or 2, too weak alone) counts too when the model finds that topic at
least SUPPORTED_MIN likely: each half of the evidence is weak, both together are not. A topic
without examples is found by its keywords alone.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import threading
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from digests import semantic
from digests.errors import ConfigError, NotFoundError
from digests.tag_text import headline_read, text_read

log = logging.getLogger(__name__)

TITLE_WEIGHT = 3
TEXT_WEIGHT = 1
THRESHOLD = 3
TEXT_PREFIX_CHARS = 3_000
SEMANTIC_TEXT_CHARS = 300
# How the semantic tagger's probabilities become topics (see the module docstring), from 5-fold
# cross-validation on the built-in taxonomy's written examples, never on the evaluation sets.
# LIKELIEST_MIN 0.2 left 65 % of no-topic examples untagged (56 % at 0) at no cost in recall; 0.25
# began to leave topical stories untagged. A runner-up at 0.2 scored a little better (macro recall
# 0.92 against 0.89) but put second topics on stories that only brush them ("power rivalry" as
# sport): SECOND_MIN 0.3 keeps the restraint. Checked again when the head became a logistic regression,
# by 5-fold cross-validation on all built-in examples: LIKELIEST_MIN 0.1 / 0.2 / 0.3 gave untagged
# 1.6 / 1.8 / 3.6 %, and SECOND_MIN 0.2 / 0.3 / 0.4 recall 0.869 / 0.856 / 0.850 at 1.53 / 1.44 / 1.41
# topics a story, so both stay.
# A runner-up at least half as likely as the likeliest topic is kept too (SECOND_RATIO): cross-validated
# on the same examples (INVERSE_PENALTY 3), coarse recall · mis-tagged · topics a story went 0.872 · 10.3 % ·
# 1.31 → 0.884 · 9.2 % · 1.36 (the MasakhaNEWS rows 0.849 · 11.6 % → 0.870 · 10.0 %), precision 0.74 → 0.73;
# a ratio of 0.35 or SECOND_MIN 0.2 gained a little more (0.890 · 8.5 %) at 1.40 topics a story, half of
# the added second topics being ones a reader would not file the story under ("railway" as sport).
# A keyword topic under THRESHOLD that the model finds at least SUPPORTED_MIN likely (see the docstring),
# after the likeliest topic (weak evidence does not displace it): cross-validated on the training rows
# (five folds, five coarse classes, recall · mis-tagged · untagged · topics a story), 0.905 · 7.6 % · 1.7 %
# · 1.36 → 0.913 · 7.3 % · 1.5 % · 1.39; fitted without any BBC row and scored on the BBC rows (another
# outlet), 0.799 · 15.3 % · 5.0 % · 1.40 → 0.830 · 13.4 % · 3.6 % · 1.45. Before the likeliest topic it
# scored the same (7.4 % · 0.832 · 13.2 %); so placed, at 0.02 the other outlet gained a little more (0.837 ·
# 12.8 %) and the folds lost (7.7 % mis-tagged), at 0 more so (8.2 %); at 0.1 and 0.15 both gained less.
SUPPORTED_MIN = 0.05
LIKELIEST_MIN = 0.2
SECOND_MIN = 0.3
SECOND_RATIO = 0.5
MAX_TOPICS = 2
# A topic's own description and examples weigh more than one row of a labelled corpus.
EXAMPLE_WEIGHT = 3.0
TAGGERS = ("auto", "keywords", "semantic")

_SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_REQUIRED_KEYS = ("slug", "name", "keywords")
_KNOWN_KEYS = frozenset({"slug", "name", "emoji", "keywords", "exclude", "description", "examples"})
_KNOWN_TOP_KEYS = frozenset({"topic", "no_topic_examples", "examples_file"})
_DEFAULT_EMOJI = "📰"

_DASHES = "\u2010\u2011\u2012\u2013\u2014"
# A keyword is split into words at whitespace and hyphens; in text the words may be separated by
# any run of whitespace (incl. no-break space) and hyphens/dashes.
_WORD_SPLIT = re.compile(r"[\s\-]+")
_JOINER = rf"[\s\-{_DASHES}]+"
_APOSTROPHES = "'\u2019"
_POSSESSIVE = f"(?:[{_APOSTROPHES}]s?)?"
# Punctuation that may touch a word; replaced by spaces before splitting a text into words
# (chained str.replace and str.split are several times faster than a tokenising regex).
_SEPARATORS = (*"-'\".,:;!?()[]/#|", *_DASHES, *"\u2018\u2019\u201c\u201d\u00ab\u00bb\u2026")


@dataclass(frozen=True)
class Topic:
    """One topic of the taxonomy and the keyword rules that select its stories."""

    slug: str
    name: str
    emoji: str
    keywords: tuple[str, ...]
    exclude: tuple[str, ...] = field(default=())
    description: str = ""
    examples: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        """The emoji and display name, as shown to users."""
        return f"{self.emoji} {self.name}".strip()


def _inflection(word: str) -> tuple[str, str, str]:
    """Split a keyword's last word into (stem, regex for its endings, lowercase plural ending)."""
    lower = word.lower()
    if len(word) > 2 and lower.endswith("y") and lower[-2] not in "aeiou":
        return word[:-1], f"(?:{re.escape(word[-1])}|ies)", "ies"  # economy, economies
    # "es" only after sibilants, so "war" does not match "wares"; acronyms take "s" (EVs).
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return word, "(?:es)?", "es"
    return word, "s?", "s"


def _literal(word: str) -> str:
    """Regex matching word literally, either apostrophe standing for both."""
    return "".join(f"[{_APOSTROPHES}]" if c in _APOSTROPHES else re.escape(c) for c in word)


def _pattern(keyword: str) -> str:
    """Regex for one keyword with its case rule applied, without word-boundary guards."""
    *head, last = _WORD_SPLIT.split(keyword)
    stem, endings, _ = _inflection(last)
    body = _JOINER.join([*map(_literal, head), _literal(stem) + endings + _POSSESSIVE])
    return body if keyword != keyword.lower() else f"(?i:{body})"


def _words(lower: str) -> list[str]:
    """The words of a lowercased text, split at whitespace and punctuation."""
    for mark in _SEPARATORS:
        lower = lower.replace(mark, " ")
    return lower.split()


def _triggers(keyword: str) -> set[str]:
    """Lowercase words of which one must occur in a text for the keyword to match there."""
    lower = keyword.lower()
    words = _words(lower)
    if words[0] != lower:
        return {words[0]}  # the first word of a phrase is never inflected
    stem, _, plural = _inflection(lower)
    return {lower, stem.lower() + plural}


class _Matcher:
    """Finds the keywords and exclude phrases of every topic in a text in one pass.

    Scanning a text with a regex alternation of hundreds of keywords is slow in Python, so the
    text is split into words (plain string methods, fast), the words that can start a keyword are
    picked out with a set intersection, and only where one occurs are the few keywords starting
    with that word tried, longest first.
    """

    __slots__ = ("_excludes", "_finders", "_groups", "_size", "_topic_finders", "_triggers")

    def __init__(self, topics: tuple[Topic, ...]) -> None:
        phrases = sorted({p for t in topics for p in (*t.keywords, *t.exclude)}, key=lambda p: (-len(p), p))
        self._topic_finders = [
            re.compile(r"(?<!\w)(?:" + "|".join(_pattern(k) for k in t.keywords) + r")(?!\w)") for t in topics
        ]
        self._excludes = [frozenset(t.exclude) for t in topics]
        self._groups: dict[str, list[str]] = {}
        for phrase in phrases:
            for word in _triggers(phrase):
                self._groups.setdefault(word, []).append(phrase)
        # A trigger word's finder is compiled the first time a text holds the word: compiling all
        # of them (1,200 regexes for the built-in taxonomy) was a third of a second of every start.
        self._finders: dict[str, tuple[re.Pattern[str], tuple[tuple[int, ...], ...]]] = {}
        self._triggers = frozenset(self._groups)
        self._size = len(topics)

    def _finder(self, word: str) -> tuple[re.Pattern[str], tuple[tuple[int, ...], ...]]:
        """The regex of the phrases `word` can start, one group a phrase, longest first (so a match's
        lastindex names the phrase), and the topics each phrase counts for."""
        found = self._finders.get(word)
        if found is None:
            group = self._groups[word]
            finder = re.compile(r"(?<!\w)(?:" + "|".join(f"({_pattern(p)})" for p in group) + r")(?!\w)")
            found = self._finders[word] = (finder, tuple(map(self._counts_for, group)))
        return found

    def _counts_for(self, phrase: str) -> tuple[int, ...]:
        """The topics a phrase counts for: every topic with a keyword inside it ("Senate race" holds
        "Senate"), except those that exclude it."""
        return tuple(i for i, (finder, excluded) in enumerate(zip(self._topic_finders, self._excludes, strict=True))
                     if phrase not in excluded and finder.search(phrase))

    def scores(self, title: str, text: str) -> list[int]:
        """Per-topic scores of a story: TITLE_WEIGHT per hit in title, TEXT_WEIGHT per hit in text."""
        scores = [0] * self._size
        # One pass over both; the "|" keeps a phrase from running from the title into the text.
        story = f"{title}\n|\n{text}" if text else title
        lower = story.lower()
        if len(lower) != len(story):
            # A few characters lowercase to two ("İ"); keep offsets aligned with the original text.
            lower = "".join(c.lower() if len(c.lower()) == 1 else c for c in story)
        starts: dict[int, str] = {}
        for word in self._triggers.intersection(_words(lower)):
            at = lower.find(word)
            while at >= 0:
                after = at + len(word)
                if (at == 0 or not lower[at - 1].isalnum()) and not lower[after : after + 1].isalnum():
                    starts[at] = word
                at = lower.find(word, after)
        end = 0
        for start in sorted(starts):
            if start < end:
                continue  # inside a longer phrase already counted
            finder, counts_for = self._finder(starts[start])
            hit = finder.match(story, start)
            if hit is None:
                continue  # e.g. the wrong case: "ice" for "ICE"
            weight = TITLE_WEIGHT if start < len(title) else TEXT_WEIGHT
            for index in counts_for[hit.lastindex - 1]:
                scores[index] += weight
            end = hit.end()
        return scores


class Taxonomy:
    """An ordered set of topics that can tag stories and resolve user input to a topic."""

    def __init__(
        self,
        topics: Iterable[Topic],
        *,
        no_topic_examples: Sequence[str] = (),
        corpus: Sequence[tuple[str, str]] = (),
        tagger: str = "auto",
        cache_dir: Path | None = None,
    ) -> None:
        """`corpus` holds labelled rows (slug or "-" for no topic, text) beside the topics' own examples;
        `cache_dir` keeps the fitted semantic head between runs (None: fit at every start)."""
        if tagger not in TAGGERS:
            raise ConfigError(f"TOPIC_TAGGER must be one of {', '.join(TAGGERS)}; got {tagger!r}")
        self.topics: tuple[Topic, ...] = tuple(topics)
        self._by_slug = {t.slug: t for t in self.topics}
        self._by_key = {t.slug.casefold(): t for t in self.topics}
        for t in self.topics:
            self._by_key.setdefault(t.name.strip().casefold(), t)
        self._matcher = _Matcher(self.topics)
        self._examples = self._training_examples(no_topic_examples, corpus)
        self._tagger = tagger
        self._cache_dir = cache_dir
        self._semantic: semantic.SemanticTagger | None = None
        self._semantic_lock = threading.Lock()
        self._semantic_ready = False
        if tagger == "semantic" and not semantic.available():
            raise ConfigError("TOPIC_TAGGER=semantic needs the semantic extra: pip install 'briefbot[semantic]'")

    def _training_examples(self, no_topic: Sequence[str], corpus: Sequence[tuple[str, str]]) -> list:
        """The labelled texts the semantic tagger is fitted to; the class of "no topic" is len(topics)."""
        index = {t.slug: i for i, t in enumerate(self.topics)} | {"-": len(self.topics)}
        examples = [
            semantic.Example(i, text, EXAMPLE_WEIGHT)
            for i, topic in enumerate(self.topics)
            for text in (topic.description, *topic.examples) if text
        ]
        examples += [semantic.Example(len(self.topics), text, EXAMPLE_WEIGHT) for text in no_topic]
        examples += [semantic.Example(index[slug], text) for slug, text in corpus]
        return examples

    @property
    def examples(self) -> list[semantic.Example]:
        """The labelled texts the semantic tagger is fitted to, in order."""
        return list(self._examples)

    @property
    def semantic_tagger(self) -> semantic.SemanticTagger | None:
        """The fitted semantic tagger, or None when tagging uses keywords alone (fitted on first use)."""
        with self._semantic_lock:
            if not self._semantic_ready:
                self._semantic = self._fit_semantic()
                self._semantic_ready = True
        return self._semantic

    def _fit_semantic(self) -> semantic.SemanticTagger | None:
        if self._tagger == "keywords":
            return None
        taught = {e.label for e in self._examples} - {len(self.topics)}
        if len(taught) < 2:
            log.info("topic tagging: keywords only (fewer than two topics have examples)")
            return None
        if not semantic.available():
            log.warning("topic tagging: keywords only; install the semantic extra (pip install 'briefbot[semantic]')"
                        " to tag stories that name no keyword of their topic")
            return None
        tagger = semantic.SemanticTagger.fit(self._examples, len(self.topics) + 1, self._cache_dir)
        log.info("topic tagging: keywords and semantic model (%d examples, %d topics taught)",
                 len(self._examples), len(taught))
        return tagger

    @property
    def uses_semantic(self) -> bool:
        """Whether stories are tagged with the semantic model as well as the keywords."""
        return self.semantic_tagger is not None

    def tag(self, title: str, text: str = "") -> list[str]:
        """Slugs of the topics the story belongs to, in taxonomy order."""
        return self.tag_many([(title, text)])[0]

    def tag_many(self, stories: Sequence[tuple[str, str]]) -> list[list[str]]:
        """The topics of each (title, text) story, in taxonomy order; one batch for the semantic model.

        Neither a format label opening the title ("WATCH: "), a credit closing it ("(Reuters)"), a wire
        dateline opening the text ("WASHINGTON (Reuters) - ") nor feed boilerplate ending its lines ("Read
        more") is read: see `digests.tag_text`.
        """
        stories = [(headline_read(title), text_read(text)) for title, text in stories]
        scores = [self._matcher.scores(title, text[:TEXT_PREFIX_CHARS]) for title, text in stories]
        tagger = self.semantic_tagger
        if tagger is None or not stories:
            return [[t.slug for t, s in zip(self.topics, row, strict=True) if s >= THRESHOLD] for row in scores]
        probabilities = tagger.probabilities([semantic_text(title, text) for title, text in stories])
        return [self._combine(p, row) for p, row in zip(probabilities, scores, strict=True)]

    def _combine(self, probabilities, scores: list[int]) -> list[str]:
        """Keyword topics (strongest first), the likeliest topic, weaker keyword topics the model supports, then a
        clear runner-up: MAX_TOPICS of them."""
        topics = len(self.topics)
        keyword = sorted((i for i in range(topics) if scores[i] >= THRESHOLD), key=lambda i: -scores[i])
        supported = sorted((i for i in range(topics) if 0 < scores[i] < THRESHOLD
                            and probabilities[i] >= SUPPORTED_MIN), key=lambda i: -probabilities[i])
        ranked = sorted(range(topics), key=lambda i: -probabilities[i])
        top = probabilities[ranked[0]]
        likeliest = [ranked[0]] if top > probabilities[topics] and top >= LIKELIEST_MIN else []
        second = probabilities[ranked[1]]
        runner_up = [ranked[1]] if likeliest and (second >= SECOND_MIN or second >= SECOND_RATIO * top) else []
        candidates = [*keyword, *likeliest, *supported, *runner_up]
        chosen = set(list(dict.fromkeys(candidates))[:MAX_TOPICS])
        return [t.slug for i, t in enumerate(self.topics) if i in chosen]

    def resolve(self, value: str) -> Topic | None:
        """The topic whose slug or display name is value (case-insensitive), or None."""
        return self._by_key.get(value.strip().casefold())

    def get(self, slug: str) -> Topic:
        """The topic with this exact slug; NotFoundError if there is none."""
        try:
            return self._by_slug[slug]
        except KeyError:
            raise NotFoundError(f"unknown topic {slug!r}") from None

    def __iter__(self) -> Iterator[Topic]:
        return iter(self.topics)

    def __len__(self) -> int:
        return len(self.topics)


def _string_list(value: object, *, key: str, where: str, source: str) -> tuple[str, ...]:
    """A TOML array of strings with whitespace normalised; ConfigError otherwise."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: {where}: {key!r} must be a list of strings")
    items = tuple(" ".join(v.split()) for v in value)
    for item in items:
        if not item[:1].isalnum():
            raise ConfigError(f"{source}: {where}: {key!r} entry {item!r} must start with a letter or digit")
    return items


def _parse_topic(raw: object, index: int, source: str) -> Topic:
    """Validate one [[topic]] table and build its Topic."""
    where = f"topic #{index}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: {where} must be a table ([[topic]])")
    if isinstance(raw.get("slug"), str):
        where = f"topic #{index} ({raw['slug']!r})"
    missing = [k for k in _REQUIRED_KEYS if k not in raw]
    if missing:
        raise ConfigError(f"{source}: {where} is missing {', '.join(repr(k) for k in missing)}")
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{source}: {where} has unknown key(s) {', '.join(repr(k) for k in unknown)}")
    slug, name, emoji = raw["slug"], raw["name"], raw.get("emoji", _DEFAULT_EMOJI)
    if not isinstance(slug, str) or not _SLUG_RE.fullmatch(slug):
        raise ConfigError(
            f"{source}: {where}: slug {slug!r} must be lowercase letters, digits and single hyphens"
        )
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{source}: {where}: 'name' must be a non-empty string")
    if not isinstance(emoji, str):
        raise ConfigError(f"{source}: {where}: 'emoji' must be a string")
    keywords = _string_list(raw["keywords"], key="keywords", where=where, source=source)
    if not keywords:
        raise ConfigError(f"{source}: {where} has no keywords")
    exclude = _string_list(raw.get("exclude", []), key="exclude", where=where, source=source)
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"{source}: {where}: 'description' must be a string")
    examples = _string_list(raw.get("examples", []), key="examples", where=where, source=source)
    return Topic(slug=slug, name=name.strip(), emoji=emoji.strip(), keywords=keywords, exclude=exclude,
                 description=" ".join(description.split()), examples=examples)


def parse_taxonomy(
    text: str,
    source: str = "<topics>",
    *,
    directory: Path | None = None,
    tagger: str = "auto",
    cache_dir: Path | None = None,
) -> Taxonomy:
    """Build a Taxonomy from TOML text; ConfigError names source and the problem.

    `directory` is where a relative ``examples_file`` is looked for (the TOML file's own directory).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    unknown = sorted(set(data) - _KNOWN_TOP_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(repr(k) for k in unknown)}")
    raw_topics = data.get("topic")
    if not isinstance(raw_topics, list) or not raw_topics:
        raise ConfigError(f"{source}: no topics defined (expected one or more [[topic]] tables)")
    topics = [_parse_topic(raw, i, source) for i, raw in enumerate(raw_topics, start=1)]
    slugs: set[str] = set()
    names: dict[str, str] = {}
    for topic in topics:
        if topic.slug in slugs:
            raise ConfigError(f"{source}: duplicate slug {topic.slug!r}")
        slugs.add(topic.slug)
        # Names must be unique too, or resolving a display name would be ambiguous.
        other = names.setdefault(topic.name.casefold(), topic.slug)
        if other != topic.slug:
            raise ConfigError(
                f"{source}: topics {other!r} and {topic.slug!r} have the same name {topic.name!r}"
            )
    no_topic = _string_list(data.get("no_topic_examples", []), key="no_topic_examples", where="top level",
                            source=source)
    corpus: list[tuple[str, str]] = []
    if "examples_file" in data:
        if not isinstance(data["examples_file"], str) or not data["examples_file"].strip():
            raise ConfigError(f"{source}: 'examples_file' must be a file name")
        if tagger != "keywords":  # only the semantic tagger reads it
            corpus = read_examples_file((directory or Path.cwd()) / data["examples_file"].strip(), slugs)
    return Taxonomy(topics, no_topic_examples=no_topic, corpus=corpus, tagger=tagger, cache_dir=cache_dir)


def read_examples_file(path: Path, slugs: set[str]) -> list[tuple[str, str]]:
    """Labelled rows of a TSV file (gzip if its name ends in .gz): slug or "-", title, optional summary.

    Lines starting with "#" are comments. A slug the taxonomy does not have is a ConfigError naming the
    line, so a renamed topic is noticed rather than silently losing its examples.
    """
    where = f"examples file {str(path)!r}"
    try:
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if path.name.endswith(".gz") else raw).decode("utf-8")
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where} cannot be read: {exc}") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        slug, _, rest = line.partition("\t")
        title, _, summary = rest.partition("\t")
        if slug != "-" and slug not in slugs:
            raise ConfigError(f"{where}, line {number}: unknown topic {slug!r}")
        if title.strip():
            # Read as stories are read when tagged (see tag_many).
            rows.append((slug, semantic_text(headline_read(title.strip()), text_read(summary.strip()))))
    return rows


def semantic_text(title: str, text: str) -> str:
    """What the semantic tagger reads of a story: its title, then the start of its text.

    A headline and a sentence or two say what a story is about, and are what the examples hold;
    reading further into a body costs tokenizing time and blurs the mean of its token vectors.
    """
    return f"{title}. {text[:SEMANTIC_TEXT_CHARS]}" if text else title


def user_cache_dir() -> Path:
    """Where a fitted semantic head is kept between runs: $XDG_CACHE_HOME/briefbot or ~/.cache/briefbot."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "briefbot"


@cache
def _builtin(tagger: str, cache_dir: Path | None) -> Taxonomy:
    """The packaged taxonomy, parsed and compiled once per process."""
    data = resources.files("digests").joinpath("data")
    text = data.joinpath("topics.toml").read_text(encoding="utf-8")
    return parse_taxonomy(text, source="built-in topics.toml", directory=Path(str(data)), tagger=tagger,
                          cache_dir=cache_dir)


def load_taxonomy(path: str | Path | None = None, *, tagger: str = "auto", cache: bool = True) -> Taxonomy:
    """The taxonomy from a TOML file, or the built-in one when path is None.

    `tagger` is TOPIC_TAGGER: "auto" (keywords, and the semantic model when its extra is installed),
    "keywords", or "semantic" (refuses to load without the extra). With `cache`, the fitted semantic
    head is kept in user_cache_dir().
    """
    cache_dir = user_cache_dir() if cache else None
    if path is None:
        return _builtin(tagger, cache_dir)
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"topics file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"topics file {str(path)!r} cannot be read: {exc}") from None
    return parse_taxonomy(text, source=f"topics file {str(path)!r}", directory=path.parent, tagger=tagger,
                          cache_dir=cache_dir)
