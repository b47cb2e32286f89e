"""JSON Lines: one story object a line (`title` required; `url`, `summary`, `body`, `source`,
`published` as ISO 8601, `topics` optional)."""

from __future__ import annotations

import orjson

from digests.errors import InputError
from digests.ingest.draft import StoryDraft
from digests.text import html_to_text
from digests.timeutil import parse_iso_datetime


def parse_json_lines(text: str, *, source: str) -> tuple[list[StoryDraft], list[str]]:
    """The stories of every valid line, and an error message for every invalid one."""
    drafts: list[StoryDraft] = []
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            drafts.append(_draft(orjson.loads(line), default_source=source))
        except orjson.JSONDecodeError as exc:
            errors.append(f"line {number}: not valid JSON ({exc.msg})")
        except InputError as exc:
            errors.append(f"line {number}: {exc}")
    return drafts, errors


def _draft(obj: object, *, default_source: str) -> StoryDraft:
    if not isinstance(obj, dict):
        raise InputError("expected a JSON object")
    title = _text(obj, "title")
    if not title:
        raise InputError("missing “title”")
    published = _text(obj, "published")
    topics = obj.get("topics") or []
    if isinstance(topics, str):
        topics = [topics]
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise InputError("“topics” must be a list of topic slugs")
    return StoryDraft(
        title=html_to_text(title),
        source=_text(obj, "source") or default_source,
        url=_text(obj, "url") or None,
        summary=html_to_text(_text(obj, "summary")),
        body=html_to_text(_text(obj, "body")) or None,
        published_at=parse_iso_datetime(published) if published else None,
        topics=tuple(t.strip().lower() for t in topics),
    )


def _text(obj: dict, key: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"“{key}” must be a string")
    return value.strip()
