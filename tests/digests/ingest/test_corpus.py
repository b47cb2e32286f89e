"""Every document of the feed corpus ingests or fails with a clear error: no crash, no hang, no blow-up."""

from __future__ import annotations

import resource
import signal
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from digests.errors import SourceError
from digests.ingest import read_source
from digests.models import Story
from digests.store import add_stories, open_store, session_scope

CORPUS = Path(__file__).parents[2] / "data" / "feed-corpus"
SECONDS_PER_FILE = 10


class Hang(Exception):
    """A document took too long."""


def _alarm(signum, frame):
    raise Hang


@pytest.mark.parametrize("folder", ["feeds", "news-feeds"])
def test_every_corpus_document_ingests_or_fails_cleanly(folder, taxonomy, now, tmp_path):
    files = sorted(path for path in (CORPUS / folder).iterdir() if path.name != "MANIFEST.tsv")
    assert len(files) > 10
    engine = open_store(f"sqlite:///{tmp_path / 'corpus.db'}", taxonomy)
    outcomes: Counter[str] = Counter()
    crashes: dict[str, str] = {}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for path in files:
            signal.alarm(SECONDS_PER_FILE)
            try:
                parsed = read_source(str(path))
                with session_scope(engine) as session:
                    add_stories(session=session, drafts=parsed.drafts, taxonomy=taxonomy, now=now)
                outcomes["ingested"] += 1
            except SourceError as error:
                assert str(error), path.name  # a clear message, never an empty one
                outcomes["failed cleanly"] += 1
            except Exception as error:  # anything else is the crash this test exists to find
                crashes[path.name] = f"{type(error).__name__}: {error}"[:200]
            finally:
                signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    print(f"\n{folder}: {len(files)} files, {dict(outcomes)}, crashed {len(crashes)}, max RSS grew {grown_mb:.0f} MB")
    assert crashes == {}
    assert grown_mb < 200  # entity expansion would take far more
    with session_scope(engine) as session:
        stories = session.exec(select(Story)).all()
    assert stories
    assert all(len(story.title) <= 300 and len(story.summary) <= 400 for story in stories)
    assert not any("root:x:0:0" in (story.title + story.summary + (story.body or "")) for story in stories)
    assert not any("<script" in (story.title + story.summary + (story.body or "")).lower() for story in stories)
    engine.dispose()
