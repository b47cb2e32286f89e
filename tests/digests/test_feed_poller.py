"""Polling feeds over real HTTP from a server on 127.0.0.1: conditional GET, failures, backoff, limits."""

from __future__ import annotations

import asyncio
import gzip
import random
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import ClassVar

import httpx
import pytest
from sqlmodel import select

from digests.errors import InputError
from digests.feed_poller import (
    FAILURE_LIMIT,
    FeedPoller,
    announce_disabled_feeds,
    read_feeds_file,
    sync_deployment_feeds,
)
from digests.feed_registry import add_feed
from digests.ingest.fetch import feed_client
from digests.models import Feed, Story
from digests.rendering import Renderer
from digests.store import session_scope, topic_links, visible_to
from digests.targets import setup_briefing
from tests.digests.test_delivery import RecordingTelemetry
from tests.local_http import QuietHandler, serving

ETAG = '"v1"'
LAST_MODIFIED = "Sat, 28 Nov 2026 06:00:00 GMT"


def rss(*titles: str) -> bytes:
    items = "".join(f"<item><title>{t}</title><link>https://local.example/{i}</link></item>"
                    for i, t in enumerate(titles))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Local</title>{items}</channel></rss>'.encode()


FEED = rss("Tariffs rise on steel", "Harbour reopens")


# Compressed once: compressing 30 MB in the handler could itself outlast the poller's 0.5 s timeout
# on a loaded machine, and the answer would fail as "timed out" instead of by its size.
BOMB = gzip.compress(b"<rss>" + b"\0" * (30 * 1024 * 1024))


class Handler(QuietHandler):
    """One behaviour per path; counts requests and 304 answers."""

    hits: ClassVar[dict[str, int]] = {}
    not_modified: ClassVar[int] = 0

    def do_GET(self) -> None:
        Handler.hits[self.path] = Handler.hits.get(self.path, 0) + 1
        if self.path == "/feed.xml":
            if self.headers.get("If-None-Match") == ETAG or self.headers.get("If-Modified-Since") == LAST_MODIFIED:
                Handler.not_modified += 1
                self.send_response(304)
                self.end_headers()
                return
            self._send(200, FEED, {"ETag": ETAG, "Last-Modified": LAST_MODIFIED})
        elif self.path == "/error":
            self._send(500, b"down")
        elif self.path == "/to-file":
            self.send_response(301)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
        elif self.path == "/huge":
            self._send(200, b"<rss>" + b" " * (2 * 1024 * 1024))
        elif self.path == "/bomb":
            self._send(200, BOMB, {"Content-Encoding": "gzip"})
        elif self.path == "/slow":
            time.sleep(2)
            self._send(200, FEED)
        elif self.path == "/not-a-feed":
            self._send(200, b"<html><body>Hello</body></html>")
        elif self.path == "/surrogate.json":
            self._send(200, b'{"version": "https://jsonfeed.org/version/1.1", '
                            b'"items": [{"id": "1", "title": "Ferry \\ud800 strike ends"}]}')
        elif self.path == "/bad-refs.xml":
            self._send(200, rss("Tariffs &#55296; rise", "Harbour &#x110000; reopens"))

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_body(status, body, headers)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(Handler) as url:
        yield url


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def register(engine, taxonomy, url: str, now, *, guild_id=None, topic=None) -> Feed:
    with session_scope(engine) as session:
        feed, _ = add_feed(session=session, taxonomy=taxonomy, url=url, guild_id=guild_id, topic=topic, added_by=None,
                           allow_private=True, now=now)
        return feed


def make_poller(engine, taxonomy, clock, **options) -> FeedPoller:
    return FeedPoller(engine=engine, taxonomy=taxonomy, clock=clock, allow_private=True, rng=random.Random(7),
                      **options)


