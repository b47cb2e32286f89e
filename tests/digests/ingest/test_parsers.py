"""Parsing every supported format, and every kind of bad input, without a database."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from digests.errors import SourceError
from digests.ingest import feeds, read_source
from digests.ingest.briefing_text import parse_briefing_text
from digests.ingest.feeds import parse_feed
from digests.ingest.jsonl import parse_json_lines
from digests.text import HTML_INPUT_MAX, SHORT_HTML_MAX

SAMPLE = (resources.files("digests") / "data" / "sample-briefing.txt").read_text(encoding="utf-8")

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Wire &amp; Co</title><link>https://wire.example/</link>
<item><title>Fed holds rates steady</title><link>https://wire.example/fed?utm_source=rss</link>
<description>&lt;p&gt;The &lt;b&gt;Federal Reserve&lt;/b&gt; held rates.&lt;/p&gt;
&lt;script&gt;x()&lt;/script&gt;</description>
<pubDate>Fri, 27 Nov 2026 10:00:00 GMT</pubDate></item>
<item><title></title><description></description></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom News</title>
<entry><title type="html">Chips &lt;em&gt;export&lt;/em&gt; rules</title>
<link href="/tech/chips" rel="alternate"/><updated>2026-11-27T08:30:00+01:00</updated>
<content type="html">&lt;p&gt;Long body text about semiconductors.&lt;/p&gt;</content></entry></feed>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rss version="2.0"><channel><title>Bomb</title>
<item><title>&lol4;</title><description>&lol4;</description></item>
<item><title>Safe headline</title></item></channel></rss>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>XXE</title><item><title>Leak &xxe;</title>
<description>&xxe;</description></item></channel></rss>"""


def test_sample_briefing_is_one_article_then_seventeen_headlines():
    drafts = parse_briefing_text(SAMPLE, source="sample")
    article, headlines = drafts[0], drafts[1:]
    assert len(headlines) == 17
    assert article.body is not None and article.body.count("\n") == 6  # seven paragraphs
    assert len(article.title) <= 120
    assert article.title.startswith("U.S. Defense Secretary Pete Hegseth")
    assert headlines[0].title == "Trump Family Files $10 Billion Lawsuit Over IRS Tax Disclosure"
    assert all(h.body is None for h in headlines)


def test_briefing_text_with_only_an_article_has_no_headlines():
    drafts = parse_briefing_text("\n\nOne paragraph only. Done.\n", source="s")
    assert [d.title for d in drafts] == ["One paragraph only"]


def test_json_lines_reads_fields_and_reports_bad_lines_by_number():
    text = "\n".join([
        json.dumps({"title": "Ok", "url": "https://x.org/1", "published": "2026-11-27T10:00:00Z",
                    "topics": ["economy"], "summary": "<b>Sum</b>"}),
        json.dumps({"url": "https://x.org/2"}),
        "{not json",
        json.dumps({"title": "Bad date", "published": "yesterday"}),
        json.dumps(["a list"]),
        "",
    ])
    drafts, errors = parse_json_lines(text, source="feed")
    assert [d.title for d in drafts] == ["Ok"]
    assert drafts[0].summary == "Sum"
    assert drafts[0].topics == ("economy",)
    assert drafts[0].published_at is not None and drafts[0].published_at.utcoffset().total_seconds() == 0
    assert errors[0].startswith("line 2: missing “title”")
    assert errors[1].startswith("line 3: not valid JSON")
    assert errors[2].startswith("line 4:") and "ISO 8601" in errors[2]
    assert errors[3] == "line 5: expected a JSON object"


def test_rss_descriptions_become_plain_text_and_entries_without_text_are_reported():
    drafts, skipped = parse_feed(RSS, location="https://wire.example/rss")
    assert len(drafts) == 1
    story = drafts[0]
    assert story.title == "Fed holds rates steady"
    assert story.source == "Wire & Co"
    assert story.summary == "The Federal Reserve held rates."
    assert story.published_at is not None and story.published_at.isoformat() == "2026-11-27T10:00:00+00:00"
    assert skipped == ["entry 2: no title, summary or content"]


def test_atom_relative_links_resolve_against_the_feed_url_and_html_titles_are_text():
    drafts, _ = parse_feed(ATOM, location="https://atom.example/feed.xml")
    assert drafts[0].title == "Chips export rules"
    assert drafts[0].url == "https://atom.example/tech/chips"
    assert drafts[0].body == "Long body text about semiconductors."
    assert drafts[0].published_at is not None and drafts[0].published_at.hour == 7


def test_json_feed_is_read_as_json():
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "JF",
           "items": [{"id": "1", "url": "https://jf.example/1", "content_html": "<p>Hello world.</p>",
                      "date_published": "Tue, 06 Feb 2018 06:34:12 -0700"},
                     {"id": "2"}]}
    drafts, skipped = parse_feed(json.dumps(doc).encode(), location="jf.json")
    assert drafts[0].title == "Hello world"
    assert drafts[0].published_at is not None and drafts[0].published_at.hour == 13
    assert skipped == ["item 2: no title, summary or content"]


