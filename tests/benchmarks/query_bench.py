"""P2: `/stories` handler latency over a large store: `find_stories` plus `Renderer.story_list`, per query shape.

Each request runs as the bot's handler does: one session (one transaction) around `find_stories`,
then rendering the answer. A *shape* is what the user typed: a topic alone (by slug or display name),
free text alone (a topic argument that names no topic), or a topic with a query; the text is one word
common in the store, rare, absent, several words, a quoted phrase or a prefix (`tariff*`, which is
plain text: the word `tariff`). Each shape is repeated `p2_queries` times with varied topics, words,
limits and hours. `now` is the store's anchor, so every request looks at the generated days.

Two vocabularies (see `generator.GENERATORS`): `wire`, whose topics share their slot words, and
`sparse`, where a broad topic meets words it never co-occurs with. The full run measures both at
`p2_stories`; `python -m tests.benchmarks.query_bench` measures how the cost grows with the store
(see `main`). With `--store postgresql` the same cached store is copied into PostgreSQL once (see
`pgstore.py`) and queried there.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from digests.selection import find_stories
from digests.services import Services
from digests.settings import Settings
from digests.store import session_scope
from tests.benchmarks import pgstore, rawstore
from tests.benchmarks.context import FULL, STORE_DAYS, STORES, Context
from tests.benchmarks.datasets import StoryStore, cached_story_store
from tests.benchmarks.generator import DEFAULT_SEED, GENERATORS
from tests.benchmarks.report import Figure, percentile
from tests.benchmarks.vocabulary import SEARCHES as WIRE_SEARCHES
from tests.benchmarks.vocabulary_sparse import SEARCHES as SPARSE_SEARCHES

TEXT_KINDS = ("common", "rare", "absent", "words", "phrase", "prefix")
# "topic", then each kind of text alone ("text:rare") and with a topic ("topic+rare").
SHAPES = ("topic", *(f"text:{kind}" for kind in TEXT_KINDS), *(f"topic+{kind}" for kind in TEXT_KINDS))
SEARCHES: dict[str, dict[str, tuple[str, ...]]] = {"wire": WIRE_SEARCHES, "sparse": SPARSE_SEARCHES}
P50_TARGET_MS = 5.0
P95_TARGET_MS = 25.0
GROWTH_RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class StoriesRequest:
    """The options of one `/stories` invocation."""

    topic: str
    query: str | None
    limit: int
    hours: int


@dataclass(frozen=True)
class Latency:
    """What one pass over a shape's requests measured, in milliseconds.

    `cpu_p50`/`cpu_p95` are this process's CPU time per request: on a shared machine they move far less
    with other work than the wall time does. On SQLite they are all the work; on PostgreSQL they leave
    out the server's.
    """

    p50: float
    p95: float
    max: float
    mean: float
    empty: int  # requests that found no story
    queries: int
    cpu_p50: float
    cpu_p95: float

    @property
    def met(self) -> bool:
        """Within P2's targets."""
        return self.p50 <= P50_TARGET_MS and self.p95 <= P95_TARGET_MS


def requests_of(shape: str, count: int, services: Services, searches: dict[str, tuple[str, ...]],
                rng: random.Random) -> list[StoriesRequest]:
    """`count` varied requests of one shape, as users type them."""
    topics = list(services.taxonomy)
    side, _, kind = shape.partition(":") if shape.startswith("text:") else shape.partition("+")
    made = []
    for _ in range(count):
        topic = rng.choice(topics)
        name = topic.slug if rng.random() < 0.6 else topic.name.lower()
        limit = rng.choice((5, 5, 5, 3, 10))
        hours = rng.choice((24, 24, 24, 12, 48, 168))
        if side == "topic" and not kind:
            made.append(StoriesRequest(name, None, limit, hours))
        elif side == "text":
            made.append(StoriesRequest(rng.choice(searches[kind]), None, limit, hours))
        else:
            made.append(StoriesRequest(name, rng.choice(searches[kind]), limit, hours))
    return made


