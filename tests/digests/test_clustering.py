"""How headlines are read for clustering (what clusters together is in test_selection.py)."""

from __future__ import annotations

import unicodedata

import pytest

from digests.clustering import _STOP_WORDS, HEADLINE_PUNCTUATION, _words
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
