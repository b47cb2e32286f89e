"""RSS 0.9x/1.0/2.0 and Atom through feedparser; JSON Feed read as JSON (feedparser's release parses none).

Feed documents are untrusted. Before feedparser sees one, its DOCTYPE is removed: a DTD is where
entity bombs ("billion laughs", a text entity used thousands of times) and external entities (XXE)
are declared, and no real news feed needs one. Entries that still carry an undeclared entity
reference in their title are rejected rather than stored with `&name;` in them. A numeric character
reference to no character (a UTF-16 surrogate, or past U+10FFFF) becomes U+FFFD first: feedparser's
fallback parser crashes on one.
"""

from __future__ import annotations

import contextlib
import email.utils
import re
from datetime import datetime
from html.entities import html5
from urllib.parse import urljoin, urlsplit

import feedparser

from digests.errors import InputError, SourceError
from digests.ingest.draft import StoryDraft, clean_image_url
from digests.ingest.json_text import JSON_ERRORS, json_error_message, load_json
from digests.text import SHORT_HTML_MAX, has_visible_text, headline_from_lead, html_to_text
from digests.timeutil import as_utc_or_none, parse_iso_datetime, utc_from_struct_time

_DOCTYPE_RE = re.compile(rb"<!DOCTYPE[^\[>]*(\[.*?\]\s*)?>", re.IGNORECASE | re.DOTALL)
# What may come before the root element: white space, the XML declaration and processing
# instructions (<?…?>), comments (<!--…-->) and the DOCTYPE.
_PROLOG_SPACE_RE = re.compile(rb"[\s\xef\xbb\xbf]*+")
_ENTITY_REF_RE = re.compile(r"&([A-Za-z_][\w.-]*);")
_ENTITY_SCAN = 20_000
_CHAR_REF_RE = re.compile(rb"&#(?:[xX]0*([0-9a-fA-F]+)|0*([0-9]+));")
_NO_CHARACTER = b"&#xFFFD;"
_JSON_FEED_VERSION = "https://jsonfeed.org/version/"
TITLE_FROM_TEXT_MAX = 120


def looks_like_json(data: bytes) -> bool:
    """True when `data` starts like a JSON object (after a BOM and whitespace)."""
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse_feed(data: bytes, *, location: str) -> tuple[list[StoryDraft], list[str]]:
    """The stories of an RSS/Atom/JSON feed document, and a message for every entry skipped.

    `location` (a URL or a file path) resolves relative links and names the source when the feed
    has no title. Raises SourceError when the document is not a feed at all.
    """
    if not data.strip():
        raise SourceError("the document is empty")
    if looks_like_json(data):
        return _parse_json_feed(data, location=location)
    return _parse_xml_feed(data, location=location)


def _strip_doctype(data: bytes) -> bytes:
    """`data` without its DOCTYPE, wherever in the prolog it starts; the DOCTYPE may be of any length.

    The prolog is walked item by item up to the root element, so a DOCTYPE after megabytes of
    comment is found too, and every byte is read once.
    """
    pos = 0
    while True:
        pos = _PROLOG_SPACE_RE.match(data, pos).end()
        if data.startswith(b"<?", pos):
            pos = _after(data, b"?>", pos + 2)
        elif data.startswith(b"<!--", pos):
            pos = _after(data, b"-->", pos + 4)
        elif data[pos:pos + 9].upper() == b"<!DOCTYPE":
            match = _DOCTYPE_RE.match(data, pos)
            if match is None:
                raise SourceError("the document's DOCTYPE never ends")
            return data[:pos] + data[match.end():]
        else:
            return data  # the root element, or something expat will refuse
        if pos < 0:
            return data  # a comment or instruction that never ends: not a feed expat will read


def _after(data: bytes, terminator: bytes, start: int) -> int:
    found = data.find(terminator, start)
    return found + len(terminator) if found >= 0 else -1