def handler(services: Services, now: datetime) -> Callable[[StoriesRequest], int]:
    """What the bot's `/stories` does: select in one session, then render; returns the items found."""
    tz = services.default_timezone

    def answer(request: StoriesRequest) -> int:
        with session_scope(services.engine) as session:
            result = find_stories(session=session, taxonomy=services.taxonomy, topic=request.topic,
                                  query=request.query, hours=request.hours, limit=request.limit, now=now)
        services.renderer.story_list(result, tz=tz, now=now)
        return len(result.items)

    return answer


def timed(answer: Callable[[StoriesRequest], int], requests: Sequence[StoriesRequest]) -> Latency:
    """Answer every request in turn; their latency percentiles."""
    samples, cpu, empty = [], [], 0
    for request in requests:
        started, cpu_started = time.perf_counter(), time.process_time()
        found = answer(request)
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
        empty += found == 0
    return Latency(percentile(samples, 0.50), percentile(samples, 0.95), max(samples), sum(samples) / len(samples),
                   empty, len(samples), percentile(cpu, 0.50), percentile(cpu, 0.95))


def store_url(store: StoryStore, on: str, log: Callable[[str], None]) -> str:
    """The database URL of a cached store on SQLite, or of its PostgreSQL copy."""
    return pgstore.cached_copy(store, log) if on == "postgresql" else rawstore.database_url(store.path)


def measure(store: StoryStore, *, on: str, shapes: Sequence[str], count: int, passes: int, seed: int,
            log: Callable[[str], None]) -> dict[str, list[Latency]]:
    """Each shape's latency over `store`, `passes` times (the same requests each pass)."""
    services = Services.from_settings(Settings(database_url=store_url(store, on, log)))
    try:
        answer = handler(services, store.anchor)
        rng = random.Random(seed)
        searches = SEARCHES[store.vocabulary]
        planned = {shape: requests_of(shape, count, services, searches, rng) for shape in shapes}
        for shape in shapes:  # warm-up: templates, statement caches, the pages every shape reads first
            for request in planned[shape][:5]:
                answer(request)
        found: dict[str, list[Latency]] = {shape: [] for shape in shapes}
        for index in range(passes):
            log(f"P2 pass {index + 1}/{passes}: {len(shapes)} shapes × {count} requests over {store.stories:,} "
                f"{store.vocabulary} stories on {STORES[on]}")
            for shape in shapes:
                found[shape].append(timed(answer, planned[shape]))
        return found
    finally:
        services.close()


def run_p2(context: Context) -> list[Figure]:
    """p50/p95 latency of each shape of `/stories` request, for each vocabulary."""
    size, count = context.sizes.p2_stories, context.sizes.p2_queries
    figures = []
    for vocabulary in GENERATORS:
        store = cached_story_store(size, days=context.sizes.p2_days, seed=context.seed, log=context.log,
                                   vocabulary=vocabulary)
        measured = measure(store, on=context.store, shapes=SHAPES, count=count, passes=1, seed=context.seed,
                           log=context.log)
        for shape, (latency, *_) in measured.items():
            figures.append(Figure(
                f"P2.{vocabulary}.{shape}",
                f"/stories {shape} over {size:,} {vocabulary} stories on {context.store_name} (find_stories + render)",
                f"p50 {latency.p50:.1f} ms, p95 {latency.p95:.1f} ms "
                f"(CPU {latency.cpu_p50:.1f} / {latency.cpu_p95:.1f})",
                f"p50 ≤ {P50_TARGET_MS:g} ms, p95 ≤ {P95_TARGET_MS:g} ms", latency.met, latency.p95, "ms",
                {**{key: round(value, 2) for key, value in asdict(latency).items()}, "stories": size,
                 "vocabulary": vocabulary, "store": context.store, "store_built_seconds": store.build_seconds},
            ))
    return figures


