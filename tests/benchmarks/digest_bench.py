"""P3: digest selection and rendering for the targets of one slot, daily and weekly, with mixed topics.

Each target is rendered as a delivery claims it: its own session, `digests.delivery.render_target`
(its users' topics and guilds, `select_digest`, the personal-digest or briefing template, split into
parts), all of one slot, sharing one `StoryPools` and one `SlotReaders` as a `Deliverer`'s workers
do. The store holds `p3_stories` stories every 48 h (a busy deployment's rate) for eight days, so a
weekly digest has a whole week to choose from. Every target is due at the slot (its time of day is
the slot's in its zone); `WEEKLY_SHARE` of them are weekly channel briefings, the rest daily (personal
digests and briefings); each was last delivered at its previous slot, a tenth never. If rendering
every target would take longer than `p3_budget_seconds`, the rest is not run and the total is
extrapolated from those that were (the table says so). With `--store postgresql` the store is built in
SQLite the same way, copied into a PostgreSQL schema of its own (see `pgstore.py`), rendered from
there, and the schema dropped. P3.filters is the slot issue 15 names: the same targets, `FILTER_SHARE` of
them carrying two to five filter rules each (`targets.filter_rules`: words, phrases, outlets, regexes) and
`SEARCH_SHARE` of them a saved search.

P3s is P3 again on a copy of the same store where `SEARCH_SHARE` of the targets carry a saved search
(issue 15): each such digest gets a section of the stories of its period matching its words. It runs
right after P3 (a warm OS cache for both: P3 reads the store first).

The digests are rendered with the garbage collector set as `briefbot run` sets it
(`digests.collector.tune_for_service`), as in the bot's process.
"""

from __future__ import annotations

import gc
import os
import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from digests.collector import tune_for_service
from digests.delivery import render_target
from digests.filters import SlotFilters
from digests.message_parts import content_of
from digests.scheduler import active_targets
from digests.selection import StoryPools
from digests.services import Services
from digests.settings import Settings
from digests.store import session_scope
from digests.targets import SlotReaders
from tests.benchmarks import pgstore, rawstore
from tests.benchmarks.context import Context
from tests.benchmarks.datasets import build_story_store
from tests.benchmarks.report import Figure, percentile
from tests.benchmarks.targets import add_saved_searches, seed_targets

TARGET_SECONDS = 5.0
WEEKLY_SHARE = 0.1
STORE_DAYS = 8
FILTER_SHARE = 0.3
SEARCH_SHARE = 0.1


def distinct_selections(path: Path) -> int:
    """How many different (topics, last delivery) pairs the targets have: digests that could be shared."""
    connection = rawstore.connect(path)
    try:
        rows = connection.execute(
            "SELECT t.last_delivered_at, group_concat(s.topic_slug) FROM personal_digest d "
            "JOIN target t ON t.id = d.id JOIN subscription s ON s.user_id = d.user_id GROUP BY d.user_id "
            "UNION ALL SELECT last_delivered_at, topics FROM target WHERE kind = 'channel'").fetchall()
    finally:
        connection.close()
    return len({(since, tuple(sorted((topics or "").split(",")))) for since, topics in rows})


@contextmanager
def database(context: Context, path: Path) -> Iterator[str]:
    """The URL to read the SQLite store at `path` through: the file, or with `--store postgresql` a copy
    in a PostgreSQL schema that lives as long as the block."""
    if context.store == "postgresql":
        with pgstore.temporary_copy(path, context.log) as url:
            yield url
    else:
        yield rawstore.database_url(path)


def run_p3(context: Context) -> list[Figure]:
    """Total seconds to select and render every target's digest (P3), then the same with saved searches (P3s)."""
    return _p3(context, "P3", filter_share=0.0, then_p3s=True)


def run_p3_filters(context: Context) -> list[Figure]:
    """P3 with `FILTER_SHARE` of the targets carrying filter rules and `SEARCH_SHARE` a saved search."""
    return _p3(context, "P3.filters", filter_share=FILTER_SHARE, with_searches=True)


def _p3(context: Context, figure_id: str, *, filter_share: float, then_p3s: bool = False,
        with_searches: bool = False) -> list[Figure]:
    """`figure_id` on a store of its own (`with_searches`: `SEARCH_SHARE` of its targets with a saved search), and
    if `then_p3s`, P3s on a copy of it where they have one."""
    sizes = context.sizes
    scratch = context.scratch(figure_id.lower())
    path = scratch / "digests.db"
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    stories = sizes.p3_stories * STORE_DAYS // 2
    context.log(f"{figure_id}: a store of {stories:,} stories over {STORE_DAYS} days and {sizes.p3_targets:,} "
                f"targets ({WEEKLY_SHARE:.0%} weekly, {filter_share:.0%} with filters)")
    build_story_store(path, stories, anchor=now, seed=context.seed + 3, hours=STORE_DAYS * 24)
    seed_targets(path, count=sizes.p3_targets, seed=context.seed, created_at=now - timedelta(days=30),
                 last_delivered_at=now - timedelta(days=1), slot=now, weekly_share=WEEKLY_SHARE,
                 filter_share=filter_share)
    saved_here = add_saved_searches(path, share=SEARCH_SHARE, seed=context.seed + 5,
                                    created_at=now - timedelta(days=2)) if with_searches else 0
    searched = scratch / "digests-searched.db"
    if then_p3s:
        _copy(path, searched)
        saved = add_saved_searches(searched, share=SEARCH_SHARE, seed=context.seed + 5,
                                   created_at=now - timedelta(days=2))
    with database(context, path) as url:
        figures = [render_all(context, url, now, distinct_selections(path), figure_id=figure_id,
                              filters=filter_counts(path), saved_searches=saved_here)]
    if then_p3s:
        context.log(f"P3s: the same with {saved:,} saved searches ({SEARCH_SHARE:.0%} of the targets)")
        with database(context, searched) as url:
            figures.append(render_all(context, url, now, distinct_selections(searched), figure_id="P3s",
                                      saved_searches=saved))
    return figures