async def test_conditional_get_skips_unchanged_feeds(engine, taxonomy, now, server):
    clock = Clock(now)
    register(engine, taxonomy, f"{server}/feed.xml", now, topic="economy")
    poller = make_poller(engine, taxonomy, clock)
    first = await poller.poll_due()
    assert [(r.outcome, r.new) for r in first] == [("new", 2)]
    assert await poller.poll_due() == []  # not due yet: next poll in 15-16.5 minutes
    clock.now = now + timedelta(minutes=17)
    before = Handler.not_modified
    second = await poller.poll_due()
    await poller.aclose()
    assert [r.outcome for r in second] == ["not modified"]
    assert Handler.not_modified == before + 1
    with session_scope(engine) as session:
        feed = session.exec(select(Feed)).one()
        stories = session.exec(select(Story)).all()
        links = topic_links(session=session, story_ids=[s.id for s in stories])
    assert (feed.etag, feed.last_modified, feed.failures) == (ETAG, LAST_MODIFIED, 0)
    assert timedelta(minutes=15) <= feed.next_poll_at - clock.now <= timedelta(minutes=16, seconds=30)
    assert all("economy" in slugs for slugs in links.values())  # the feed's topic is applied


async def test_failures_back_off_then_disable_the_feed_and_the_guild_is_told_once(engine, taxonomy, now, server):
    clock = Clock(now)
    feed = register(engine, taxonomy, f"{server}/error", now, guild_id=5)
    with session_scope(engine) as session:
        setup_briefing(session=session, taxonomy=taxonomy, guild_id=5, channel_id=500, time_of_day="08:00",
                       timezone="UTC", topics=None, days=None, mention_role_id=None, quiet_day_notice=None, now=now)
    poller = make_poller(engine, taxonomy, clock)
    waits = []
    for attempt in range(1, FAILURE_LIMIT + 1):
        [report] = await poller.poll_due()
        with session_scope(engine) as session:
            stored = session.get(Feed, feed.id)
        waits.append(stored.next_poll_at - clock.now)
        assert report.error == "HTTP 500 Internal Server Error"
        assert report.outcome == ("disabled" if attempt == FAILURE_LIMIT else "failed")
        clock.now = stored.next_poll_at
    await poller.aclose()
    assert waits[0] >= timedelta(minutes=30) and waits[1] >= timedelta(minutes=60)
    assert max(waits) <= timedelta(hours=6) * 1.1
    assert not stored.enabled and stored.last_error == "HTTP 500 Internal Server Error"

    class Recorder:
        sent: ClassVar[list] = []

        async def send(self, destination, content, *, nonce, mention_role_id):
            self.sent.append((destination.id, content))
            return 1

    # Two processes sharing the database look at the same moment: the guild is told once.
    told = await asyncio.gather(*(announce_disabled_feeds(engine=engine, publisher=Recorder(), renderer=Renderer())
                                  for _ in range(2)))
    assert sorted(told) == [0, 1]
    assert await announce_disabled_feeds(engine=engine, publisher=Recorder(), renderer=Renderer()) == 0
    assert len(Recorder.sent) == 1
    assert Recorder.sent[0][0] == 500 and "is disabled" in Recorder.sent[0][1]


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/to-file", "not http or https"),
        ("/huge", "larger than 1 MB"),
        ("/bomb", "larger than 1 MB"),
        ("/not-a-feed", "not an RSS, Atom or JSON feed"),
        ("/slow", "timed out"),
    ],
)
async def test_hostile_answers_fail_cleanly_and_keep_what_is_stored(engine, taxonomy, now, server, path, error):
    register(engine, taxonomy, f"{server}/feed.xml", now)
    register(engine, taxonomy, f"{server}{path}", now)
    client = feed_client(timeout=httpx.Timeout(0.5))
    poller = make_poller(engine, taxonomy, Clock(now), client=client, max_bytes=1024 * 1024)
    reports = {r.url.rsplit("/", 1)[1]: r for r in await poller.poll_due()}
    await poller.aclose()
    assert reports["feed.xml"].outcome in {"new", "not modified"}
    assert reports[path[1:]].outcome == "failed" and error in (reports[path[1:]].error or "")
    with session_scope(engine) as session:
        assert len(session.exec(select(Story)).all()) >= 1