def test_entity_bombs_do_not_expand():
    drafts, skipped = parse_feed(BILLION_LAUGHS, location="bomb.xml")
    assert all(len(d.title) < 200 and "lol" not in d.title for d in drafts)
    assert [d.title for d in drafts] == ["Safe headline"]
    assert skipped == ["entry 1: holds an undeclared XML entity (an entity bomb or XXE attempt); rejected"]


def test_a_doctype_longer_than_the_prolog_scan_is_still_removed():
    entity = "B" * 100_000
    doc = (f'<!DOCTYPE rss [<!ENTITY a "{entity}">]><rss version="2.0"><channel><title>Q</title>'
           + "<item><title>ok</title><description>" + "&a;" * 500 + "</description></item></channel></rss>")
    drafts, _ = parse_feed(doc.encode(), location="q.xml")
    assert drafts and all("BBBB" not in d.summary and len(d.clean().summary) <= 400 for d in drafts)


def test_an_unterminated_doctype_is_refused():
    with pytest.raises(SourceError, match="DOCTYPE never ends"):
        parse_feed(b'<!DOCTYPE rss [<!ENTITY a "x">' + b"y" * 1000, location="u.xml")


def test_html_entities_in_titles_are_fine():
    doc = (b'<rss version="2.0"><channel><title>E</title><item><title>Caf&amp;eacute; &amp;amp; bar&amp;nbsp;'
           b'news</title></item></channel></rss>')
    drafts, skipped = parse_feed(doc, location="e.xml")
    assert skipped == [] and drafts[0].title == "Café & bar news"


def test_external_entities_never_read_local_files():
    try:
        drafts, _ = parse_feed(XXE, location="xxe.xml")
    except SourceError:
        return
    assert all("root:" not in (d.title + d.summary) for d in drafts)


def test_character_references_to_no_character_become_a_replacement_character():
    # feedparser's fallback parser raised UnicodeEncodeError, ValueError or OverflowError on each of these.
    rss = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
           b"<item><title>Surrogate &#55296; and &#xDC00;</title><link>https://a.example/1</link></item>"
           b"<item><title>Past the last &#x110000; and &#1114112; and &#99999999999;</title>"
           b"<link>https://a.example/2</link></item>"
           b"<item><title>Real ones: &#8217; &#x2014; &#0065;</title><link>https://a.example/3</link></item>"
           b"</channel></rss>")
    drafts, skipped = parse_feed(rss, location="refs.xml")
    assert skipped == []
    assert [d.title for d in drafts] == ["Surrogate \ufffd and \ufffd", "Past the last \ufffd and \ufffd and \ufffd",
                                         "Real ones: \u2019 \u2014 A"]


def test_a_link_urllib_cannot_read_is_dropped_and_the_story_kept():
    # urljoin raised ValueError ("Invalid IPv6 URL") out of parse_feed for both of these.
    rss = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
           b"<item><title>Broken host</title><link>http://[::1/story</link></item></channel></rss>")
    drafts, _ = parse_feed(rss, location="https://feed.example/rss")
    assert [(d.title, d.url) for d in drafts] == [("Broken host", None)]
    feed = json.dumps({"version": "https://jsonfeed.org/version/1.1", "home_page_url": "http://[::1/",
                       "items": [{"id": "1", "title": "Relative", "url": "/a"},
                                 {"id": "2", "title": "Absolute", "url": "https://jf.example/b"}]}).encode()
    drafts, _ = parse_feed(feed, location="f.json")
    assert [(d.title, d.url) for d in drafts] == [("Relative", None), ("Absolute", "https://jf.example/b")]


def test_a_feed_parser_crash_is_a_clear_source_error(monkeypatch):
    def crash(*_args, **_kwargs):
        raise OverflowError("Python int too large to convert to C int")

    monkeypatch.setattr("digests.ingest.feeds.feedparser.parse", crash)
    with pytest.raises(SourceError, match=r"the feed parser failed on this document \(OverflowError\)"):
        parse_feed(RSS, location="x.xml")


def test_json_that_orjson_refuses_but_python_writes_is_still_read():
    # NaN and Infinity (json.dumps writes them), a lone surrogate escape (dropped from the story when it
    # is cleaned) and U+2028 inside a string (str.splitlines() broke the line there).
    lines = '{"title": "Fine", "score": NaN}\n{"title": "Bad \\ud800 title", "rank": Infinity}\n' \
            '{"title": "Line\u2028separator"}\n{not json\n'
    drafts, errors = parse_json_lines(lines, source="s")
    assert [d.clean().title for d in drafts] == ["Fine", "Bad title", "Line separator"]
    assert errors == ["line 4: not valid JSON (Expecting property name enclosed in double quotes)"]
    feed = b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "title": "Bad \\udc00 news"}]}'
    drafts, _ = parse_feed(feed, location="x.json")
    assert [d.clean().title for d in drafts] == ["Bad news"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"<html><body><p>Not a feed</p></body></html>", "not an RSS, Atom or JSON feed"),
        (b'{"hello": "world"}', "not a JSON Feed"),
        (b"{broken json", "invalid JSON"),
    ],
)
def test_documents_that_are_not_feeds_fail_clearly(data: bytes, message: str):
    with pytest.raises(SourceError, match=message):
        parse_feed(data, location="x")


