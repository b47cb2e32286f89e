"""Reading sources (files and URLs of every supported format) into story drafts.

`read_source` decides the format and returns what it parsed plus per-item problems; storing is the
job of `digests.store`, so parsing stays testable without a database. `read_source_batches` is what
ingest uses: the same, except that a local JSON Lines file, which may hold an archive of millions of
stories, is streamed in batches in bounded memory instead of being read whole (and has no size cap).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from digests.errors import SourceError
from digests.ingest.briefing_text import parse_briefing_text
from digests.ingest.draft import StoryDraft
from digests.ingest.feeds import parse_feed
from digests.ingest.fetch import fetch_url
from digests.ingest.jsonl import parse_json_lines, stream_json_lines

MAX_FILE_BYTES = 50 * 1024 * 1024
STREAM_BATCH = 5_000
TEXT_SUFFIXES = {".txt", ".text", ".md"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}


@dataclass
class ParsedSource:
    """The drafts read from one source, and messages for the items that could not be read."""

    drafts: list[StoryDraft]
    problems: list[str] = field(default_factory=list)


def is_url(source: str) -> bool:
    """True for an http(s) URL."""
    return source.lower().startswith(("http://", "https://"))


def read_source(source: str) -> ParsedSource:
    """Read and parse one file or URL; raises SourceError when nothing can be read from it."""
    if is_url(source):
        drafts, problems = parse_feed(fetch_url(source), location=source)
        return ParsedSource(drafts, problems)
    if "://" in source:
        raise SourceError("only files and http(s) URLs can be ingested")
    data = _read_file(Path(source))
    suffix = Path(source).suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return ParsedSource(parse_briefing_text(_decode(data), source=_source_name(source)))
    if suffix in JSONL_SUFFIXES:
        drafts, problems = parse_json_lines(_decode(data), source=_source_name(source))
        if not drafts and problems:
            raise SourceError("no valid line; " + "; ".join(problems[:3]))
        return ParsedSource(drafts, problems)
    drafts, problems = parse_feed(data, location=source)
    return ParsedSource(drafts, problems)


def read_source_batches(source: str) -> Iterator[ParsedSource]:
    """The source's drafts in batches: one for most sources, STREAM_BATCH lines each for a local JSON Lines file."""
    if is_url(source) or Path(source).suffix.lower() not in JSONL_SUFFIXES:
        yield read_source(source)
        return
    stories = 0
    first_problems: list[str] = []
    try:
        with Path(source).open("rb") as lines:
            for drafts, problems in stream_json_lines(lines, source=_source_name(source), batch=STREAM_BATCH):
                stories += len(drafts)
                first_problems += problems[:3 - len(first_problems)]
                yield ParsedSource(drafts, problems)
    except OSError as exc:
        raise _file_error(exc) from None
    if not stories:
        raise SourceError("no valid line; " + "; ".join(first_problems) if first_problems else "the file is empty")


def _file_error(exc: OSError) -> SourceError:
    """What went wrong opening or reading a file, in words."""
    if isinstance(exc, FileNotFoundError):
        return SourceError("no such file")
    if isinstance(exc, IsADirectoryError):
        return SourceError("is a directory, not a file")
    if isinstance(exc, PermissionError):
        return SourceError("permission denied")
    return SourceError(f"cannot read: {exc.strerror}")


def _read_file(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SourceError(f"file larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; not read")
        return path.read_bytes()
    except OSError as exc:
        raise _file_error(exc) from None


def _decode(data: bytes) -> str:
    if not data.strip():
        raise SourceError("the file is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def _source_name(path: str) -> str:
    """A briefing file names no outlet, so its stories are credited to the file's name."""
    return Path(path).stem.replace("_", " ").replace("-", " ").strip() or "briefing"
