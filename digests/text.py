"""Plain-text helpers shared by ingest and rendering: HTML to text, cutting, normalising."""

from __future__ import annotations

import re
import unicodedata
from html import unescape
from urllib.parse import quote, urlsplit

# Longest input we ever hand to the HTML reader: anything past this is noise for a summary and a
# cheap way for a hostile feed to burn CPU. Titles and summaries show at most 400 characters, so
# their markup is cut much shorter than a body's.
HTML_INPUT_MAX = 100_000
SHORT_HTML_MAX = 20_000

# Text the sentence finder looks at, in multiples of the length wanted: a summary or headline only
# uses the sentence ends within its limit, so the rest of a 50 KB body is never scanned.
_SENTENCE_SCAN_FACTOR = 2
# A sentence ends at a word ending in . ! ? or … (maybe closed by a quote or bracket) followed by a
# space and a capital or digit; the word before a period must not be an abbreviation or initials
# (“U.S.”, “Feb.”, “Mr.”). Words are found one at a time, so every character is read a fixed number of
# times: the former single regex, `(\S*)[.!?…]…`, backtracked over each long word once per character.
_WORD_RE = re.compile(r"\S+")
_NOT_ASCII_ALNUM_RE = re.compile(r"[^a-z0-9]+")
_NEXT_SENTENCE_RE = re.compile(r"\s+[\"'“‘(\[]?[A-Z0-9]")
_SENTENCE_PUNCT = ".!?…"
_SENTENCE_CLOSERS = "\"'”’)]"
_INITIALS_RE = re.compile(r"(?:[a-z]\.)*[a-z]")
_ABBREVIATIONS = frozenset((
    "mr", "mrs", "ms", "dr", "st", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "gen", "gov", "sen", "rep", "lt", "col", "capt", "sgt", "no", "vs", "etc", "inc", "corp",
    "ltd", "jr", "sr", "prof", "adm", "maj", "rev", "fr", "ft", "mt",
))
# Control characters (tab and line breaks aside) and lone UTF-16 surrogates: PostgreSQL refuses NUL,
# no store can encode a surrogate, and neither means anything in a message. Also the invisible
# format characters that reorder or hide text: bidi embeddings, overrides, isolates and marks
# (U+202E shows "gnp.exe" as "exe.png"), the word joiner, invisible operators and the BOM.
_CONTROL_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff"
    "\u061c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"
)
# Letters that draw nothing, beyond the spaces, controls and marks their category already says.
_BLANK_LETTERS = frozenset("\u115f\u1160\u2800\u3164\uffa0")
# Unicode's stream-safe limit on combining marks after one base character. Normalising sorts each run
# of marks with a quadratic sort, so a hostile run of 40,000 marks took 5 s; no script needs 30.
_MARKS_MAX = 30

# HTML is read by a small scanner rather than html.parser: CPython 3.11's parser rescans the rest of
# the input for every unclosed construct, so `'<a b="' * 40_000` took 129 s. Here every character is
# read a fixed number of times: a construct that never closes ends the text, as it does in a browser.
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "object", "head", "title"})
_RAW_TEXT_TAGS = frozenset({"script", "style"})  # their content is not markup: "<" in a script is not a tag
_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
                         "blockquote", "pre", "tr", "table", "section", "article", "hr"})
# Where markup may start: "<" and then a letter, "/", "!" or "?"; any other "<" is text.
_MARKUP_START_RE = re.compile(r"<[a-zA-Z/!?]")
# A start tag: a quote opens a value only after "="; possessive quantifiers, so a tag that never
# closes fails after one pass instead of backtracking.
_START_TAG_RE = re.compile(r"""<([a-zA-Z][^\s/>]*+)(?:[^>=]++|=\s*+(?:"[^"]*+"|'[^']*+'|(?!["'])))*+>""")
_END_TAG_NAME_RE = re.compile(r"</([a-zA-Z][^\s/>]*+)")
_RAW_TEXT_END_RE = {tag: re.compile(rf"</{tag}[\s/>]", re.IGNORECASE) for tag in _RAW_TEXT_TAGS}
# URL characters kept as they are in a link target; quote() also keeps letters, digits and "_.-~".
_LINK_SAFE = ":/?#@!$&'*+,;=%"
_IPV6_HOST_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*+://(?:[^@/?#\[\]]*+@)?+\[[0-9A-Fa-f:.]++\]")
# Longest link target shown, once encoded: a longer URL would fill most of a message (a 2,000-character
# URL with spaces encodes to 6,000) and be cut across messages; its story is shown without the link.
LINK_MAX = 1_000
# A decimal character reference of 8 digits or more: past U+10FFFF unless padded with zeros, and
# html.unescape raises ValueError past 4,300 digits (Python's limit on int()).
_LONG_DECIMAL_REF_RE = re.compile(r"&#([0-9]{8,})(;?)")