def _replace_bad_char_refs(data: bytes) -> bytes:
    """`data` with every character reference to a surrogate or past U+10FFFF made U+FFFD."""

    def replace(match: re.Match[bytes]) -> bytes:
        hex_digits, digits = match.groups()
        code = int(hex_digits, 16) if hex_digits else int(digits) if len(digits) <= 8 else -1
        return match[0] if 0 <= code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else _NO_CHARACTER

    return _CHAR_REF_RE.sub(replace, data) if b"&#" in data else data


def _parse_xml_feed(data: bytes, *, location: str) -> tuple[list[StoryDraft], list[str]]:
    base = location if "://" in location else ""
    document = _replace_bad_char_refs(_strip_doctype(data))
    try:
        parsed = feedparser.parse(document, response_headers={"content-location": base} if base else None,
                                  sanitize_html=True, resolve_relative_uris=bool(base))
    except Exception as exc:  # hostile input must not crash a poll, whatever feedparser raises
        raise SourceError(f"the feed parser failed on this document ({type(exc).__name__})") from None
    version = parsed.get("version", "")
    if not version and not parsed.entries:
        problem = parsed.get("bozo_exception")
        detail = f": {_describe(problem)}" if problem else ""
        raise SourceError(f"not an RSS, Atom or JSON feed{detail}")
    source = html_to_text(parsed.feed.get("title"), SHORT_HTML_MAX) or _name_from_location(location)
    drafts: list[StoryDraft] = []
    skipped: list[str] = []
    for number, entry in enumerate(parsed.entries, start=1):
        try:
            drafts.append(_draft_from_entry(entry, source=source, base=base))
        except InputError as exc:
            skipped.append(f"entry {number}: {exc}")
    if not drafts and parsed.get("bozo") and not skipped:
        raise SourceError(f"malformed feed with no readable entry: {_describe(parsed.get('bozo_exception'))}")
    return drafts, skipped


def _draft_from_entry(entry: feedparser.FeedParserDict, *, source: str, base: str) -> StoryDraft:
    raw_title = entry.get("title") or ""
    if _has_undeclared_entity(raw_title) or _has_undeclared_entity(entry.get("summary") or ""):
        raise InputError("holds an undeclared XML entity (an entity bomb or XXE attempt); rejected")
    summary = html_to_text(entry.get("summary"), SHORT_HTML_MAX)
    content = entry.get("content") or []
    body = html_to_text(max((c.get("value", "") for c in content), key=len)) if content else ""
    title = _title(html_to_text(raw_title, SHORT_HTML_MAX), summary or body)
    link = _link(entry.get("link") or "", base)
    # Plain dict lookups: feedparser's own .get() maps a missing "updated" to "published" with a warning.
    published = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
    return StoryDraft(
        title=title,
        source=html_to_text(entry.get("source", {}).get("title"), SHORT_HTML_MAX) or source,
        url=link or None,
        summary=summary if summary != body else "",
        body=body or None,
        published_at=utc_from_struct_time(published),
        image_url=_entry_image(entry, base),
    )


def _entry_image(entry: feedparser.FeedParserDict, base: str) -> str | None:
    """The entry's picture: an image media:content, else an image enclosure, else a media:thumbnail.

    The first candidate that is a safe URL wins (see `clean_image_url`); a bad one is passed over and
    never fails the entry. A media:content says it is an image by its `medium` or its MIME `type`
    (one that says neither may be a video).
    """
    candidates: list[object] = []
    for media in _dicts(entry.get("media_content")):
        if media.get("medium") == "image" or str(media.get("type") or "").startswith("image/"):
            candidates.append(media.get("url"))
    candidates += [link.get("href") for link in _dicts(entry.get("enclosures"))
                   if str(link.get("type") or "").startswith("image/")]
    candidates += [media.get("url") for media in _dicts(entry.get("media_thumbnail"))]
    return _first_image(candidates, base)


