"""Sets of ranks as the bits of an int (digests/bitsets.py), against plain Python sets."""

from __future__ import annotations

import random

import pytest

from digests.bitsets import as_bits, members, set_bits


@pytest.mark.parametrize("density", [0.0, 0.001, 0.05, 0.5, 1.0])
def test_set_bits_are_the_ranks_put_in_lowest_first(density):
    rng = random.Random(density)
    size = 20_003  # not a whole number of bytes
    ranks = {rank for rank in range(size) if rng.random() < density}
    bits = as_bits(ranks, size)
    assert bits.bit_count() == len(ranks)
    assert list(set_bits(bits, size)) == sorted(ranks)
    candidates = rng.sample(range(size), 500)
    assert list(members(candidates, bits, size)) == [rank for rank in candidates if rank in ranks]


def test_set_bits_are_read_as_they_are_asked_for():
    size = 1 << 16
    walk = set_bits(as_bits([3, 9, 40_000, size - 1], size), size)
    assert next(walk) == 3 and next(walk) == 9
    assert list(walk) == [40_000, size - 1]
