"""Briefing text files: one article (a paragraph a line), a blank-line gap, then one headline a line."""

from __future__ import annotations

from digests.ingest.draft import StoryDraft
from digests.text import cut_at_word, has_visible_text, headline_from_lead

ARTICLE_TITLE_MAX = 120


def parse_briefing_text(text: str, *, source: str) -> list[StoryDraft]:
    """The article of the first block of lines, then a headline for every later non-empty line."""
    # A line of only invisible characters (zero-width, bidi) is blank: as a headline it would show nothing.
    lines = [line.strip() if has_visible_text(line) else "" for line in text.splitlines()]
    start = next((i for i, line in enumerate(lines) if line), len(lines))
    end = next((i for i in range(start, len(lines)) if not lines[i]), len(lines))
    paragraphs = lines[start:end]
    drafts = []
    if paragraphs:
        title = headline_from_lead(paragraphs[0], ARTICLE_TITLE_MAX)
        drafts.append(
            StoryDraft(
                title=title if has_visible_text(title) else cut_at_word(paragraphs[0], ARTICLE_TITLE_MAX),
                source=source,
                body="\n".join(paragraphs),
            )
        )
    drafts.extend(StoryDraft(title=line, source=source) for line in lines[end:] if line)
    return drafts
