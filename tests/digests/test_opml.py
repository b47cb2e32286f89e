"""OPML files: the readers' exports as they write them, what we write, and hostile files."""

from __future__ import annotations

import random
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar
from xml.etree import ElementTree

import listparser
import pytest

from digests.errors import InputError
from digests.opml import (
    MAX_CATEGORIES,
    MAX_DEPTH,
    MAX_OPML_BYTES,
    MAX_OUTLINES,
    ExportedFeed,
    _BoundedHandler,
    read_opml,
    write_opml,
)
from tests.local_http import QuietHandler, serving

READERS = Path(__file__).parent.parent / "data" / "opml"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def opml(body: str, *, version: str = "2.0", prolog: str = '<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    return f'{prolog}<opml version="{version}"><head><title>t</title></head><body>{body}</body></opml>'.encode()


def feeds(data: bytes) -> list[tuple[str, str]]:
    return [(outline.url, outline.title) for outline in read_opml(data).outlines]


def test_feedlys_export_reads_with_its_folders_and_titles_with_entities():
    read = read_opml((READERS / "feedly.opml").read_bytes())
    assert [(o.url, o.title) for o in read.outlines] == [
        ("https://feeds.arstechnica.com/arstechnica/index", "Ars Technica"),
        ("https://api.quantamagazine.org/feed/", "Quanta Magazine"),
        ("https://feeds.bbci.co.uk/news/world/rss.xml", "BBC News - World"),
        ("https://wire.example.com/rss?edition=world&format=xml", "Reuters & AP – Wire"),
    ]
    # A feed in two folders (Feedly lists it in each) is one feed with both folders as categories.
    assert read.outlines[0].categories == (("Tech & Science",), ("Must Read",))
    assert read.outlines[0].topic() is None


def test_inoreaders_export_reads_with_escaped_markup_in_titles():
    assert feeds((READERS / "inoreader.xml").read_bytes()) == [
        ("https://www.economist.com/finance-and-economics/rss.xml", "The Economist: Finance & economics"),
        ("https://marginalrevolution.com/feed", "Marginal REVOLUTION"),
        ("https://www.nature.com/nature.rss", "Nature <News>"),
        ("https://cafe.example.org/feed.xml", 'Café "Tech" Talk'),
    ]


def test_netnewswires_export_reads_with_nested_folders():
    read = read_opml((READERS / "netnewswire.opml").read_bytes())
    assert [(o.url, o.title) for o in read.outlines] == [
        ("https://daringfireball.net/feeds/main", "Daring Fireball"),
        ("https://feedpress.me/sixcolors?type=xml&tag=all", "Six Colors"),
        ("https://www.apple.com/newsroom/rss-feed.rss", "Apple > Newsroom"),
        ("https://atp.fm/rss", "ATP — Accidental Tech Podcast"),
    ]
    assert read.outlines[3].categories == (("Technology", "Podcasts"),)


TRICKY = 'Tom & Jerry\'s "Daily" <News> — ünïcödé 📰\x01\u202e'


def test_what_we_write_is_opml_2_that_strict_xml_and_listparser_read_back():
    written = write_opml([ExportedFeed("https://wire.example/rss?a=1&b=2", TRICKY, "economy"),
                          ExportedFeed("https://untitled.example/feed")], title="Guild & <co>", now=NOW)
    root = ElementTree.fromstring(written)  # noqa: S314 - our own output, read by a strict XML parser
    assert root.tag == "opml" and root.get("version") == "2.0"
    outlines = root.findall("./body/outline")
    assert [o.get("xmlUrl") for o in outlines] == ["https://wire.example/rss?a=1&b=2", "https://untitled.example/feed"]
    assert outlines[0].get("text") == 'Tom & Jerry\'s "Daily" <News> — ünïcödé 📰'  # controls dropped
    assert outlines[1].get("text") == "https://untitled.example/feed"  # OPML requires a text
    assert root.findtext("./head/dateCreated") == "Mon, 30 Nov 2026 09:00:00 +0000"
    public = listparser.parse(written)  # the library's own entry point, as another reader would call it
    assert not public.bozo and public.version == "opml2" and public.meta.title == "Guild & <co>"
    assert [feed.url for feed in public.feeds] == [o.get("xmlUrl") for o in outlines]
    read = read_opml(written)
    assert read.outlines[0].title == outlines[0].get("text") and read.outlines[0].topic() == "economy"


# ---------------------------------------------------------------- hostile files

BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY lol0 "lol">'
                  + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
                  + ']><opml version="2.0"><body><outline text="&lol9;" xmlUrl="https://bomb.example/&lol9;"/>'
                  "</body></opml>")


def test_an_entity_bomb_is_refused_before_it_is_parsed():
    tracemalloc.start()
    with pytest.raises(InputError, match="DOCTYPE or entities"):
        read_opml(BILLION_LAUGHS.encode())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 100 * len(BILLION_LAUGHS)  # 10^9 "lol"s expanded would be gigabytes