def _first_image(candidates: list[object], base: str) -> str | None:
    """The first candidate that is, made absolute against `base`, a URL `clean_image_url` keeps."""
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            image = clean_image_url(_link(candidate.strip(), base))
            if image:
                return image
    return None


def _dicts(value: object) -> list[dict]:
    """The mappings of a feedparser list attribute (missing or malformed: none)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _has_undeclared_entity(text: str) -> bool:
    """True when `text` still holds an entity reference that HTML does not define, such as `&xxe;`."""
    return any(f"{name};" not in html5 for name in _ENTITY_REF_RE.findall(text[:_ENTITY_SCAN]))


def _parse_json_feed(data: bytes, *, location: str) -> tuple[list[StoryDraft], list[str]]:
    try:
        doc = load_json(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise SourceError(f"JSON Feed is not UTF-8 (byte {exc.start})") from None
    except JSON_ERRORS as exc:
        raise SourceError(f"invalid JSON: {json_error_message(exc)}") from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(_JSON_FEED_VERSION):
        raise SourceError("JSON document is not a JSON Feed (no jsonfeed.org version)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise SourceError("JSON Feed has no “items” list")
    source = _string(doc.get("title")) or _name_from_location(location)
    base = _string(doc.get("home_page_url")) or (location if "://" in location else "")
    drafts: list[StoryDraft] = []
    skipped: list[str] = []
    for number, item in enumerate(items, start=1):
        try:
            drafts.append(_draft_from_json_item(item, source=source, base=base))
        except InputError as exc:
            skipped.append(f"item {number}: {exc}")
    return drafts, skipped


def _draft_from_json_item(item: object, *, source: str, base: str) -> StoryDraft:
    if not isinstance(item, dict):
        raise InputError("not an object")
    summary = html_to_text(_string(item.get("summary")), SHORT_HTML_MAX)
    body = html_to_text(_string(item.get("content_html"))) or html_to_text(_string(item.get("content_text")))
    title = _title(html_to_text(_string(item.get("title")), SHORT_HTML_MAX), summary or body)
    url = _string(item.get("url")) or _string(item.get("external_url"))
    published = _string(item.get("date_published")) or _string(item.get("date_modified"))
    return StoryDraft(
        title=title,
        source=source,
        url=_link(url, base),
        summary=summary,
        body=body or None,
        published_at=_lenient_date(published),
        image_url=_first_image([item.get("image"), item.get("banner_image")], base),
    )


def _title(title: str, text: str) -> str:
    """`title` if it shows anything, else a headline from the entry's text; InputError when neither does.

    A title of only zero-width or bidi characters is as good as none: it would render as an empty link.
    """
    if not has_visible_text(title):
        title = headline_from_lead(text, TITLE_FROM_TEXT_MAX)
    if not has_visible_text(title):
        raise InputError("no title, summary or content")
    return title


def _link(link: str, base: str) -> str | None:
    """`link` made absolute against `base`, if that gives an http(s) URL urllib can read; else no link."""
    if not link:
        return None
    with contextlib.suppress(ValueError):  # a base that cannot be read: an absolute link needs none
        link = urljoin(base, link) if base else link
    try:
        parts = urlsplit(link)
        parts.port  # noqa: B018 - raises on a malformed host ("http://[::1/") or port
    except ValueError:
        return None
    return link if parts.scheme in ("http", "https") and parts.netloc else None


def _lenient_date(value: str) -> datetime | None:
    """JSON Feed dates are meant to be RFC 3339; real feeds also send RFC 2822. Anything else: no date."""
    if not value:
        return None
    try:
        return parse_iso_datetime(value)
    except InputError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return as_utc_or_none(parsed)


def _string(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _name_from_location(location: str) -> str:
    if "://" in location:
        return urlsplit(location).hostname or location
    return location.replace("\\", "/").rsplit("/", 1)[-1]


def _describe(problem: object) -> str:
    text = str(problem) if problem else "unknown problem"
    return text.splitlines()[0][:200] if text else type(problem).__name__
