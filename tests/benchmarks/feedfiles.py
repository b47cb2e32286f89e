"""Writing generated stories as the files Briefbot ingests: JSON Lines, RSS 2.0 and Atom.

JSON Lines come one file per outlet (a nightly export each); feeds come as RSS 2.0 or Atom
documents of a fixed number of items, bodies as HTML in `content:encoded` / `<content>`,
descriptions as HTML paragraphs, as real outlets publish them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from tests.benchmarks.generator import GeneratedStory

_FILE_NAME_RE = re.compile(r"[^a-z0-9]+")


def write_jsonl_by_source(stories: Iterable[GeneratedStory], directory: Path) -> list[Path]:
    """One `.jsonl` file per outlet in `directory`; returns the files, largest first."""
    directory.mkdir(parents=True, exist_ok=True)
    lines: dict[str, list[str]] = {}
    for story in stories:
        lines.setdefault(story.source, []).append(json.dumps(story.as_json(), ensure_ascii=False))
    paths = []
    for source, rows in sorted(lines.items(), key=lambda item: -len(item[1])):
        path = directory / f"{_file_name(source)}.jsonl"
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def write_feeds(stories: Sequence[GeneratedStory], directory: Path, *, files: int, items: int) -> list[Path]:
    """`files` feed documents of `items` stories each; every third one is Atom, the others RSS 2.0."""
    if len(stories) < files * items:
        raise ValueError(f"need {files * items} stories, got {len(stories)}")
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(files):
        chunk = stories[number * items:(number + 1) * items]
        outlet = chunk[0].source
        if number % 3 == 2:
            path, text = directory / f"feed-{number:03d}.atom", atom_document(outlet, number, chunk)
        else:
            path, text = directory / f"feed-{number:03d}.rss", rss_document(outlet, number, chunk)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def rss_document(outlet: str, number: int, stories: Sequence[GeneratedStory]) -> str:
    """An RSS 2.0 feed of `stories`, with `content:encoded` bodies where a story has one."""
    items = []
    for story in stories:
        parts = [f"<title>{escape(story.title)}</title>", f"<link>{escape(story.url)}</link>",
                 f'<guid isPermaLink="true">{escape(story.canonical_url)}</guid>']
        if story.summary:
            parts.append(f"<description>{escape(_html(story.summary))}</description>")
        if story.body:
            parts.append(f"<content:encoded><![CDATA[{_html(story.body)}]]></content:encoded>")
        if story.published is not None:
            parts.append(f"<pubDate>{format_datetime(story.published)}</pubDate>")
        items.append("<item>" + "".join(parts) + "</item>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">\n<channel>\n'
        f"<title>{escape(outlet)}</title><link>https://example.org/{number}</link>"
        f"<description>{escape(outlet)} top stories</description>\n" + "\n".join(items) + "\n</channel>\n</rss>\n"
    )


def atom_document(outlet: str, number: int, stories: Sequence[GeneratedStory]) -> str:
    """An Atom feed of `stories`, summaries and contents as escaped HTML."""
    entries = []
    for story in stories:
        stamp = (story.published.isoformat() if story.published else "2026-01-01T00:00:00+00:00")
        parts = [f"<title>{escape(story.title)}</title>", f'<link href="{escape(story.url)}"/>',
                 f"<id>{escape(story.canonical_url)}</id>", f"<updated>{stamp}</updated>"]
        if story.published is not None:
            parts.append(f"<published>{stamp}</published>")
        if story.summary:
            parts.append(f'<summary type="html">{escape(_html(story.summary))}</summary>')
        if story.body:
            parts.append(f'<content type="html">{escape(_html(story.body))}</content>')
        entries.append("<entry>" + "".join(parts) + "</entry>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>{escape(outlet)}</title><id>urn:briefbot-bench:{number}</id>"
        "<updated>2026-01-01T00:00:00+00:00</updated>\n" + "\n".join(entries) + "\n</feed>\n"
    )


def _html(text: str) -> str:
    """Plain paragraphs as the HTML a feed carries."""
    return "".join(f"<p>{escape(paragraph)}</p>" for paragraph in text.split("\n\n"))


def _file_name(source: str) -> str:
    return _FILE_NAME_RE.sub("-", source.lower()).strip("-") or "source"