def test_the_parser_itself_expands_no_declared_entity():
    """Behind the refusal: listparser's handler over html.parser leaves `&lol9;` as the 6 characters it is."""
    handler = _BoundedHandler()
    handler.feed(BILLION_LAUGHS)
    handler.close()
    [feed] = handler.harvest["feeds"]
    assert feed["title"] == "&lol9;" and feed["url"] == "https://bomb.example/&lol9;"


class Recorder(QuietHandler):
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Recorder.paths.append(self.path)
        self.send_body(200, b"root:x:0:0")


def test_an_external_entity_or_a_bare_url_is_never_fetched():
    Recorder.paths = []
    with serving(Recorder) as server:
        external = (f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY xxe SYSTEM "{server}/secret">]>'
                    '<opml version="2.0"><body><outline text="&xxe;" xmlUrl="https://a.example/"/></body></opml>')
        with pytest.raises(InputError, match="DOCTYPE"):
            read_opml(external.encode())
        handler = _BoundedHandler()
        handler.feed(external)
        handler.close()
        assert handler.harvest["feeds"][0]["title"] == "&xxe;"
        # listparser.parse would GET a str that starts with http://; the file's bytes are never a URL to us.
        with pytest.raises(InputError, match="not OPML"):
            read_opml(f"{server}/list.opml".encode())
    assert Recorder.paths == []


def test_a_file_over_the_cap_is_refused_before_it_is_decoded():
    with pytest.raises(InputError, match="at most 1 MB"):
        read_opml(b"\xff" * (MAX_OPML_BYTES + 1))  # not UTF-8 either: the size is what is said
    at_cap = opml("<!--" + "x" * (MAX_OPML_BYTES - 200) + '--><outline xmlUrl="https://a.example/"/>')
    assert len(at_cap) <= MAX_OPML_BYTES and feeds(at_cap) == [("https://a.example/", "")]


def test_thousands_of_outlines_keep_the_first_ones_and_count_the_rest():
    body = "".join(f'<outline text="f{i}" xmlUrl="https://feeds.example/{i}"/>' for i in range(5_000))
    read = read_opml(opml(body))
    assert len(read.outlines) == MAX_OUTLINES and read.over_cap == 5_000 - MAX_OUTLINES
    assert read.outlines[0].url == "https://feeds.example/0" and read.outlines[-1].title == f"f{MAX_OUTLINES - 1}"


def test_nesting_deeper_than_any_reader_writes_is_refused():
    def nested(depth: int) -> bytes:
        return opml('<outline text="f">' * depth + '<outline xmlUrl="https://a.example/"/>' + "</outline>" * depth)

    assert feeds(nested(MAX_DEPTH - 4)) == [("https://a.example/", "")]  # opml, body and the feed add 3
    with pytest.raises(InputError, match=f"more than {MAX_DEPTH} levels"):
        read_opml(nested(30_000))  # 840 KB of folders: every feed would carry a 30,000-folder path


def test_categories_stay_few_however_many_the_file_names():
    many = ",".join(f"c{i}" for i in range(100_000))  # listparser compares each with those it has
    read = read_opml(opml(f'<outline xmlUrl="https://a.example/" category="{many}"/>'))
    assert len(read.outlines[0].categories) == MAX_CATEGORIES
    folders = "".join(f'<outline text="d{i}"><outline xmlUrl="https://a.example/"/></outline>' for i in range(5_000))
    read = read_opml(opml(folders))
    assert len(read.outlines) == 1 and len(read.outlines[0].categories) == MAX_CATEGORIES


def test_text_that_is_not_utf8_is_refused_unless_it_says_its_encoding():
    latin = opml('<outline text="Café" xmlUrl="https://a.example/"/>').decode().encode("latin-1")
    with pytest.raises(InputError, match="not text in UTF-8"):
        read_opml(latin)
    declared = latin.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
    assert feeds(declared) == [("https://a.example/", "Café")]
    utf16 = opml('<outline text="Café" xmlUrl="https://a.example/"/>', prolog="").decode().encode("utf-16")
    assert feeds(utf16) == [("https://a.example/", "Café")]
    with pytest.raises(InputError, match="not known"):
        read_opml(declared.replace(b"ISO-8859-1", b"x-klingon"))


@pytest.mark.parametrize("garbage", [
    b"", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), b"<html><body><a href='/feed'>feed</a></body></html>",
    b'{"feeds": ["https://a.example/"]}', b'<opml version="2.0"><body><outline xmlUrl="https://a.exa',
    b'<opml version="2.0"><body><outline text="folder only"/></body></opml>',
    random.Random(15).randbytes(50_000).decode("latin-1").encode(),
])
def test_garbage_is_one_clear_refusal(garbage):
    with pytest.raises(InputError, match=r"not OPML|not text|no feeds|levels deep|could not be read"):
        read_opml(garbage)
