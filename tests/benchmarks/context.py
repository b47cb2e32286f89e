"""What every benchmark gets: the sizes of this run (full or quick), the store, a scratch directory, a log."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.benchmarks.generator import DEFAULT_SEED

# The large store is a deployment's history: 1,000,000 stories over 90 days is about 11,000 a day
# (40 outlets at ~280 stories a day), so a day's window holds a busy day, not half the store.
STORE_DAYS = 90
STORES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark is; `FULL` are the sizes of issue 6, `QUICK` a smoke check."""

    p1a_stories: int
    p1b_files: int
    p1b_items: int
    p2_stories: int
    p2_days: int
    p2_queries: int
    p3_stories: int
    p3_targets: int
    p3_budget_seconds: float
    p4_digests: int
    p5_stories: int
    p5_days: int
    p5_targets: int
    p5_fanout: int
    p5_invocations: int


FULL = Sizes(
    p1a_stories=100_000, p1b_files=100, p1b_items=100,
    p2_stories=1_000_000, p2_days=STORE_DAYS, p2_queries=200,
    p3_stories=20_000, p3_targets=10_000, p3_budget_seconds=90.0,
    p4_digests=2_000,
    p5_stories=1_000_000, p5_days=STORE_DAYS, p5_targets=10_000, p5_fanout=200, p5_invocations=30,
)
QUICK = Sizes(
    p1a_stories=2_000, p1b_files=10, p1b_items=100,
    p2_stories=20_000, p2_days=STORE_DAYS, p2_queries=30,
    p3_stories=5_000, p3_targets=200, p3_budget_seconds=10.0,
    p4_digests=100,
    p5_stories=20_000, p5_days=STORE_DAYS, p5_targets=200, p5_fanout=20, p5_invocations=6,
)


@dataclass
class Context:
    """Shared by the benchmarks of one run."""

    sizes: Sizes
    workdir: Path
    quick: bool
    store: str = "sqlite"  # which database P2 and P3 run on: a key of STORES
    seed: int = DEFAULT_SEED
    started: float = field(default_factory=time.perf_counter)

    @property
    def store_name(self) -> str:
        """The store's name as the table shows it."""
        return STORES[self.store]

    def log(self, message: str) -> None:
        """A progress line on stderr, with the time since the run started and the machine's load."""
        elapsed = time.perf_counter() - self.started
        print(f"[{elapsed:7.1f}s load {os.getloadavg()[0]:4.2f}] {message}", file=sys.stderr, flush=True)

    def scratch(self, name: str) -> Path:
        """A new, empty directory for one benchmark."""
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=False)
        return path