async def test_character_references_and_escapes_to_no_character_do_not_stop_a_feed(engine, taxonomy, now, server):
    # feedparser raised on the references, and a lone surrogate failed the INSERT; either exception
    # escaped the poll, and the feed was never marked failed.
    register(engine, taxonomy, f"{server}/bad-refs.xml", now)
    register(engine, taxonomy, f"{server}/surrogate.json", now)
    poller = make_poller(engine, taxonomy, Clock(now))
    reports = await poller.poll_due()
    await poller.aclose()
    assert sorted((r.outcome, r.new) for r in reports) == [("new", 1), ("new", 2)]
    with session_scope(engine) as session:
        assert sorted(session.exec(select(Story.title)).all()) == [
            "Ferry strike ends", "Harbour \ufffd reopens", "Tariffs \ufffd rise"]


async def test_a_guild_feeds_stories_stay_in_that_guild(engine, taxonomy, now, server):
    register(engine, taxonomy, f"{server}/feed.xml", now, guild_id=42)
    poller = make_poller(engine, taxonomy, Clock(now))
    await poller.poll_due()
    await poller.aclose()
    with session_scope(engine) as session:
        mine = session.exec(select(Story.title).where(visible_to([42]))).all()
        theirs = session.exec(select(Story.title).where(visible_to([43]))).all()
    assert mine and not theirs


def test_feeds_file_lines_and_sync(engine, now, tmp_path):
    path = tmp_path / "feeds.txt"
    path.write_text("# wires\nhttps://a.example/rss\n\n  https://b.example/atom  \nhttps://a.example/rss\n")
    urls = read_feeds_file(path)
    assert urls == ["https://a.example/rss", "https://b.example/atom", "https://a.example/rss"]
    assert sync_deployment_feeds(engine=engine, urls=urls, now=now) == 2
    assert sync_deployment_feeds(engine=engine, urls=urls, now=now) == 0


@pytest.mark.parametrize("line", ["ftp://a.example/rss", "a.example/rss", "https://a.example/\x00"])
def test_a_feeds_file_line_that_is_no_feed_url_is_refused_with_its_number(tmp_path, line):
    path = tmp_path / "feeds.txt"
    path.write_text(f"https://a.example/rss\n{line}\n")
    with pytest.raises(InputError, match=r"FEEDS_FILE .*feeds.txt, line 2: "):
        read_feeds_file(path)


async def test_two_pollers_sharing_a_database_poll_a_due_feed_once(engine, taxonomy, now, server):
    register(engine, taxonomy, f"{server}/slow", now)
    before = Handler.hits.get("/slow", 0)
    first, second = make_poller(engine, taxonomy, Clock(now)), make_poller(engine, taxonomy, Clock(now))
    reports = await asyncio.gather(first.poll_due(), second.poll_due())
    await first.aclose()
    await second.aclose()
    assert sorted(len(r) for r in reports) == [0, 1]
    assert Handler.hits["/slow"] == before + 1



async def test_telemetry_counts_polls_by_outcome_and_the_stories_stored(engine, taxonomy, now, server):
    clock = Clock(now)
    register(engine, taxonomy, f"{server}/feed.xml", now)
    register(engine, taxonomy, f"{server}/error", now)
    telemetry = RecordingTelemetry()
    poller = make_poller(engine, taxonomy, clock, telemetry=telemetry)
    await poller.poll_due()
    clock.now = now + timedelta(minutes=17)
    await poller.poll_due()  # the feed has not changed; the failing one waits out its backoff
    await poller.aclose()
    assert telemetry.polls == {"new": 1, "failed": 1, "not_modified": 1}
    assert telemetry.new_stories == 2