def test_read_source_picks_the_format_by_suffix(tmp_path):
    (tmp_path / "b.txt").write_text(SAMPLE, encoding="utf-8")
    (tmp_path / "s.jsonl").write_text('{"title": "One"}\n', encoding="utf-8")
    (tmp_path / "f.xml").write_bytes(RSS)
    assert len(read_source(str(tmp_path / "b.txt")).drafts) == 18
    assert read_source(str(tmp_path / "s.jsonl")).drafts[0].source == "s"
    assert read_source(str(tmp_path / "f.xml")).drafts[0].title == "Fed holds rates steady"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.txt", None, "no such file"),
        ("latin1.txt", "Café crème".encode("latin-1"), "not UTF-8 text"),
        ("empty.txt", b"  \n", "the file is empty"),
        ("bad.jsonl", b'{"url": "x"}\n', "no valid line"),
    ],
)
def test_read_source_fails_clearly_on_bad_files(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        read_source(str(path))


def test_read_source_refuses_other_schemes_and_directories(tmp_path):
    with pytest.raises(SourceError, match="only files and http"):
        read_source("file:///etc/passwd")
    with pytest.raises(SourceError, match="directory"):
        read_source(str(tmp_path))


# --- Review 2026-11-30: entity expansion after a long prolog (M1), bounded HTML (H4), invisible titles (L4)


def test_a_doctype_after_megabytes_of_prolog_is_still_removed():
    # The DOCTYPE was looked for in the first 64 KB only: this 4.6 MB document expanded to a 100 MB field.
    doc = (b"<?xml version='1.0'?><!--" + b"p" * 4_500_000 + b'--><!-- two --><?pi x?><!DOCTYPE rss [<!ENTITY a "'
           + b"A" * 100_000 + b'">]><rss version="2.0"><channel><title>c</title><item><title>t</title>'
           b"<link>http://x.example/1</link><description>" + b"&a;" * 1000 + b"</description></item></channel></rss>")
    drafts, _ = parse_feed(doc, location="http://x.example/feed")
    assert all("AAAA" not in d.summary and len(d.summary) < 10_000 for d in drafts)


def test_a_doctype_after_the_root_element_is_left_to_the_parsers():
    doc = b'<rss version="2.0"><channel><title>c</title><item><title>fine</title></item></channel></rss>'
    assert [d.title for d in parse_feed(b"<!-- c -->\n" + doc, location="x.xml")[0]] == ["fine"]


def test_titles_and_summaries_reach_the_html_reader_cut_short(monkeypatch):
    seen: list[tuple[int, int]] = []
    real = feeds.html_to_text
    monkeypatch.setattr(feeds, "html_to_text", lambda t, limit=HTML_INPUT_MAX: seen.append((len(t), limit))
                        or real(t, limit))
    big = '<a b="' * 10_000
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "JF",
           "items": [{"id": "1", "title": big, "summary": big, "content_html": big}]}
    parse_feed(json.dumps(doc).encode(), location="jf.json")
    assert (60_000, SHORT_HTML_MAX) in seen and (60_000, HTML_INPUT_MAX) in seen
    assert SHORT_HTML_MAX <= 20_000 and HTML_INPUT_MAX <= 100_000


def test_an_invisible_title_is_refused_per_item_and_the_rest_ingests():
    lines = "\n".join(json.dumps(obj) for obj in [
        {"title": "\u200b\u200b", "url": "https://u.example/1"},
        {"title": "\u2060\ufeff\u200c\u200d\u202e", "url": "https://u.example/2"},
        {"title": "<b></b>", "url": "https://u.example/3"},
        {"title": "Visible", "url": "https://u.example/4"},
    ])
    drafts, errors = parse_json_lines(lines, source="s")
    assert [d.title for d in drafts] == ["Visible"]
    assert errors == [f"line {n}: “title” shows no visible text" for n in (1, 2, 3)]
    rss = ('<rss version="2.0"><channel><title>t</title><item><title>\u200b\u202e</title>'
           "<description>Lead sentence here. More.</description></item>"
           "<item><title>\u200b</title></item></channel></rss>").encode()
    drafts, skipped = parse_feed(rss, location="x.xml")
    assert [d.title for d in drafts] == ["Lead sentence here"]
    assert skipped == ["entry 2: no title, summary or content"]
    text = "Lead para. Next.\n\n\u200b\u200d\nReal headline\n\u202e\n"
    assert [d.title for d in parse_briefing_text(text, source="s")] == ["Lead para", "Real headline"]
