"""Briefbot's benchmark suite (issue 6): ingest, query, digest build, fan-out, memory, start-up.

Run it with ``python -m tests.benchmarks [--quick] [--only P1a,P2] [--json PATH]``. Benchmarks are
not tests: nothing here is named ``test_*`` and pytest does not collect this package
(``norecursedirs`` in pyproject.toml). Each figure group lives in its own module and returns
`Figure` records (see `tests.benchmarks.report`); `__main__` prints them as one table and writes
them as JSON.
"""
