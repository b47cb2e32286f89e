"""OPML subscription lists: reading one a user hands us, writing one of our feeds (OPML 2.0).

Reading is listparser's OPML handler (outlines with `xmlUrl`, `text`/`title`, folders and `category`
becoming categories), run over Python's `html.parser` tokenizer, which expands no entity a document
declares and fetches nothing. `listparser.parse` itself is not called: given a str that starts with
http:// it would fetch that URL, and it switches to lxml's parser whenever lxml happens to be
installed; driving its handler directly keeps the behaviour (and the caps below) the same everywhere.

The file is untrusted (a Discord attachment), so before and while it is read:

- it is at most `MAX_OPML_BYTES`, checked before anything is decoded;
- it is text: UTF-8 (or UTF-16 with a byte-order mark, or the encoding its XML declaration names);
- it declares no DOCTYPE or entity: OPML needs none, and that is where entity bombs (billion laughs)
  and external entities live, so such a file is refused rather than trusted to a parser;
- elements nest at most `MAX_DEPTH` deep (folders in real exports are one or two levels; listparser
  copies the folder path into every feed, so a deep path times many feeds would be a memory bomb);
- at most `MAX_OUTLINES` feeds are kept, the rest counted and reported as ignored;
- a feed keeps at most `MAX_CATEGORIES` categories (listparser compares each new one with those it
  has, which is quadratic in a hostile `category="a,b,c,…"` or a URL repeated in thousands of folders).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from xml.etree import ElementTree

import listparser

from digests.errors import InputError
from digests.text import cut_at_word, drop_controls, one_line

MAX_OPML_BYTES = 1_048_576  # 1 MiB: a reader's export of 1,000 feeds is about 250 KB
MAX_OPML_TEXT = "1 MB"
MAX_OUTLINES = 1_000
MAX_DEPTH = 24
MAX_CATEGORIES = 16
TITLE_MAX = 300
TOPIC_CATEGORY = "topic"  # an outline's category "/topic/<slug>" names its Briefbot topic

_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")
_DECLARATIONS = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass(frozen=True)
class Outline:
    """One feed of a subscription list: its URL, title and category paths (folders included)."""

    url: str
    title: str
    categories: tuple[tuple[str, ...], ...] = ()

    def topic(self) -> str | None:
        """The topic a Briefbot export recorded for this feed (category `/topic/<slug>`), if any."""
        return next((path[1] for path in self.categories if len(path) == 2 and path[0] == TOPIC_CATEGORY), None)


@dataclass(frozen=True)
class SubscriptionList:
    """What a file held: its feeds (at most MAX_OUTLINES), how many more were ignored, links not followed."""

    outlines: list[Outline]
    over_cap: int = 0
    linked_lists: int = 0


class _TooDeep(Exception):
    """The document nests deeper than MAX_DEPTH."""


class _BoundedHandler(listparser.Handler):  # type: ignore[misc, valid-type]
    """listparser's handler with the caps of this module applied as it reads."""

    def __init__(self) -> None:
        super().__init__()
        self.over_cap = 0
        # What listparser.parse seeds a harvest with.
        self.harvest.update(bozo=False, bozo_exception=None, feeds=[], lists=[], opportunities=[],
                            meta=listparser.common.SuperDict(), version="")

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if len(self.node_stack) >= MAX_DEPTH:
            raise _TooDeep
        super().start(tag, attrs)

    def start_opml_outline(self, attrs: dict[str, str]) -> None:
        url = attrs.get("xmlurl", "").strip()
        known = self.found_urls.get(url)
        if url and known is None and len(self.harvest["feeds"]) >= MAX_OUTLINES:
            self.over_cap += 1
            url = ""  # counted, not kept
        if url and known is not None and len(known[1].get("categories", ())) >= MAX_CATEGORIES:
            url = ""  # nothing more to learn about this feed
        if not url and "xmlurl" in attrs:
            self.hierarchy.append("")  # what listparser does for an outline it keeps nothing of
            return
        if "category" in attrs:
            attrs = {**attrs, "category": ",".join(attrs["category"].split(",", MAX_CATEGORIES)[:MAX_CATEGORIES])}
        super().start_opml_outline(attrs)


def read_opml(data: bytes) -> SubscriptionList:
    """The feeds of an OPML file; InputError (with what to do) when it is not one we will read."""
    if len(data) > MAX_OPML_BYTES:
        raise InputError(f"That file is {len(data):,} bytes; an OPML file may be at most {MAX_OPML_TEXT}.")
    text = _decode(data)
    if _DECLARATIONS.search(text):
        raise InputError("That file declares a DOCTYPE or entities, which OPML never needs (they can be used to "
                         "attack XML parsers), so it was not read. Export it again from your reader.")
    handler = _BoundedHandler()
    try:
        handler.feed(text)
        handler.close()
    except _TooDeep:
        raise InputError(f"That file nests more than {MAX_DEPTH} levels deep; "
                         "it is not a reader's export.") from None
    except Exception:  # html.parser copes with nearly anything; whatever it does not is not an OPML file
        raise InputError("That file could not be read as OPML.") from None
    harvest = handler.harvest
    if not str(harvest.get("version", "")).startswith("opml"):
        raise InputError("That file is not OPML (no <opml> element). Export your feeds as OPML from your reader.")
    outlines = [outline for outline in map(_outline, harvest["feeds"]) if outline.url]
    if not outlines:
        raise InputError("That OPML file lists no feeds (no outline has an xmlUrl).")
    return SubscriptionList(outlines, handler.over_cap, len(harvest["lists"]))


def _decode(data: bytes) -> str:
    declared = _DECLARED_ENCODING.match(data)
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)),
                    declared.group(1).decode("ascii") if declared else "utf-8")
    try:
        return data.decode(encoding)
    except LookupError:
        raise InputError(f"That file says it is in the encoding “{encoding}”, which is not known.") from None
    except UnicodeDecodeError:
        raise InputError(f"That file is not text in {encoding.upper()}: is it really an OPML file?") from None


def _outline(feed: dict[str, Any]) -> Outline:
    categories = tuple(tuple(_clean(part, 100) for part in path) for path in feed.get("categories", ()))
    # The URL is kept as written (stripped): /feeds add's checks refuse a bad one with its reason.
    return Outline(feed.get("url", "").strip(), _clean(feed.get("title", ""), TITLE_MAX), categories[:MAX_CATEGORIES])


def _clean(text: str, limit: int) -> str:
    return cut_at_word(one_line(drop_controls(text)), limit)


@dataclass(frozen=True)
class ExportedFeed:
    """A feed as an export writes it."""

    url: str
    title: str | None = None
    topic: str | None = None


def write_opml(feeds: Sequence[ExportedFeed], *, title: str, now: datetime) -> bytes:
    """An OPML 2.0 document listing `feeds` (UTF-8, every attribute escaped by the XML serializer)."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = _xml_text(title)
    ElementTree.SubElement(head, "dateCreated").text = format_datetime(now)
    body = ElementTree.SubElement(root, "body")
    for feed in feeds:
        name = _xml_text(feed.title or feed.url)
        attributes = {"type": "rss", "text": name, "title": name, "xmlUrl": _xml_text(feed.url)}
        if feed.topic:
            attributes["category"] = f"/{TOPIC_CATEGORY}/{feed.topic}"
        ElementTree.SubElement(body, "outline", attributes)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _xml_text(text: str) -> str:
    """`text` without the characters XML 1.0 cannot hold (controls, lone surrogates, U+FFFE/FFFF)."""
    return drop_controls(text).replace("\ufffe", "").replace("\uffff", "")