def growth_table(results: dict[str, dict[int, dict[str, list[Latency]]]], store: str) -> str:
    """Markdown: a row per vocabulary and shape, a column per size; each cell `p50 / p95` of every pass, then the
    CPU time's `p50 / p95` of the first pass in brackets."""
    sizes = sorted({size for by_size in results.values() for size in by_size})
    header = f"| vocabulary | shape | {' | '.join(f'{size:,} on {STORES[store]}' for size in sizes)} |"
    lines = [header, "|" + "---|" * (2 + len(sizes))]
    for vocabulary, by_size in results.items():
        shapes = next(iter(by_size.values()))
        for shape in shapes:
            cells = []
            for size in sizes:
                passes = by_size.get(size, {}).get(shape, [])
                cell = " · ".join(f"{latency.p50:.1f} / {latency.p95:.1f}" + ("" if latency.met else " ✗")
                                  for latency in passes)
                if passes:
                    cell += f" ({passes[0].cpu_p50:.1f} / {passes[0].cpu_p95:.1f})"
                cells.append(cell or "–")
            lines.append(f"| {vocabulary} | {shape} | {' | '.join(cells)} |")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of the growth run."""
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.query_bench",
                                     description="P2 per query shape at several store sizes (how cost grows)")
    parser.add_argument("--store", choices=STORES, default="sqlite")
    parser.add_argument("--sizes", default="100000,1000000,3000000", help="comma-separated story counts")
    parser.add_argument("--vocabularies", default=",".join(GENERATORS), help="comma-separated, of: "
                        + ", ".join(GENERATORS))
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated, of: " + ", ".join(SHAPES))
    parser.add_argument("--queries", type=int, default=FULL.p2_queries, help="requests per shape and pass")
    parser.add_argument("--passes", type=int, default=2, help="measure every shape this many times (noise)")
    parser.add_argument("--json", type=Path, help="where to write the figures "
                        "(default tests/benchmarks/results/p2-growth-STORE.json)")
    args = parser.parse_args(argv)
    for name, allowed in (("vocabularies", GENERATORS), ("shapes", SHAPES)):
        unknown = set(getattr(args, name).split(",")) - set(allowed)
        if unknown:
            parser.error(f"unknown {name}: {', '.join(sorted(unknown))}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every shape at every size and vocabulary; print the growth table, write the JSON."""
    args = parse_args(argv)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f}s load {os.getloadavg()[0]:4.2f}] {message}", file=sys.stderr,
              flush=True)

    shapes = args.shapes.split(",")
    results: dict[str, dict[int, dict[str, list[Latency]]]] = {}
    loads: dict[str, list[float]] = {}
    for vocabulary in args.vocabularies.split(","):
        for size in (int(part) for part in args.sizes.split(",")):
            store = cached_story_store(size, days=STORE_DAYS, seed=DEFAULT_SEED, log=log, vocabulary=vocabulary)
            before = os.getloadavg()[0]
            results.setdefault(vocabulary, {})[size] = measure(
                store, on=args.store, shapes=shapes, count=args.queries, passes=args.passes, seed=DEFAULT_SEED,
                log=log)
            loads[f"{vocabulary} {size}"] = [round(before, 2), round(os.getloadavg()[0], 2)]
    print(growth_table(results, args.store))
    print(f"\np50 / p95 ms of each pass (✗: over p50 {P50_TARGET_MS:g} / p95 {P95_TARGET_MS:g} ms), then (CPU time "
          "of this process p50 / p95, first pass); "
          f"1-minute load before/after each store: {loads}")
    path = args.json or GROWTH_RESULTS / f"p2-growth-{args.store}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "store": args.store, "queries": args.queries, "passes": args.passes, "load": loads,
        "results": {vocabulary: {str(size): {shape: [asdict(latency) for latency in passes]
                                             for shape, passes in by_shape.items()}
                                 for size, by_shape in by_size.items()}
                    for vocabulary, by_size in results.items()},
    }, indent=2))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