class _TextCollector:
    """The visible text of an HTML fragment: script/style and the like dropped, block breaks kept."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self._skipping = 0

    def text(self, data: str) -> None:
        if data and not self._skipping:
            self.parts.append(unescape_entities(data))

    def start(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def end(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")


def unescape_entities(text: str) -> str:
    """`html.unescape` for any input: a decimal reference too long to be a character reads as U+FFFD
    instead of raising (see `_LONG_DECIMAL_REF_RE`)."""
    return unescape(_LONG_DECIMAL_REF_RE.sub(_short_decimal_ref, text))


def _short_decimal_ref(match: re.Match[str]) -> str:
    digits = match[1].lstrip("0") or "0"
    return "\ufffd" if len(digits) > 7 else f"&#{digits}{match[2]}"


def html_to_text(fragment: str | None, limit: int = HTML_INPUT_MAX) -> str:
    """Visible text of an HTML fragment (or plain text), with whitespace tidied.

    Only the first `limit` characters are read. Runs in time linear in that length, whatever the
    markup: a comment, declaration or tag that never closes ends the text there, as in a browser.
    """
    if not fragment:
        return ""
    fragment = fragment[:limit]
    if "<" not in fragment and "&" not in fragment:
        return tidy(fragment)
    collector = _TextCollector()
    _scan_html(fragment, collector)
    return tidy("".join(collector.parts))


def _scan_html(html: str, out: _TextCollector) -> None:
    """Feed `out` the text, start tags and end tags of `html`, left to right, in one pass."""
    pos = 0
    while (found := _MARKUP_START_RE.search(html, pos)) is not None:
        at = found.start()
        out.text(html[pos:at])
        pos = _markup_end(html, at, out)
        if pos < 0:
            return
    out.text(html[pos:])


def _markup_end(html: str, at: int, out: _TextCollector) -> int:
    """Where the markup starting at `at` ends, after telling `out` about it; -1 to stop reading.

    Where no ">" follows at all, nothing after can be markup: the rest is text (so "a<b" stays).
    """
    if html.startswith("<!--", at):
        return _after(html, "-->", at + 4)
    if html.startswith("<![CDATA[", at):
        return _after(html, "]]>", at + 9)
    if html.find(">", at) < 0:
        out.text(html[at:])
        return -1
    if html[at + 1] in "!?":
        return _after(html, ">", at + 2)
    if html[at + 1] == "/":
        name = _END_TAG_NAME_RE.match(html, at)
        if name is not None:
            out.end(name[1].lower())
        return _after(html, ">", at + 2)
    tag = _START_TAG_RE.match(html, at)
    if tag is None:
        return -1  # an attribute value that never closes: the rest is inside the tag
    name = tag[1].lower()
    out.start(name)
    if tag[0].endswith("/>"):
        out.end(name)
    elif name in _RAW_TEXT_TAGS:
        closing = _RAW_TEXT_END_RE[name].search(html, tag.end())
        return closing.start() if closing else -1
    return tag.end()


def _after(html: str, terminator: str, start: int) -> int:
    """The offset just past the next `terminator` from `start`, or -1 when it never comes."""
    found = html.find(terminator, start)
    return found + len(terminator) if found >= 0 else -1


def markdown_url(url: str) -> str:
    """`url` percent-encoded so that Discord markdown reads all of it as one link target.

    Only RFC 3986 characters that markdown ignores stay as they are: "(", ")", "[", "]", "<", ">",
    "\\", quotes, backticks and spaces could end a masked link early and make the rest live markdown.
    An IPv6 host keeps its brackets, which it needs.
    """
    host = _IPV6_HOST_RE.match(url)
    head = host[0] if host else ""
    return head + quote(url[len(head):], safe=_LINK_SAFE, errors="replace")  # a lone surrogate becomes "?"


# What a URL may hold as it is, besides ASCII letters and digits; anything else is percent-encoded.
_URL_SAFE = "-._~:/?#[]@!$&'()*+,;=%"
_WHITESPACE_RE = re.compile(r"\s")


def web_url(url: str | None, limit: int) -> str | None:
    """`url` if it is an absolute http(s) URL Discord will take in an embed, else None.

    Feeds are hostile: it must have a host and no user name or password (they would be shown to every
    reader), no control character or white space, and be at most `limit` characters once its non-ASCII
    characters are percent-encoded (which it then is).
    """
    url = (url or "").strip()
    if not url or len(url) > limit or _WHITESPACE_RE.search(url) or drop_controls(url) != url:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed host ("http://[::1/") or port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    encoded = quote(url, safe=_URL_SAFE)
    return encoded if len(encoded) <= limit else None


def tidy(text: str) -> str:
    """Collapse runs of spaces, keep single line breaks between paragraphs, drop control characters,
    invisible format characters and lone surrogates.

    Every Unicode space (tab, no-break, zero-width) counts as a space; blank lines go. Built from
    str.split and str.join rather than regex substitutions, which matched at every space of every
    text and made tidying the largest single cost of ingest.
    """
    text = drop_controls(normalize("NFC", text)).replace("\u200b", " ")
    return "\n".join(filter(None, (" ".join(line.split()) for line in text.split("\n"))))


def normalize(form: str, text: str) -> str:
    """`unicodedata.normalize`, in linear time: runs of more than 30 combining marks are cut first."""
    if unicodedata.is_normalized(form, text):
        return text
    return unicodedata.normalize(form, _cap_mark_runs(text))


def _cap_mark_runs(text: str) -> str:
    """`text` keeping at most _MARKS_MAX combining marks after each base character."""
    kept: list[str] = []
    run = 0
    for char in text:
        run = run + 1 if unicodedata.combining(char) else 0
        if run <= _MARKS_MAX:
            kept.append(char)
    return "".join(kept)


def drop_controls(text: str) -> str:
    """`text` without control characters (tabs and line breaks kept), bidi and other invisible format
    characters, or lone surrogates."""
    return _CONTROL_RE.sub("", text)


def has_visible_text(text: str) -> bool:
    """True when `text` draws something: not only spaces, controls, format characters or marks."""
    return any(unicodedata.category(char)[0] not in "CZM" and char not in _BLANK_LETTERS for char in text)


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
    for end in sentence_ends(flat[: limit * _SENTENCE_SCAN_FACTOR]):
        if end > limit:
            break
        cut = end
    if cut >= limit // 3:
        return flat[:cut]
    return cut_at_word(flat, limit)


def sentence_ends(text: str) -> list[int]:
    """Offsets just past each sentence end in `text` (abbreviations and initials are not ends)."""
    ends = []
    for word in _WORD_RE.finditer(text):
        end = _sentence_end(word[0])
        if end and _NEXT_SENTENCE_RE.match(text, word.end()):
            ends.append(word.start() + end)
    return ends


def _sentence_end(word: str) -> int:
    """The length of `word` up to its closing quote or bracket if it ends a sentence, else 0."""
    end = len(word) - 1 if len(word) > 1 and word[-1] in _SENTENCE_CLOSERS else len(word)
    if word[end - 1] not in _SENTENCE_PUNCT:
        return 0
    if end == len(word) and word[-1] == ".":
        stem = word[:-1].rstrip(".").lower()
        if stem in _ABBREVIATIONS or _INITIALS_RE.fullmatch(stem):
            return 0
    return len(word)


def headline_from_lead(text: str, limit: int) -> str:
    """A title for an article that has none: its first sentence, cut at a clause or word to `limit`."""
    flat = one_line(text)
    ends = sentence_ends(flat[: limit * _SENTENCE_SCAN_FACTOR])
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
    if title.isascii():  # most titles; the same result without a pass over every character in Python
        return " ".join(_NOT_ASCII_ALNUM_RE.sub(" ", title.lower()).split())
    decomposed = normalize("NFKD", title.casefold())
    letters = "".join(ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(letters.split())
