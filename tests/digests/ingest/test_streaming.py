"""Local JSON Lines files are streamed: no size cap, bounded memory, one transaction, per-line errors."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path

import pytest

import digests.ingest
from digests.cli import ingest_one
from digests.errors import SourceError
from digests.ingest import jsonl, read_source, read_source_batches
from digests.services import Services
from digests.settings import Settings
from digests.store import count_stories, session_scope


def line(number: int) -> str:
    return json.dumps({"title": f"Story number {number} about the harbour", "url": f"https://news.example/{number}",
                       "summary": "A summary of a few words. " * 4, "source": "Wire"})


def write_jsonl(path: Path, count: int, *, extra: list[str] = ()) -> Path:
    path.write_text("\n".join([*(line(i) for i in range(count)), *extra]) + "\n", encoding="utf-8")
    return path


def test_lines_come_in_batches_with_errors_in_place() -> None:
    text = "\n".join([line(1), "{not json", "", line(2), json.dumps({"url": "x"}), line(3)]).encode()
    batches = list(jsonl.stream_json_lines(io.BytesIO(b"\xef\xbb\xbf" + text), source="s", batch=2))
    assert [len(drafts) + len(errors) for drafts, errors in batches] == [2, 2, 1]
    titles = [draft.title for drafts, _ in batches for draft in drafts]
    assert titles == [f"Story number {i} about the harbour" for i in (1, 2, 3)]
    errors = [error for _, batch_errors in batches for error in batch_errors]
    assert [error.split(": ", 1)[0] for error in errors] == ["line 2", "line 5"]
    assert "not valid JSON" in errors[0] and "title" in errors[1]


def test_an_over_long_line_is_skipped_not_held(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonl, "MAX_LINE_BYTES", 100)
    text = "\n".join(['{"title": "Before"}', json.dumps({"title": "x" * 500}), '{"title": "After"}'])
    drafts, errors = next(jsonl.stream_json_lines(io.BytesIO(text.encode()), source="s", batch=10))
    assert errors == ["line 2: longer than 100 bytes; skipped"]
    assert [d.title for d in drafts] == ["Before", "After"]


def test_streaming_holds_one_batch_not_the_file(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "big.jsonl", 20_000)
    assert path.stat().st_size > 4_000_000
    tracemalloc.start()
    with path.open("rb") as lines:
        stories = sum(len(drafts) for drafts, _ in jsonl.stream_json_lines(lines, source="s", batch=500))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert stories == 20_000
    assert peak < path.stat().st_size / 4  # whole-file reading held the bytes, the text and every draft


def test_a_jsonl_file_over_the_size_cap_is_ingested_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               database_url: str) -> None:
    monkeypatch.setattr(digests.ingest, "MAX_FILE_BYTES", 10_000)
    monkeypatch.setattr(digests.ingest, "STREAM_BATCH", 300)
    path = write_jsonl(tmp_path / "archive.jsonl", 1_000, extra=["{broken"])
    assert path.stat().st_size > 10_000
    assert len(list(read_source_batches(str(path)))) == 4
    with pytest.raises(SourceError, match="larger than"):
        read_source(str(path))  # the cap stays for whole-file reading (briefing text, feed files)
    feed = tmp_path / "feed.xml"
    feed.write_bytes(b"<rss>" + b" " * 20_000 + b"</rss>")
    services = Services.from_settings(Settings(database_url=database_url, topic_tagger="keywords"))
    try:
        report, failed, added = ingest_one(str(path), services)
        assert failed and added.new == 1_000 and "1 item(s) skipped: line 1001" in report
        assert ingest_one(str(feed), services)[1]  # refused by the cap
        with session_scope(services.engine) as session:
            assert count_stories(session=session) == 1_000
    finally:
        services.close()


def test_a_file_with_no_valid_line_fails_and_stores_nothing(tmp_path: Path, database_url: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("{broken\n" * 3, encoding="utf-8")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    services = Services.from_settings(Settings(database_url=database_url, topic_tagger="keywords"))
    try:
        report, failed, added = ingest_one(str(path), services)
        assert failed and added is None and "no valid line; line 1: not valid JSON" in report
        assert "the file is empty" in ingest_one(str(empty), services)[0]
        assert "no such file" in ingest_one(str(tmp_path / "missing.jsonl"), services)[0]
    finally:
        services.close()


def test_a_report_counts_every_bad_line_and_quotes_the_first_three(tmp_path: Path, database_url: str) -> None:
    path = write_jsonl(tmp_path / "mixed.jsonl", 5, extra=["{broken"] * 10)
    services = Services.from_settings(Settings(database_url=database_url, topic_tagger="keywords"))
    try:
        report, failed, added = ingest_one(str(path), services)
    finally:
        services.close()
    assert failed and added.new == 5
    assert "10 item(s) skipped: line 6" in report and report.count("not valid JSON") == 3 and report.endswith(" …")
