"""How headlines are read for clustering, and which copy an event keeps (what clusters together is in
test_selection.py)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta

import pytest

from digests.clustering import _STOP_WORDS, HEADLINE_PUNCTUATION, _words, cluster
from digests.story_items import StoryItem
from digests.text import normalise_title


def test_headline_punctuation_normalises_to_spaces():
    """The premise of reading such headlines as ASCII: nothing of these characters survives `normalise_title`."""
    for char in HEADLINE_PUNCTUATION:
        decomposed = unicodedata.normalize("NFKD", char.casefold())
        assert not any(part.isalnum() or unicodedata.combining(part) for part in decomposed), char
        assert normalise_title(f"a{char}b") == "a b"


@pytest.mark.parametrize("title", [
    "Fed holds rates as inflation cools",
    "Chipmaker unveils new AI model – what we know",
    "UK’s “£40bn” plan… explained — live",
    "Café owners’ strike spreads to Zürich – report",  # accents: the full normalisation
    "Łódź mayor: 'no' to €2m stadium",
    "GDP_2026 up 3.5% (Q3)",
])
def test_headline_words_are_the_normalised_title_without_stop_words(title):
    assert _words(title) == frozenset(normalise_title(title).split()) - _STOP_WORDS


def test_copies_of_one_moment_keep_the_same_story_whatever_order_they_are_read_in():
    # SQLite and PostgreSQL return rows tied in time in different orders: the kept copy must not depend on it.
    at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    copies = [StoryItem(id=story_id, title="Central bank raises interest rates again in surprise move", url=None,
                        source=source, summary="", effective_at=at, topics=("economy",), has_body=False)
              for story_id, source in ((11, "Wire A"), (12, "Wire B"), (13, "Wire C"))]
    orders = (copies, copies[::-1], copies[1:] + copies[:1])
    kept = {cluster(ordered, at + timedelta(hours=1))[0].id for ordered in orders}
    assert kept == {13}
