"""P1a and P1b: ingest throughput through the real code path, each against its baseline in the same run.

P1a reads JSON Lines files (one per outlet) with `digests.cli.ingest_one`, exactly what
`briefbot ingest` does per source: `read_source` → `add_stories` (clean, dedupe, tag, insert,
FTS triggers) → `record_ingest_run`, one transaction per file. Its baseline inserts the very rows
that ingest stored into a second store with the same migrations and triggers, with `executemany`
in one transaction.

P1b ingests RSS/Atom files the same way and compares with bare `feedparser.parse` of the same
bytes, file by file (interleaved, so drift in the machine's load hits both alike).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import feedparser

from digests.cli import ingest_one
from digests.services import Services
from digests.settings import Settings
from tests.benchmarks import rawstore
from tests.benchmarks.context import Context
from tests.benchmarks.feedfiles import write_feeds, write_jsonl_by_source
from tests.benchmarks.generator import StoryGenerator
from tests.benchmarks.report import Figure


def open_services(database: Path, tagger: str = "auto") -> Services:
    """Services on a fresh store, migrations applied and the topic tagger fitted before any timing starts."""
    services = Services.from_settings(Settings(database_url=rawstore.database_url(database), topic_tagger=tagger))
    services.taxonomy.semantic_tagger  # noqa: B018 - fit (or load) the semantic model now
    services.engine  # noqa: B018 - open (and migrate) the store now
    return services


def ingest_files(files: list[Path], database: Path, now: datetime, tagger: str) -> tuple[float, int, int, int]:
    """(seconds, new, duplicates, failed sources) of ingesting the files into a fresh store."""
    services = open_services(database, tagger)
    new = duplicates = failed = 0
    started = time.perf_counter()
    for path in files:
        _, bad, added = ingest_one(str(path), services, now=now)
        failed += bad
        new += added.new if added else 0
        duplicates += added.duplicates if added else 0
    seconds = time.perf_counter() - started
    services.close()
    return seconds, new, duplicates, failed


def run_p1a(context: Context) -> list[Figure]:
    """Ingest JSON Lines through the real path (semantic tagger on, then off), then insert the same rows raw."""
    count = context.sizes.p1a_stories
    scratch = context.scratch("p1a")
    now = datetime.now(UTC)
    stories = StoryGenerator(seed=context.seed, anchor=now).stories(count)
    files = write_jsonl_by_source(stories, scratch / "jsonl")
    context.log(f"P1a: {count:,} stories in {len(files)} JSON Lines files; ingesting with keywords alone")
    keyword_seconds, *_ = ingest_files(files, scratch / "keywords.db", now, "keywords")
    context.log("P1a: ingesting with keywords and the semantic tagger")
    ingest_seconds, new, duplicates, failed = ingest_files(files, scratch / "ingest.db", now, "semantic")

    source = rawstore.connect(scratch / "ingest.db")
    story_rows, link_rows = rawstore.read_back(source)
    source.close()
    rawstore.create_store(scratch / "raw.db")
    target = rawstore.connect(scratch / "raw.db")
    context.log(f"P1a: ingest took {ingest_seconds:.1f} s; inserting the same {len(story_rows):,} rows raw")
    started = time.perf_counter()
    rawstore.insert(target, story_rows, link_rows)
    raw_seconds = time.perf_counter() - started
    target.close()

    read_rate = count / ingest_seconds
    keyword_rate = count / keyword_seconds
    stored_rate = new / ingest_seconds
    raw_rate = len(story_rows) / raw_seconds
    ratio = stored_rate / raw_rate
    details = {"stories_read": count, "files": len(files), "new": new, "duplicates": duplicates,
               "failed_sources": failed, "topic_links": len(link_rows), "ingest_seconds": round(ingest_seconds, 2),
               "raw_seconds": round(raw_seconds, 2), "stored_per_second": round(stored_rate),
               "raw_rows_per_second": round(raw_rate)}
    return [
        Figure("P1a", f"ingest {count:,} stories from JSON Lines (parse+tag+dedupe+store+FTS), semantic tagger on",
               f"{read_rate:,.0f} stories/s", "≥ 10,000 stories/s", read_rate >= 10_000, read_rate, "stories/s",
               details),
        Figure("P1a.kw", "the same with keyword tagging alone (TOPIC_TAGGER=keywords)",
               f"{keyword_rate:,.0f} stories/s", "≥ 10,000 stories/s", keyword_rate >= 10_000, keyword_rate,
               "stories/s", {"ingest_seconds": round(keyword_seconds, 2)}),
        Figure("P1a.raw", "ingest vs raw executemany of the same rows, same schema",
               f"{ratio:.0%} ({stored_rate:,.0f} vs {raw_rate:,.0f} rows/s)", "≥ 25 %", ratio >= 0.25, ratio,
               "ratio", details),
    ]


def run_p1b(context: Context) -> list[Figure]:
    """Ingest RSS/Atom files through the real path vs bare feedparser on the same files; the ratio of rates."""
    files_count, items = context.sizes.p1b_files, context.sizes.p1b_items
    scratch = context.scratch("p1b")
    now = datetime.now(UTC)
    stories = list(StoryGenerator(seed=context.seed + 1, anchor=now, duplicate_rate=0).stories(files_count * items))
    files = write_feeds(stories, scratch / "feeds", files=files_count, items=items)
    context.log(f"P1b: {len(files)} feed files × {items} items; parsing and ingesting, interleaved")

    services = open_services(scratch / "ingest.db")
    bare_seconds = ingest_seconds = 0.0
    parsed_entries = new = failed = 0
    for path in files:
        started = time.perf_counter()
        parsed_entries += len(feedparser.parse(path.read_bytes()).entries)
        bare_seconds += time.perf_counter() - started
        started = time.perf_counter()
        _, bad, added = ingest_one(str(path), services, now=now)
        ingest_seconds += time.perf_counter() - started
        failed += bad
        new += added.new if added else 0
    services.close()

    total = files_count * items
    bare_rate, ingest_rate = total / bare_seconds, total / ingest_seconds
    ratio = ingest_rate / bare_rate
    details = {"files": files_count, "items": total, "rss_files": sum(p.suffix == ".rss" for p in files),
               "atom_files": sum(p.suffix == ".atom" for p in files), "entries_parsed_bare": parsed_entries,
               "new": new, "failed_sources": failed, "bare_seconds": round(bare_seconds, 2),
               "ingest_seconds": round(ingest_seconds, 2), "bare_items_per_second": round(bare_rate),
               "ingest_items_per_second": round(ingest_rate)}
    return [Figure("P1b", f"ingest {files_count} RSS/Atom files × {items} items vs bare feedparser",
                   f"{ratio:.0%} ({ingest_rate:,.0f} vs {bare_rate:,.0f} items/s)", "≥ 50 %", ratio >= 0.5, ratio,
                   "ratio", details)]
