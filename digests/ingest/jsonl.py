"""JSON Lines: one story object a line (`title` required; `url`, `summary`, `body`, `source`,
`published` as ISO 8601, `topics`, `image` (the article's picture, an http(s) URL) optional)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from digests.errors import InputError
from digests.ingest.draft import StoryDraft, clean_image_url
from digests.ingest.json_text import JSON_ERRORS, json_error_message, load_json
from digests.text import SHORT_HTML_MAX, has_visible_text, html_to_text
from digests.timeutil import parse_iso_datetime


def parse_json_lines(text: str, *, source: str) -> tuple[list[StoryDraft], list[str]]:
    """The stories of every valid line, and an error message for every invalid one."""
    drafts: list[StoryDraft] = []
    errors: list[str] = []
    # Lines end at "\n" only: U+2028 and other characters str.splitlines() breaks at are legal in JSON strings.
    for number, line in enumerate(text.split("\n"), start=1):
        _read_text_line(line, number, source, drafts, errors)
    return drafts, errors


# A line longer than this is skipped with an error instead of being read into memory whole.
MAX_LINE_BYTES = 1024 * 1024
_BOM = b"\xef\xbb\xbf"


def stream_json_lines(lines: BinaryIO, *, source: str, batch: int) -> Iterator[tuple[list[StoryDraft], list[str]]]:
    """The stories of a JSON Lines stream, `batch` lines at a time, with an error message for every invalid line.

    Only one line is held at a time, so memory stays bounded however large the file is; a line over
    MAX_LINE_BYTES is skipped (and read past in pieces), never held whole.
    """
    drafts: list[StoryDraft] = []
    errors: list[str] = []
    number = 0
    while True:
        raw = lines.readline(MAX_LINE_BYTES + 1)
        if not raw:
            break
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            errors.append(f"line {number}: longer than {MAX_LINE_BYTES:,} bytes; skipped")
            while raw and not raw.endswith(b"\n"):
                raw = lines.readline(MAX_LINE_BYTES)
        else:
            _read_line(raw.removeprefix(_BOM) if number == 1 else raw, number, source, drafts, errors)
        if len(drafts) + len(errors) >= batch:
            yield drafts, errors
            drafts, errors = [], []
    yield drafts, errors


def _read_line(raw: bytes, number: int, source: str, drafts: list[StoryDraft], errors: list[str]) -> None:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        errors.append(f"line {number}: not UTF-8 text (byte 0x{raw[exc.start]:02x})")
        return
    _read_text_line(line, number, source, drafts, errors)


def _read_text_line(line: str, number: int, source: str, drafts: list[StoryDraft], errors: list[str]) -> None:
    """Append the line's story to `drafts`, or what is wrong with it to `errors`; a blank line is neither."""
    if not line.strip():
        return
    try:
        drafts.append(_draft(load_json(line), default_source=source))
    except JSON_ERRORS as exc:
        errors.append(f"line {number}: not valid JSON ({json_error_message(exc)})")
    except InputError as exc:
        errors.append(f"line {number}: {exc}")


def _draft(obj: object, *, default_source: str) -> StoryDraft:
    if not isinstance(obj, dict):
        raise InputError("expected a JSON object")
    title = html_to_text(_text(obj, "title"), SHORT_HTML_MAX)
    if not has_visible_text(title):
        raise InputError("missing “title”" if not obj.get("title") else "“title” shows no visible text")
    published = _text(obj, "published")
    topics = obj.get("topics") or []
    if isinstance(topics, str):
        topics = [topics]
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise InputError("“topics” must be a list of topic slugs")
    return StoryDraft(
        title=title,
        source=_text(obj, "source") or default_source,
        url=_text(obj, "url") or None,
        summary=html_to_text(_text(obj, "summary"), SHORT_HTML_MAX),
        body=html_to_text(_text(obj, "body")) or None,
        published_at=parse_iso_datetime(published) if published else None,
        topics=tuple(t.strip().lower() for t in topics),
        # A bad picture is dropped, never the story: it is optional decoration.
        image_url=clean_image_url(obj.get("image")) if isinstance(obj.get("image"), str) else None,
    )


def _text(obj: dict, key: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"“{key}” must be a string")
    return value.strip()
