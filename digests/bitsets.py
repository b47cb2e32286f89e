"""Sets of a story pool's ranks as the bits of an int.

A slot's digests ask thousands of times which of a pool's tens of thousands of events are on some
topics and pass some filters. As ints, a union or an intersection is one C operation over a few
kilobytes and a count is `int.bit_count`, so a digest walks only the few dozen ranks it shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

_NONZERO_BYTE = re.compile(rb"[^\x00]")


def as_bits(ranks: Iterable[int], size: int) -> int:
    """`ranks` (each below `size`) as the set bits of an int."""
    bits = bytearray((size + 7) // 8)
    for rank in ranks:
        bits[rank >> 3] |= 1 << (rank & 7)
    return int.from_bytes(bits, "little")


def members(ranks: Iterable[int], bits: int, size: int) -> Iterator[int]:
    """The ranks (each below `size`) that are set in `bits`, in their order, read as they are asked for."""
    table = bits.to_bytes((size + 7) // 8, "little")
    return (rank for rank in ranks if table[rank >> 3] >> (rank & 7) & 1)


def set_bits(bits: int, size: int) -> Iterator[int]:
    """The ranks (each below `size`) set in `bits`, lowest first, read as they are asked for: the bytes
    holding none are skipped in C, so a few ranks among tens of thousands cost a few steps."""
    table = bits.to_bytes((size + 7) // 8, "little")
    for found in _NONZERO_BYTE.finditer(table):
        at = found.start()
        byte = table[at]
        while byte:
            lowest = byte & -byte
            yield (at << 3) + lowest.bit_length() - 1
            byte ^= lowest
