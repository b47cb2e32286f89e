"""`python -m tests.benchmarks [--quick] [--only P1a,P2,…] [--store sqlite|postgresql] [--json PATH] [--profile DIR]`.

Runs the figure groups of issue 6 in order, prints one table (id, what, figure, target, met?) and
writes the figures as JSON (default `tests/benchmarks/results/latest.json`). `--quick` uses small
sizes (a smoke check of about a minute); the full sizes take several minutes, more on the first run,
which builds and caches a 1,000,000-story store. A group that fails is reported in the table and
the others still run. The exit status is 0 even when targets are missed: these are measurements,
not tests (1 only if a benchmark could not run). `--store postgresql` runs P2 and P3 (and P3.filters) on the
PostgreSQL server of the tests (see `pgstore.py`); the other figures measure SQLite only.
"""

from __future__ import annotations

import argparse
import cProfile
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.benchmarks.context import FULL, QUICK, STORES, Context
from tests.benchmarks.report import Figure, failed, markdown_table, table, write_json

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
Group = Callable[[Context], list[Figure]]
# The figures measured on either store; the others (ingest, the bot as a process) run on SQLite only.
ON_ANY_STORE = frozenset({"P2", "P3", "P3s", "P3.filters"})


def _groups() -> list[tuple[tuple[str, ...], str, str, Group]]:
    """(figure ids, what, target, runner) of every group, in run order; imported lazily."""
    from tests.benchmarks.digest_bench import run_p3, run_p3_filters
    from tests.benchmarks.fanout_bench import run_p4
    from tests.benchmarks.footprint_bench import run_p5_p6
    from tests.benchmarks.ingest_bench import run_p1a, run_p1b
    from tests.benchmarks.query_bench import run_p2
    from tests.benchmarks.tagging_bench import run_t1, run_t2

    return [
        (("P1a",), "ingest from JSON Lines", "≥ 10,000 stories/s and ≥ 25 % of raw", run_p1a),
        (("P1b",), "ingest from RSS/Atom", "≥ 50 % of bare feedparser", run_p1b),
        (("P2",), "/stories latency", "p50 ≤ 5 ms, p95 ≤ 25 ms", run_p2),
        (("P3", "P3s"), "digests for many targets (P3s: a tenth with a saved search)", "≤ 5 s", run_p3),
        (("P3.filters",), "digests for many targets, 30 % with 2–5 filter rules, 10 % a saved search", "≤ 5 s",
         run_p3_filters),
        (("P4",), "fan-out at 50 requests/s", "≤ 1.1 × ideal, parts only, 0 lost/dup, ≤ 1 % 429", run_p4),
        (("P5", "P6"), "bot memory and start-up", "≤ 400 MB with the topic model; ≤ 3 s", run_p5_p6),
        (("T1",), "topic tagging quality", "recall ≥ 0.90, mis-tag ≤ 8 %, untagged ≤ 3 %, ≤ 1.6/story", run_t1),
        (("T2",), "semantic tagging speed", "≥ 1,000 stories/s", run_t2),
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke check of about a minute")
    parser.add_argument("--only", default="", help="comma-separated figure ids to run, e.g. P1a,P2 (default: all)")
    parser.add_argument("--store", choices=STORES, default="sqlite",
                        help="the database P2 and P3 run on (default sqlite); postgresql needs --only P2,P3")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write the figures (default {RESULTS})")
    parser.add_argument("--profile", type=Path, help="write a cProfile file per group (in-process work only) here")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    return parser.parse_args(argv)


def selected(groups: list[tuple[tuple[str, ...], str, str, Group]], only: str):
    """The groups holding any of the ids in `only` (all when empty); unknown ids are an error."""
    wanted = {part.strip().lower() for part in only.split(",") if part.strip()}
    known = {figure_id.lower() for ids, *_ in groups for figure_id in ids}
    unknown = wanted - known
    if unknown:
        raise SystemExit(f"unknown figure id(s): {', '.join(sorted(unknown))}; "
                         "known: P1a, P1b, P2, P3, P3s, P3.filters, P4, P5, P6, T1, T2")
    return [group for group in groups if not wanted or wanted & {i.lower() for i in group[0]}]


def check_store(groups: list[tuple[tuple[str, ...], str, str, Group]], store: str) -> None:
    """Refuse a store other than SQLite for figures that measure SQLite only."""
    sqlite_only = [figure_id for ids, *_ in groups for figure_id in ids if figure_id not in ON_ANY_STORE]
    if store != "sqlite" and sqlite_only:
        raise SystemExit(f"--store {store} measures {', '.join(sorted(ON_ANY_STORE))} only, not "
                         f"{', '.join(sqlite_only)}: add --only {','.join(sorted(ON_ANY_STORE))}")


def run_group(context: Context, ids: tuple[str, ...], what: str, target: str, runner: Group,
              profile_dir: Path | None) -> list[Figure]:
    """One group's figures; a failure becomes a row saying so."""
    try:
        if profile_dir is None:
            return runner(context)
        profile_dir.mkdir(parents=True, exist_ok=True)
        profiler = cProfile.Profile()
        try:
            return profiler.runcall(runner, context)
        finally:
            profiler.dump_stats(profile_dir / f"{'-'.join(ids)}.prof")
    except Exception as error:  # report it and go on with the other groups
        context.log(f"{'/'.join(ids)} failed: {error!r}")
        return [failed("/".join(ids), what, target, error)]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks; returns the exit status."""
    args = parse_args(argv)
    groups = selected(_groups(), args.only)
    check_store(groups, args.store)
    started = time.perf_counter()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="briefbot-bench-") as workdir:
        context = Context(sizes=QUICK if args.quick else FULL, workdir=Path(workdir), quick=args.quick,
                          store=args.store)
        context.log(f"{'quick' if args.quick else 'full'} run of {', '.join('/'.join(g[0]) for g in groups)} "
                    f"on {context.store_name}")
        for ids, what, target, runner in groups:
            figures += run_group(context, ids, what, target, runner, args.profile)
    seconds = time.perf_counter() - started
    print(table(figures))
    if args.markdown:
        print()
        print(markdown_table(figures))
    print(f"\n{len(figures)} figures in {seconds:.0f} s; {sum(f.met is False for f in figures)} target(s) missed; "
          f"written to {args.json}")
    write_json(args.json, figures, mode="quick" if args.quick else "full", store=args.store, seconds=seconds)
    return 1 if any(f.met is None and "error" in f.details for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
