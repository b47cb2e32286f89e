"""Large stores built once: generated stories inserted raw, cached under `tests/benchmarks/.cache/`.

A 1,000,000-story store takes several minutes to build (the FTS triggers index every row), so it
is kept between runs. Its name holds the size, seed, generator version and row version: a change
to the generator or to the raw rows builds a fresh one (and the stale file of the same size is
removed). Stores of the second vocabulary (`vocabulary_sparse.py`) are named `stories-sparse-…`.
Migrations added since it was built are applied to it in place when it is used, as
`briefbot db upgrade` would on a deployment; delete `.cache/` to build from scratch. Benchmarks
that write to a store work on a copy. `pgstore.py` copies a cached store into PostgreSQL.
"""

from __future__ import annotations

import json
import queue
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import TypeVar

from tests.benchmarks import rawstore
from tests.benchmarks.generator import GENERATOR_VERSION, GENERATORS, GeneratedStory

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
T = TypeVar("T")
_BATCH = 20_000


@dataclass(frozen=True)
class StoryStore:
    """A store file of `stories` generated stories, published over the `days` before `anchor`."""

    path: Path
    stories: int
    days: int
    anchor: datetime
    build_seconds: float | None  # None when it came from the cache
    vocabulary: str = "wire"  # a key of generator.GENERATORS

    @property
    def family(self) -> str:
        """The name every cached store of this vocabulary and size starts with (older builds included)."""
        return family_name(self.vocabulary, self.stories)


def family_name(vocabulary: str, count: int) -> str:
    """`stories-1000000` for the first vocabulary (the names its caches always had), `stories-sparse-1000000`."""
    return f"stories-{count}" if vocabulary == "wire" else f"stories-{vocabulary}-{count}"


def cached_story_store(count: int, *, days: int, seed: int, log: Callable[[str], None],
                       vocabulary: str = "wire") -> StoryStore:
    """The cached store of `count` stories over `days` (migrated to the latest schema), built first if need be."""
    family = family_name(vocabulary, count)
    name = f"{family}-d{days}-s{seed}-g{GENERATOR_VERSION}-r{rawstore.ROWS_VERSION}"
    path, meta = CACHE_DIR / f"{name}.db", CACHE_DIR / f"{name}.json"
    if path.exists() and meta.exists():
        anchor = datetime.fromisoformat(json.loads(meta.read_text())["anchor"])
        rawstore.create_store(path)  # applies migrations added since the build; a no-op otherwise
        return StoryStore(path, count, days, anchor, None, vocabulary)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    for stale in CACHE_DIR.glob(f"{family}-*"):
        stale.unlink()
    anchor = datetime.now(UTC).replace(second=0, microsecond=0)
    building = CACHE_DIR / f"{name}.building.db"
    log(f"building a store of {count:,} stories ({vocabulary} vocabulary) over {days} days in {CACHE_DIR} "
        "(cached for later runs)")
    started = time.perf_counter()
    build_story_store(building, count, anchor=anchor, seed=seed, hours=days * 24, vocabulary=vocabulary)
    seconds = time.perf_counter() - started
    building.rename(path)
    meta.write_text(json.dumps({"anchor": anchor.isoformat(), "stories": count, "build_seconds": seconds}))
    log(f"built {count:,} stories in {seconds:.0f} s")
    return StoryStore(path, count, days, anchor, seconds, vocabulary)


def build_story_store(path: Path, count: int, *, anchor: datetime, seed: int, hours: float = 48.0,
                      vocabulary: str = "wire") -> None:
    """A migrated store at `path` of `count` generated stories published over the `hours` before `anchor`.

    The stories are distinct articles (no repeats of one URL); syndicated copies are included.
    """
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    rawstore.create_store(path)
    connection = rawstore.connect(path)
    connection.execute("PRAGMA cache_size=-200000")  # 200 MB: the indexes of a million rows stay in memory
    try:
        generator = GENERATORS[vocabulary](seed=seed, anchor=anchor, hours=hours, duplicate_rate=0)
        stories = generator.stories(count)
        for batch in prefetch(_row_batches(stories)):
            rawstore.insert(connection, *batch)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def _row_batches(stories: Iterator[GeneratedStory]) -> Iterator[tuple[list[rawstore.StoryRow], list[rawstore.LinkRow]]]:
    rows = rawstore.generated_rows(stories)
    while chunk := list(islice(rows, _BATCH)):
        yield [row for row, _ in chunk], [link for _, links in chunk for link in links]


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """`items`, produced in a background thread while the caller consumes the previous ones.

    Generating rows is Python work and inserting them is mostly SQLite work (which releases the
    GIL), so on two cores the two overlap.
    """
    done = object()
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            for item in items:
                buffer.put(item)
        except BaseException as error:  # handed to the consumer below
            failure.append(error)
        finally:
            buffer.put(done)

    thread = threading.Thread(target=produce, name="prefetch", daemon=True)
    thread.start()
    while (item := buffer.get()) is not done:
        yield item  # type: ignore[misc]
    thread.join()
    if failure:
        raise failure[0]


def copy_store(store: StoryStore, destination: Path) -> Path:
    """A private copy of a cached store, to add targets and deliveries to."""
    shutil.copyfile(store.path, destination)
    return destination


def shift_times(path: Path, seconds: int) -> None:
    """Move every story's timestamps `seconds` later, so a store built earlier looks fresh now."""
    if seconds <= 0:
        return
    shifted = {column: f"strftime('%Y-%m-%d %H:%M:%S', {column}, '+{int(seconds)} seconds') || substr({column}, 20)"
               for column in ("published_at", "ingested_at", "effective_at")}
    connection = rawstore.connect(path)
    try:
        connection.execute("BEGIN")
        assignments = ", ".join(f"{column} = {expr}" for column, expr in shifted.items())
        connection.execute(f"UPDATE story SET {assignments}")  # noqa: S608 - built from constants and an int
        connection.execute("COMMIT")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error:
        connection.execute("ROLLBACK")
        raise
    finally:
        connection.close()