def _copy(source: Path, destination: Path) -> None:
    """A copy of a SQLite store (its WAL included)."""
    original, copy = sqlite3.connect(source), sqlite3.connect(destination)
    try:
        original.backup(copy)
    finally:
        original.close()
        copy.close()


def filter_counts(path: Path) -> dict[str, int]:
    """How many targets have filter rules, how many rules there are, and how many distinct ones (and regexes)."""
    connection = rawstore.connect(path)
    try:
        targets, rules, distinct, regexes = connection.execute(
            "SELECT count(DISTINCT target_id), count(*), "
            "(SELECT count(*) FROM (SELECT DISTINCT kind, field, pattern FROM target_filter)), "
            "(SELECT count(*) FROM (SELECT DISTINCT field, pattern FROM target_filter WHERE kind = 'regex')) "
            "FROM target_filter").fetchone()
    finally:
        connection.close()
    return {"targets_with_filters": targets, "filter_rules": rules, "distinct_rules": distinct,
            "distinct_regexes": regexes}


@contextmanager
def service_collector() -> Iterator[None]:
    """The garbage collector as `briefbot run` sets it (`tune_for_service`), inside the block only."""
    threshold = gc.get_threshold()
    tune_for_service()
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def render_all(context: Context, url: str, now: datetime, selections: int, *, figure_id: str = "P3",
               filters: dict[str, int] | None = None, saved_searches: int = 0) -> Figure:
    """Render every active target's digest at `now` from the store at `url`, as one slot's deliveries do."""
    sizes = context.sizes
    services = Services.from_settings(Settings(database_url=url))
    with session_scope(services.engine) as session:
        targets = active_targets(session)
    random.Random(context.seed).shuffle(targets)

    context.log(f"{figure_id}: rendering {len(targets):,} digests from {context.store_name} "
                f"(budget {sizes.p3_budget_seconds:.0f} s)")
    samples: list[float] = []
    parts = empty = searched = 0
    pools, readers, slot_filters = StoryPools(), SlotReaders(), SlotFilters()
    with service_collector():  # a slot's deliveries run in the bot's process, which sets its collector so
        started, cpu_started = time.perf_counter(), time.process_time()
        for target in targets:
            began = time.perf_counter()
            with session_scope(services.engine) as session:
                session.add(target)
                rendered = render_target(session=session, taxonomy=services.taxonomy, renderer=services.renderer,
                                         target=target, now=now, pools=pools, readers=readers, filters=slot_filters)
            samples.append(time.perf_counter() - began)
            parts += len(rendered)
            empty += not rendered
            searched += any("**🔎 " in content_of(part) for part in rendered)
            if time.perf_counter() - started > sizes.p3_budget_seconds:
                break
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    services.close()

    done = len(samples)
    total = elapsed if done == len(targets) else elapsed / done * len(targets)
    text = f"{total:.1f} s" if done == len(targets) else f"≈ {total:.0f} s (extrapolated from {done:,} targets)"
    details = {"targets": len(targets), "rendered": done, "extrapolated": done < len(targets),
               "measured_seconds": round(elapsed, 2), "measured_cpu_seconds": round(cpu, 2),
               "per_target_ms_mean": round(elapsed / done * 1000, 2),
               "per_target_ms_p95": round(percentile(samples, 0.95) * 1000, 2), "parts": parts,
               "empty_digests": empty, "stories": sizes.p3_stories * STORE_DAYS // 2, "store_days": STORE_DAYS,
               "weekly_share": WEEKLY_SHARE, "distinct_selections": selections,
               "saved_searches": saved_searches, "digests_with_search_sections": searched,
               "store": context.store, "load_average": round(os.getloadavg()[0], 2), **(filters or {})}
    with_filters = f", {filters['targets_with_filters']:,} with filters" if filters and filters["filter_rules"] else ""
    with_searches = f", {saved_searches:,} with a saved search" if saved_searches else ""
    return Figure(figure_id, f"select + render digests for {len(targets):,} targets of one slot (daily and weekly"
                  f"{with_filters}{with_searches}) on {context.store_name}",
                  text, f"≤ {TARGET_SECONDS:g} s total", total <= TARGET_SECONDS, total, "s", details)
