"""Pausing Python's cyclic garbage collector while large, long-lived structures are built, and setting it
for the bot's long-running process.

Building a week's story pool allocates hundreds of thousands of objects that all live as long as
the pool, and meanwhile the collector walks the whole heap again and again: the 25 % growth that
triggers a full collection is reached several times over (0.6 s of P3's 10,000 digests on the
2-core machine). What such a build allocates is not cyclic garbage; anything another thread leaves
meanwhile is collected when the last build ends and the collector runs again. Reference counting
frees memory as usual throughout.

A slot's deliveries in the bot allocate millions of short-lived objects beside a heap of hundreds of
thousands that live for the slot (its pools, snapshots, the targets): with Python's default, a young
collection every 700 allocations, enough of the short-lived ones are caught alive and promoted that full
collections walk the whole heap again and again (the collector took 1.3 s of the P3.filters slot's 7 s,
1.0 s of it in seven full collections). `tune_for_service` makes young collections rarer, so fewer
short-lived objects survive them.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pauses:
    """How many builds are under way (thread-safe), and whether the collector ran before the first began."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.under_way = 0
        self.was_enabled = False


_PAUSES = _Pauses()
# Container objects allocated (net) between young collections in the bot's process; Python's default is 700.
# At most this many objects of cyclic garbage wait for the next one (a few MB); measured on P3.filters:
# 6.3-6.5 s against 7.1-7.7 s with the default.
SERVICE_YOUNG_THRESHOLD = 50_000


def tune_for_service() -> None:
    """Set the collector for a long-running process (`briefbot run`): see the module docstring."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(SERVICE_YOUNG_THRESHOLD, middle, oldest)


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block (nor while other threads' blocks last)."""
    with _PAUSES.lock:
        if _PAUSES.under_way == 0:
            _PAUSES.was_enabled = gc.isenabled()
            gc.disable()
        _PAUSES.under_way += 1
    try:
        yield
    finally:
        with _PAUSES.lock:
            _PAUSES.under_way -= 1
            if _PAUSES.under_way == 0 and _PAUSES.was_enabled:
                gc.enable()
