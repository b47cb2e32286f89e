"""P2: `/stories` handler latency over a large store: `find_stories` plus `Renderer.story_list`.

Each request runs as the bot's handler does: one session (one transaction) around `find_stories`,
then rendering the answer. Three kinds of request, each repeated `p2_queries` times with varied
arguments: a topic (by slug or display name), free text (a topic argument that names no topic),
and a topic with a query. `now` is the store's anchor, so every request looks at the generated days.
With `--store postgresql` the same cached store is copied into PostgreSQL once (see `pgstore.py`)
and queried there.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from digests.selection import find_stories
from digests.services import Services
from digests.settings import Settings
from digests.store import session_scope
from tests.benchmarks import pgstore, rawstore
from tests.benchmarks.context import Context
from tests.benchmarks.datasets import cached_story_store
from tests.benchmarks.report import Figure, percentile
from tests.benchmarks.vocabulary import SEARCH_WORDS

KINDS = ("topic", "text", "topic+query")
P50_TARGET_MS = 5.0
P95_TARGET_MS = 25.0


@dataclass(frozen=True)
class StoriesRequest:
    """The options of one `/stories` invocation."""

    topic: str
    query: str | None
    limit: int
    hours: int


def requests_of(kind: str, count: int, services: Services, rng: random.Random) -> list[StoriesRequest]:
    """`count` varied requests of one kind, as users type them."""
    topics = list(services.taxonomy)
    made = []
    for _ in range(count):
        topic = rng.choice(topics)
        name = topic.slug if rng.random() < 0.6 else topic.name.lower()
        limit = rng.choice((5, 5, 5, 3, 10))
        hours = rng.choice((24, 24, 24, 12, 48, 168))
        if kind == "topic":
            made.append(StoriesRequest(name, None, limit, hours))
        elif kind == "text":
            made.append(StoriesRequest(rng.choice(SEARCH_WORDS), None, limit, hours))
        else:
            made.append(StoriesRequest(name, rng.choice(SEARCH_WORDS), limit, hours))
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


def run_p2(context: Context) -> list[Figure]:
    """p50/p95 latency of each kind of `/stories` request."""
    size, count = context.sizes.p2_stories, context.sizes.p2_queries
    store = cached_story_store(size, days=context.sizes.p2_days, seed=context.seed, log=context.log)
    if context.store == "postgresql":
        url = pgstore.cached_copy(store, context.log)
    else:
        url = rawstore.database_url(store.path)
    services = Services.from_settings(Settings(database_url=url))
    answer = handler(services, store.anchor)
    rng = random.Random(context.seed)
    for request in requests_of("topic+query", 10, services, rng):  # warm-up: templates, statement cache
        answer(request)
    figures = []
    for kind in KINDS:
        context.log(f"P2: {count} '{kind}' requests over {size:,} stories on {context.store_name}")
        samples, empty = [], 0
        for request in requests_of(kind, count, services, rng):
            started = time.perf_counter()
            found = answer(request)
            samples.append((time.perf_counter() - started) * 1000)
            empty += found == 0
        p50, p95 = percentile(samples, 0.50), percentile(samples, 0.95)
        figures.append(Figure(
            f"P2.{kind}", f"/stories {kind} over {size:,} stories on {context.store_name} (find_stories + render)",
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms", f"p50 ≤ {P50_TARGET_MS:g} ms, p95 ≤ {P95_TARGET_MS:g} ms",
            p50 <= P50_TARGET_MS and p95 <= P95_TARGET_MS, p95, "ms",
            {"queries": count, "p50_ms": round(p50, 2), "p95_ms": round(p95, 2), "max_ms": round(max(samples), 2),
             "mean_ms": round(sum(samples) / len(samples), 2), "empty_answers": empty, "stories": size,
             "store": context.store, "store_built_seconds": store.build_seconds},
        ))
    services.close()
    return figures
