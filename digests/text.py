"""Plain-text helpers shared by ingest and rendering: HTML to text, cutting, normalising."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

# Longest input we ever hand to the HTML parser: anything past this is noise for a summary
# and a cheap way for a hostile feed to burn CPU.
HTML_INPUT_MAX = 200_000

# A sentence ends at . ! ? or … (maybe closed by a quote or bracket) before a space; the word
# before a period must not be an abbreviation or initials (“U.S.”, “Feb.”, “Mr.”).
_SENTENCE_END_RE = re.compile(r"(\S*)[.!?…][\"'”’)\]]?(?=\s+[\"'“‘(\[]?[A-Z0-9])")
_ABBREVIATIONS = frozenset((
    "mr", "mrs", "ms", "dr", "st", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "gen", "gov", "sen", "rep", "lt", "col", "capt", "sgt", "no", "vs", "etc", "inc", "corp",
    "ltd", "jr", "sr", "prof", "adm", "maj", "rev", "fr", "ft", "mt",
))
# Control characters (tab and line breaks aside) and lone UTF-16 surrogates: PostgreSQL refuses NUL,
# no store can encode a surrogate, and neither means anything in a message.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML fragment; drops script/style and keeps block breaks."""

    _SKIP = frozenset({"script", "style", "noscript", "template", "iframe", "object", "head", "title"})
    _BLOCK = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
                        "blockquote", "pre", "tr", "table", "section", "article", "hr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(fragment: str | None) -> str:
    """Visible text of an HTML fragment (or plain text), with whitespace tidied."""
    if not fragment:
        return ""
    fragment = fragment[:HTML_INPUT_MAX]
    if "<" not in fragment and "&" not in fragment:
        return tidy(fragment)
    # convert_charrefs=True decodes entities in text, so no separate html.unescape pass.
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    return tidy("".join(parser.parts))


def tidy(text: str) -> str:
    """Collapse runs of spaces, keep single line breaks between paragraphs, drop control characters
    and lone surrogates.

    Every Unicode space (tab, no-break, zero-width) counts as a space; blank lines go. Built from
    str.split and str.join rather than regex substitutions, which matched at every space of every
    text and made tidying the largest single cost of ingest.
    """
    text = drop_controls(unicodedata.normalize("NFC", text)).replace("\u200b", " ")
    return "\n".join(filter(None, (" ".join(line.split()) for line in text.split("\n"))))


def drop_controls(text: str) -> str:
    """`text` without control characters (tabs and line breaks kept) or lone surrogates."""
    return _CONTROL_RE.sub("", text)


def one_line(text: str) -> str:
    """`text` on a single line."""
    return " ".join(text.split())


def cut_at_word(text: str, limit: int, ellipsis: str = "…") -> str:
    """`text` cut to at most `limit` characters at a word boundary, with an ellipsis if cut."""
    if len(text) <= limit:
        return text
    room = limit - len(ellipsis)
    head = text[:room + 1]
    space = head.rfind(" ")
    head = head[:space] if space > room // 2 else text[:room]
    return head.rstrip(" ,;:-–—") + ellipsis


def lead_summary(text: str, limit: int) -> str:
    """The lead sentences of `text` that fit in `limit` characters, else the text cut at a word."""
    flat = one_line(text)
    if len(flat) <= limit:
        return flat
    cut = 0
    for end in sentence_ends(flat):
        if end > limit:
            break
        cut = end
    if cut >= limit // 3:
        return flat[:cut]
    return cut_at_word(flat, limit)


def sentence_ends(text: str) -> list[int]:
    """Offsets just past each sentence end in `text` (abbreviations and initials are not ends)."""
    ends = []
    for match in _SENTENCE_END_RE.finditer(text):
        word = match[1].rstrip(".").lower()
        if match.group(0).endswith(".") and (word in _ABBREVIATIONS or re.fullmatch(r"([a-z]\.)*[a-z]", word)):
            continue
        ends.append(match.end())
    return ends


def headline_from_lead(text: str, limit: int) -> str:
    """A title for an article that has none: its first sentence, cut at a clause or word to `limit`."""
    flat = one_line(text)
    ends = sentence_ends(flat)
    first = flat[: ends[0]] if ends else flat
    first = first.rstrip(".")
    if len(first) <= limit:
        return first
    clause = first.rfind(",", 0, limit)
    if clause >= limit // 3:
        return first[:clause]
    return cut_at_word(first, limit)


def normalise_title(title: str) -> str:
    """A title reduced for comparison: casefolded, accents and punctuation removed, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", title.casefold())
    letters = "".join(ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(letters.split())
