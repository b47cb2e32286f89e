"""Stories about the same event are one item, a cluster.

Their headlines, as sets of words without stop words, share at least four words (three for very
short ones) that make up 60 % of the shorter one, and they are at most a day apart. Candidates are
found through an index of the words of the day around each story (walked in time order, so a
week's window clusters as a day's does): only headlines sharing two words that are not too common
that day to tell events apart are compared, never all pairs. A cluster shows its best-scoring
story, with the other outlets that carried it as `also`, the topics of every copy and their ids.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict, deque
from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import chain

from digests.story_items import DEFAULT_HORIZON, StoryItem
from digests.text import normalise_title

_STOP_WORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is", "it", "its",
    "of", "on", "or", "over", "says", "say", "said", "than", "that", "the", "their", "this", "to", "up", "was",
    "were", "will", "with", "after", "amid", "about", "into", "new", "more",
))
CLUSTER_MIN_SHARED = 3
CLUSTER_OVERLAP = 0.6
CLUSTER_WINDOW = timedelta(hours=24)
# A word carried by more candidates than this says little about which event a story is about.
_COMMON_WORD_POSTINGS = 50


# Punctuation common in headlines that `normalise_title` turns into spaces (each decomposes to characters that
# are neither letters, digits nor combining marks): a headline with nothing else beyond ASCII is read as ASCII.
HEADLINE_PUNCTUATION = "–—‘’“”…£€•·«»"
_HEADLINE_PUNCTUATION_RE = re.compile(f"[{HEADLINE_PUNCTUATION}]")
_ASCII_WORD_RE = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=50_000)
def _words(title: str) -> frozenset[str]:
    """A headline's words for clustering: those of `normalise_title` but stop words (cached: the same stories are
    clustered at every slot).

    Most headlines are ASCII but for a dash or a curly quote: they skip the Unicode decomposition.
    """
    if not title.isascii():
        plain = _HEADLINE_PUNCTUATION_RE.sub(" ", title)
        if not plain.isascii():
            return frozenset(normalise_title(title).split()) - _STOP_WORDS
        title = plain
    return frozenset(_ASCII_WORD_RE.findall(title.lower())) - _STOP_WORDS


def _same_event(a: frozenset[str], b: frozenset[str]) -> bool:
    """Enough shared words, making up most of the shorter headline.

    Four shared words are needed (three for headlines of four words or fewer): "Trump warns Iran
    over nuclear talks" and "Trump warns China over trade talks" share three and stay apart.
    """
    shared = len(a & b)
    shorter = min(len(a), len(b))
    needed = max(CLUSTER_MIN_SHARED, min(CLUSTER_MIN_SHARED + 1, shorter - 1))
    return shared >= needed and shared / shorter >= CLUSTER_OVERLAP


def cluster(items: list[StoryItem], now: datetime, horizon: timedelta = DEFAULT_HORIZON) -> list[StoryItem]:
    """One item per event: its best story at `now` (see `StoryItem.score`), with the other outlets and every
    copy's topics."""
    # Newest first, ties by id: the order decides which copy is kept when scores tie. Usually sorted already.
    items = sorted(items, key=lambda item: (item.effective_at, item.id), reverse=True)
    words = [_words(item.title) for item in items]
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # Each word's stories of the CLUSTER_WINDOW after the current one (they come first), oldest last.
    postings: dict[str, deque[int]] = defaultdict(deque)
    times = [item.effective_at.timestamp() for item in items]
    window = CLUSTER_WINDOW.total_seconds()
    for i, mine in enumerate(words):
        too_new = times[i] + window
        informative = []
        for word in mine:
            found = postings[word]
            while found and times[found[0]] > too_new:  # the stories still to come are older
                found.popleft()
            if len(found) <= _COMMON_WORD_POSTINGS:
                informative.append(found)
        # Only headlines sharing two informative words can share the four an event needs.
        if len(informative) >= 2:
            for j, count in Counter(chain.from_iterable(informative)).items():
                if count >= 2 and root(i) != root(j) and _same_event(mine, words[j]):
                    parent[root(i)] = root(j)
        for word in mine:
            postings[word].append(i)
    clusters: dict[int, list[StoryItem]] = defaultdict(list)
    for i, item in enumerate(items):
        clusters[root(i)].append(item)
    merged = []
    for copies in clusters.values():
        if len(copies) == 1:  # most stories: nothing to merge
            merged.append(copies[0])
            continue
        best = max(copies, key=lambda item: item.score(now, horizon))
        others = tuple(dict.fromkeys(c.source for c in copies if c.source != best.source))
        topics = tuple(dict.fromkeys(slug for c in copies for slug in c.topics))
        merged.append(replace(best, also=others, topics=topics, copies=tuple(c.id for c in copies if c is not best)))
    return merged
