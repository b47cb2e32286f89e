"""Coverage-guided fuzzing of every parser and text function with atheris (not part of the test suite).

    pip install atheris
    python tests/fuzz/fuzz_parsers.py TARGET -max_total_time=180 -max_len=20000 [corpus_dir]

TARGET is one of: feed, jsonl, briefing, text, url, render, opml. An input fails when it raises anything
but a BriefbotError, or when one call takes longer than SLOW_SECONDS (inputs are at most 64 KB, so
only superlinear work gets there); atheris then saves it as crash-*.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from datetime import UTC, datetime

import atheris

with atheris.instrument_imports():
    from digests.errors import BriefbotError
    from digests.ingest.briefing_text import parse_briefing_text
    from digests.ingest.draft import StoryDraft, canonical_url
    from digests.ingest.feeds import parse_feed
    from digests.ingest.jsonl import parse_json_lines, stream_json_lines
    from digests.opml import ExportedFeed, read_opml, write_opml
    from digests.rendering import escape_markdown, link_target, split_message
    from digests.tag_text import headline_read, text_read
    from digests.text import (
        cut_at_word,
        drop_controls,
        headline_from_lead,
        html_to_text,
        lead_summary,
        normalise_title,
        tidy,
    )

SLOW_SECONDS = 0.5


def _feed(data: bytes) -> None:
    drafts, _ = parse_feed(data, location="https://fuzz.example/feed")
    for draft in drafts:
        draft.clean().dedupe_key()


def _jsonl(data: bytes) -> None:
    drafts, _ = parse_json_lines(data.decode("utf-8", "surrogateescape"), source="fuzz")
    for _, streamed in zip(range(10), stream_json_lines(io.BytesIO(data), source="fuzz", batch=50), strict=False):
        drafts += streamed[0]
    for draft in drafts:
        draft.clean().dedupe_key()


def _briefing(data: bytes) -> None:
    for draft in parse_briefing_text(data.decode("utf-8", "surrogateescape"), source="fuzz"):
        draft.clean().dedupe_key()


def _text(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")
    for limit in (20, 400):
        lead_summary(text, limit)
        headline_from_lead(text, limit)
        cut_at_word(text, limit)
    html_to_text(text)
    tidy(text)
    normalise_title(text)
    headline_read(text)
    text_read(text)


def _url(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")
    canonical_url(text)
    StoryDraft(title="t", source="s", url=text).clean().dedupe_key()
    StoryDraft(title="t", source="s", url="https://fuzz.example/" + text).clean().dedupe_key()


def _render(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")
    escape_markdown(text)
    link_target(text)
    split_message(text)
    split_message(f"• [{escape_markdown(text)}]({link_target('https://x.example/' + text) or '<x>'}) — s", 200)


def _opml(data: bytes) -> None:
    """Whatever a file holds, what we read of it writes back as OPML that reads the same."""
    outlines = read_opml(data).outlines
    again = read_opml(write_opml([ExportedFeed(o.url, o.title) for o in outlines], title="fuzz",
                                 now=datetime(2026, 11, 30, tzinfo=UTC))).outlines
    written = dict.fromkeys(url for url in (drop_controls(o.url).strip() for o in outlines) if url)
    if [o.url for o in again] != list(written):  # what XML cannot hold is dropped on the way out
        raise RuntimeError("an OPML round trip changed the URLs")


TARGETS = {"feed": _feed, "jsonl": _jsonl, "briefing": _briefing, "text": _text, "url": _url, "render": _render,
           "opml": _opml}


def main() -> None:
    target = TARGETS[sys.argv.pop(1)]

    def one_input(data: bytes) -> None:
        started = time.perf_counter()
        with contextlib.suppress(BriefbotError):
            target(data)
        elapsed = time.perf_counter() - started
        if elapsed > SLOW_SECONDS and len(data) <= 65_536:
            raise RuntimeError(f"slow input: {len(data)} bytes took {elapsed:.2f} s")

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
