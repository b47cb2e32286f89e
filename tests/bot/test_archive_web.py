"""The archive's routes over real HTTP (aiohttp on 127.0.0.1): status codes, headers, conditional requests, feeds.

The feeds are checked the way readers take them: the Atom feed parsed back with feedparser, the JSON
Feed against the required fields of the JSON Feed 1.1 specification (https://jsonfeed.org/version/1.1).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime, timedelta

import aiohttp
import feedparser
import pytest

from digests.archive import set_archive
from digests.ingest.draft import StoryDraft
from digests.models import ChannelBriefing
from digests.store import session_scope
from tests.archive_server import archived_briefing_setup, deliver_with, services_for, serving

DAY_ONE = [StoryDraft(title=f"Tariffs talk {n} r{n}a r{n}b r{n}c", source=f"Outlet {n}",
                      url=f"https://news.example/{n}") for n in range(3)]
DAY_TWO = [StoryDraft(title="NATO summit & the <Arctic>", source="Wire", url="https://wire.example/nato")]
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


@pytest.fixture
async def archive(engine, taxonomy, renderer, now):
    """A briefing with two archived deliveries (Brussels time: 28 and 29 November, 08:00)."""
    briefing = archived_briefing_setup(engine, taxonomy, now=now)
    await deliver_with(engine, taxonomy, renderer, briefing, drafts=DAY_ONE, slot_at=now)
    await deliver_with(engine, taxonomy, renderer, briefing, drafts=DAY_TWO, slot_at=now + timedelta(days=1))
    return briefing


async def fetch(base: str, path: str, **kwargs) -> tuple[aiohttp.ClientResponse, bytes]:
    async with aiohttp.ClientSession() as session, session.get(base + path, allow_redirects=False, **kwargs) as got:
        return got, await got.read()


def assert_secure(response: aiohttp.ClientResponse) -> None:
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


async def test_an_entry_page_is_html_with_strict_headers_and_validators(engine, taxonomy, renderer, archive):
    async with serving(services_for(engine, taxonomy, renderer)) as base:
        path = f"/archive/{archive.archive_token}/2026-11-28-0800"
        response, body = await fetch(base, path)
        assert response.status == 200 and response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert_secure(response)
        assert response.headers["Cache-Control"] == "no-cache"
        assert response.headers["Last-Modified"] == "Sat, 28 Nov 2026 07:00:02 GMT"  # when it was posted
        assert b"Tariffs talk 0" in body and b"NATO summit" not in body
        # The one inline style is allowed by its hash, and nothing else is.
        style = re.search(rb"<style>(.*?)</style>", body, re.S)[1]
        digest = base64.b64encode(hashlib.sha256(style).digest()).decode()
        assert f"style-src 'sha256-{digest}'" in response.headers["Content-Security-Policy"]
        assert b"<script" not in body

        cached, empty = await fetch(base, path, headers={"If-None-Match": response.headers["ETag"]})
        assert (cached.status, empty) == (304, b"")
        assert cached.headers["ETag"] == response.headers["ETag"]
        unchanged, _ = await fetch(base, path, headers={"If-Modified-Since": response.headers["Last-Modified"]})
        assert unchanged.status == 304
        stale, _ = await fetch(base, path, headers={"If-Modified-Since": "Fri, 27 Nov 2026 07:00:00 GMT"})
        assert stale.status == 200
        async with aiohttp.ClientSession() as session, session.head(base + path) as head:
            assert head.status == 200 and head.headers["Content-Type"].startswith("text/html")


async def test_the_index_lists_every_briefing_newest_first_and_a_bare_token_redirects(engine, taxonomy, renderer,
                                                                                        archive):
    async with serving(services_for(engine, taxonomy, renderer)) as base:
        token = archive.archive_token
        redirect, _ = await fetch(base, f"/archive/{token}")
        assert redirect.status == 308 and redirect.headers["Location"] == f"{token}/"
        response, body = await fetch(base, f"/archive/{token}/")
        assert response.status == 200 and response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert_secure(response)
        links = re.findall(rb'<li><a href="([^"]+)"', body)
        assert links == [b"2026-11-29-0800", b"2026-11-28-0800"]
        assert b'href="feed.atom"' in body and b'href="feed.json"' in body
        for link in links:  # every listed briefing is there
            assert (await fetch(base, f"/archive/{token}/{link.decode()}"))[0].status == 200


async def test_the_atom_feed_parses_back_with_its_entries_links_and_dates(engine, taxonomy, renderer, archive):
    async with serving(services_for(engine, taxonomy, renderer)) as base:
        response, body = await fetch(base, f"/archive/{archive.archive_token}/feed.atom")
        assert response.status == 200 and response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
        assert_secure(response)
        headers = {name.lower(): value for name, value in response.headers.items()}
        feed = feedparser.parse(body, response_headers={**headers, "content-location": str(response.url)})
        assert not feed.bozo, feed.get("bozo_exception")
        assert feed.version == "atom10"
        assert feed.feed.title == "Briefing archive · all topics"
        assert feed.feed.link == f"{base}/archive/{archive.archive_token}/"
        assert [entry.title for entry in feed.entries] == ["📰 Daily briefing · Sunday 29 November 2026",
                                                           "📰 Daily briefing · Saturday 28 November 2026"]
        assert len({entry.id for entry in feed.entries}) == 2
        assert [entry.published_parsed[:5] for entry in feed.entries] == [(2026, 11, 29, 7, 0), (2026, 11, 28, 7, 0)]
        newest = feed.entries[0]
        assert "NATO summit &amp; the &lt;Arctic&gt;" in newest.content[0].value  # HTML, escaped once
        assert 'href="https://wire.example/nato"' in newest.content[0].value
        for entry in feed.entries:  # each entry's link is its page
            page, _ = await fetch(entry.link, "")
            assert page.status == 200


def assert_json_feed_1_1(feed: dict) -> None:
    """The required and typed fields of JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str) and feed["title"]
    for field in ("home_page_url", "feed_url", "description", "language"):
        assert isinstance(feed.get(field, ""), str)
    for author in feed.get("authors", []):
        assert isinstance(author, dict) and set(author) <= {"name", "url", "avatar"} and author
    assert isinstance(feed["items"], list)
    for item in feed["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert isinstance(item.get("content_html"), str) or isinstance(item.get("content_text"), str)
        for field in ("url", "title", "summary", "content_html"):
            assert isinstance(item.get(field, ""), str)
        for field in ("date_published", "date_modified"):
            if field in item:
                assert RFC3339.fullmatch(item[field]), item[field]
                datetime.fromisoformat(item[field])
    assert len({item["id"] for item in feed["items"]}) == len(feed["items"])


async def test_the_json_feed_is_json_feed_1_1_and_uses_the_public_base_url(engine, taxonomy, renderer, archive):
    services = services_for(engine, taxonomy, renderer, ARCHIVE_BASE_URL="https://news.example.org/briefbot/")
    async with serving(services) as base:
        response, body = await fetch(base, f"/archive/{archive.archive_token}/feed.json")
        assert response.status == 200 and response.headers["Content-Type"] == "application/feed+json; charset=utf-8"
        assert_secure(response)
        feed = json.loads(body)
        assert_json_feed_1_1(feed)
        public = f"https://news.example.org/briefbot/archive/{archive.archive_token}/"
        assert (feed["home_page_url"], feed["feed_url"]) == (public, public + "feed.json")
        assert [item["url"] for item in feed["items"]] == [public + "2026-11-29-0800", public + "2026-11-28-0800"]
        assert "Tariffs talk 0" in feed["items"][1]["content_html"]
        assert feed["items"][1]["summary"].startswith("Tariffs talk")
        atom = feedparser.parse((await fetch(base, f"/archive/{archive.archive_token}/feed.atom"))[1])
        assert [entry.id for entry in atom.entries] == [item["id"] for item in feed["items"]]  # the same ids
        assert atom.entries[0].link == public + "2026-11-29-0800"


async def test_every_dead_end_is_the_same_404_and_an_archive_turned_off_is_one(engine, taxonomy, renderer, archive):
    token = archive.archive_token
    other = "A" * 22
    async with serving(services_for(engine, taxonomy, renderer)) as base:
        for path in (f"/archive/{other}/", f"/archive/{other}/feed.atom", f"/archive/{token}/2026-11-27-0800",
                     f"/archive/{token}/not-a-key", f"/archive/{token}/?page=0", f"/archive/{token}/?page=2",
                     f"/archive/{token}/?page=x", "/archive/short/", f"/archive/{token}/feed.json/x", "/archive/"):
            response, body = await fetch(base, path)
            assert response.status == 404 and b"Not found" in body, path
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert response.headers["Cache-Control"] == "no-store"
            assert_secure(response)
            assert token.encode() not in body
        with session_scope(engine) as session:
            set_archive(session.get(ChannelBriefing, archive.id), "off")
        for path in ("/", "/2026-11-28-0800", "/feed.atom", "/feed.json"):
            response, body = await fetch(base, f"/archive/{token}{path}")
            assert response.status == 404 and b"Not found" in body, path
            assert_secure(response)
        with session_scope(engine) as session:
            set_archive(session.get(ChannelBriefing, archive.id), "on")
        assert (await fetch(base, f"/archive/{token}/2026-11-28-0800"))[0].status == 200
