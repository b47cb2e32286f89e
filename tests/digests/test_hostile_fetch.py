"""Feeds against a hostile server on 127.0.0.1, with DNS and the Internet played by the test.

One test (or more) per finding of the 2026-11-30 security review this covers: C1, H1, H3, M3,
M4, L5 and L6.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlmodel import select

from digests.errors import InputError, SourceError
from digests.feed_import import ImportedOutline, ImportReport
from digests.feed_poller import MAX_ITEMS_PER_POLL, UNEXPECTED, FeedPoller
from digests.feed_registry import add_feed, check_feed_url
from digests.ingest.fetch import feed_client, fetch_feed, fetch_url
from digests.ingest.guard import GuardedNetwork
from digests.models import Feed, IngestRun, Story
from digests.rendering import Renderer
from digests.store import session_scope
from tests.hostile_server import PUBLIC_IP, FakeDns, HostileHandler, Internet, answers, hostile_server

MB = 1024 * 1024


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with hostile_server() as url:
        yield url


@pytest.fixture(autouse=True)
def fresh_log() -> None:
    HostileHandler.hits.clear()


@pytest.fixture
def internet(server) -> Internet:
    return Internet(server)


@pytest.fixture
def dns(monkeypatch) -> FakeDns:
    """DNS as the attacker runs it: public.test is public; rebind.test is public once, then loopback."""
    fake = FakeDns({
        "public.test": lambda: PUBLIC_IP,
        "rebind.test": answers(PUBLIC_IP, "127.0.0.1"),
        "inside.test": lambda: "10.0.0.5",
        # Python's IDNA 2003 codec and httpx's IDNA 2008 encode attacker-ß.com differently.
        "attacker-ss.com": lambda: PUBLIC_IP,
        "xn--attacker--o1a.com": lambda: "127.0.0.1",
    })
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


def poller_for(engine, taxonomy, now, internet: Internet, **options) -> FeedPoller:
    """The production poller for guild feeds (private addresses refused), its sockets opened by `internet`."""
    return FeedPoller(engine=engine, taxonomy=taxonomy, clock=lambda: now, allow_private=False,
                      guarded_client=feed_client(network=GuardedNetwork(internet)), rng=random.Random(7), **options)


def feeds_add(engine, taxonomy, now, url: str) -> Feed:
    """What /feeds add stores, before its first fetch."""
    with session_scope(engine) as session:
        feed, _ = add_feed(session=session, taxonomy=taxonomy, url=url, guild_id=111, topic=None, added_by=1,
                           allow_private=False, now=now)
        return feed


def stored_feed(engine, now, url: str, *, guild_id: int | None = 111) -> Feed:
    """A feed row as an older version may have stored it, unchecked."""
    with session_scope(engine) as session:
        feed = Feed(url=url, guild_id=guild_id, created_at=now)
        session.add(feed)
        session.flush()
        session.expunge(feed)
        return feed


def titles(engine) -> list[str]:
    with session_scope(engine) as session:
        return sorted(session.exec(select(Story.title)).all())


def secret_hits() -> list[tuple[str, str]]:
    return [hit for hit in HostileHandler.hits if hit[0].startswith("/secret")]


# C1 ---------------------------------------------------------------------------------------------

def peak_memory(work) -> int:
    """The peak of Python allocations while `work()` runs."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_stacked_content_codings_are_refused_before_inflating_anything(server):
    # Before: 495 bytes on the wire inflated to hundreds of MB before the cap was looked at.
    def work():
        with pytest.raises(SourceError, match=r"stacked content codings \(gzip, gzip\)"):
            fetch_url(f"{server}/gzip2")

    assert peak_memory(work) < 8 * MB


def test_a_gzip_bomb_is_inflated_no_further_than_the_cap(server):
    # httpx inflated a whole 64 KB network read at once: about 50 MB here, whatever the cap.
    async def work():
        async with feed_client() as client:
            with pytest.raises(SourceError, match="larger than 1 MB"):
                await fetch_feed(client, f"{server}/gzip-bomb", max_bytes=MB)

    assert peak_memory(lambda: asyncio.run(work())) < 4 * MB


# H1 ---------------------------------------------------------------------------------------------

async def test_a_redirect_to_a_private_address_is_not_followed(engine, taxonomy, now, server, dns, internet):
    feed = feeds_add(engine, taxonomy, now, "http://public.test/redirect?to=http://127.0.0.1/secret")
    poller = poller_for(engine, taxonomy, now, internet)
    [report] = await poller.poll([feed])
    [inside] = await poller.poll([feeds_add(engine, taxonomy, now, "http://public.test/redirect?to=http://inside.test/secret")])
    await poller.aclose()
    assert report.outcome == inside.outcome == "failed"
    assert "private or local address" in report.error and "private or local address" in inside.error
    assert internet.connects == [(PUBLIC_IP, 80)] * 2  # the redirect hop never got a socket
    assert secret_hits() == [] and titles(engine) == []


async def test_the_connection_goes_to_the_address_that_was_checked(engine, taxonomy, now, server, dns, internet):
    # rebind.test answers public once, then loopback: the add-time check sees the public answer.
    feed = feeds_add(engine, taxonomy, now, "http://rebind.test/secret")
    poller = poller_for(engine, taxonomy, now, internet)
    [report] = await poller.poll([feed])
    await poller.aclose()
    # The connect resolved rebind.test once more, got loopback, and refused it: no socket was opened.
    assert report.outcome == "failed" and "private or local address" in report.error
    assert dns.lookups.count("rebind.test") == 2 and internet.connects == []
    assert secret_hits() == []


async def test_a_name_is_resolved_once_per_connection_and_connected_as_checked(engine, taxonomy, now, server, dns,
                                                                                 internet):
    dns.table["rebind.test"] = answers(PUBLIC_IP, PUBLIC_IP, "127.0.0.1")
    feed = feeds_add(engine, taxonomy, now, "http://rebind.test/secret")
    poller = poller_for(engine, taxonomy, now, internet)
    [report] = await poller.poll([feed])
    await poller.aclose()
    # One lookup at /feeds add, one for the connection, which went to that (public) answer.
    assert dns.lookups.count("rebind.test") == 2 and internet.connects == [(PUBLIC_IP, 80)]
    assert report.outcome == "new" and secret_hits() == [("/secret", "rebind.test")]  # the Host header stays


async def test_hosts_are_resolved_as_httpx_encodes_them(engine, taxonomy, now, server, dns, internet):
    with session_scope(engine) as session, pytest.raises(InputError, match="private or local"):
        add_feed(session=session, taxonomy=taxonomy, url="http://attacker-ß.com/secret", guild_id=111, topic=None,
                 added_by=1, allow_private=False, now=now)
    # A row stored before the fix is refused at connect time as well.
    poller = poller_for(engine, taxonomy, now, internet)
    [report] = await poller.poll([stored_feed(engine, now, "http://attacker-ß.com/secret")])
    await poller.aclose()
    assert report.outcome == "failed" and "private or local address" in report.error
    assert "attacker-ss.com" not in dns.lookups and internet.connects == [] and secret_hits() == []


async def test_guild_feed_errors_do_not_describe_what_answered(engine, taxonomy, now, server, dns, internet):
    poller = poller_for(engine, taxonomy, now, internet)
    refused = feeds_add(engine, taxonomy, now, "http://public.test/status?code=401&reason=Unauthorized")
    closed = feeds_add(engine, taxonomy, now, "http://public.test:8081/feed")
    [status, network] = await poller.poll([refused, closed])
    await poller.aclose()
    assert status.error == "the feed could not be read: the server answered with an error (HTTP 4xx)"
    assert network.error == "could not connect to the feed's server or read its answer"
    assert not any(word in status.error + network.error for word in ("401", "Unauthorized", "ConnectError", "8081"))


async def test_feed_fetches_ignore_proxy_settings(server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", server)
    monkeypatch.setenv("ALL_PROXY", server)
    before = len(HostileHandler.hits)
    async with feed_client() as client:
        with pytest.raises(SourceError, match="network error"):
            await fetch_feed(client, "http://no-such-host.invalid/secret")
    assert len(HostileHandler.hits) == before


# L6 ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://[::127.0.0.1]/feed", "private or local"),
        ("http://[fec0::1]/feed", "private or local"),
        ("http://[64:ff9b::7f00:1]/feed", "private or local"),
        ("http://[2002:7f00:1::]/feed", "private or local"),
        ("http://[::ffff:127.0.0.1]/feed", "private or local"),
        (f"https://{PUBLIC_IP}:6379/", "port 80, 443 or 8080–8443"),
        (f"http://{PUBLIC_IP}:0/", "port 80, 443 or 8080–8443"),
    ],
)
def test_addresses_that_reach_inside_and_unusual_ports_are_refused(url, message):
    with pytest.raises(InputError, match=message):
        check_feed_url(url, allow_private=False)


def test_usual_web_ports_are_allowed():
    for port in (80, 443, 8080, 8443):
        assert check_feed_url(f"http://{PUBLIC_IP}:{port}/feed", allow_private=False)


async def test_a_redirect_to_an_unusual_port_is_not_followed(server, dns, internet):
    async with feed_client(network=GuardedNetwork(internet)) as client:
        with pytest.raises(SourceError, match="port other than 80, 443 or 8080–8443"):
            await fetch_feed(client, f"http://public.test/redirect?to=http://{PUBLIC_IP}:6379/", guarded=True)
    assert internet.connects == [(PUBLIC_IP, 80)]


# H3 ---------------------------------------------------------------------------------------------

async def test_a_trickling_feed_holds_up_no_other_feed_and_ends_at_its_deadline(engine, taxonomy, now, server):
    with session_scope(engine) as session:
        for path in ("/trickle?every=0.2", "/feed"):
            add_feed(session=session, taxonomy=taxonomy, url=server + path, guild_id=None, topic=None, added_by=None,
                     allow_private=True, now=now)
    poller = FeedPoller(engine=engine, taxonomy=taxonomy, clock=lambda: now, allow_private=True, deadline=4)
    assert await poller.poll_due(wait=0) == []  # the tick returns at once; both polls go on
    reports = []
    for _ in range(600):  # at most 30 s on a loaded machine; normally a fraction of a second
        await asyncio.sleep(0.05)
        reports += await poller.poll_due(wait=0)
        if len(titles(engine)) == 2:
            break
    assert titles(engine) == ["Harbour reopens", "Tariffs rise on steel"]
    assert HostileHandler.trickling == 1  # the healthy feed's stories arrived while the trickle went on
    for _ in range(600):
        if any("trickle" in r.url for r in reports):
            break
        await asyncio.sleep(0.05)
        reports += await poller.poll_due(wait=0)  # later ticks bring the slow poll's report
    await poller.aclose()
    [trickle] = [r for r in reports if "trickle" in r.url]
    assert trickle.outcome == "failed" and trickle.error == "took longer than 4 seconds; stopped"


# M3 ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://ﬁ.example/feed", "http://ＡＢＣ.com/feed", "http://a.example/a\tb"])
def test_urls_httpx_refuses_are_refused_when_added(url):
    with pytest.raises(InputError, match="not a valid URL"):
        check_feed_url(url, allow_private=True)


async def test_an_unfetchable_stored_url_is_that_feeds_failure(engine, taxonomy, now, server):
    feed = stored_feed(engine, now, "http://ﬁ.example/feed", guild_id=None)
    poller = FeedPoller(engine=engine, taxonomy=taxonomy, clock=lambda: now, allow_private=True)
    [report] = await poller.poll_due()
    await poller.aclose()
    assert (report.outcome, report.error) == ("failed", "not a valid URL")
    with session_scope(engine) as session:
        assert session.get(Feed, feed.id).failures == 1


async def test_dates_out_of_range_keep_the_other_entries(engine, taxonomy, now, server):
    stored_feed(engine, now, f"{server}/atom-dates", guild_id=None)
    poller = FeedPoller(engine=engine, taxonomy=taxonomy, clock=lambda: now, allow_private=True)
    [report] = await poller.poll_due()
    await poller.aclose()
    assert (report.outcome, report.new) == ("new", 2)
    with session_scope(engine) as session:
        dates = dict(session.exec(select(Story.title, Story.published_at)).all())
    assert dates["Far future"] is None and dates["Harbour reopens"] is not None


async def test_a_non_ascii_etag_is_not_kept_so_the_next_poll_works(engine, taxonomy, now, server):
    feed = stored_feed(engine, now, f"{server}/etag", guild_id=None)
    clock = SimpleNamespace(now=now)
    poller = FeedPoller(engine=engine, taxonomy=taxonomy, clock=lambda: clock.now, allow_private=True)
    first = await poller.poll_due()
    clock.now += timedelta(hours=1)
    second = await poller.poll_due()
    await poller.aclose()
    assert [r.outcome for r in first + second] == ["new", "new"]
    with session_scope(engine) as session:
        assert session.get(Feed, feed.id).etag is None


@pytest.mark.parametrize("error", [RuntimeError("bug"), MemoryError(), OverflowError("date")])
async def test_any_exception_of_one_feed_is_that_feeds_failure(engine, taxonomy, now, server, monkeypatch, caplog,
                                                              error):
    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr("digests.feed_poller.parse_feed", broken)
    stored_feed(engine, now, f"{server}/feed", guild_id=None)
    poller = FeedPoller(engine=engine, taxonomy=taxonomy, clock=lambda: now, allow_private=True)
    with caplog.at_level(logging.ERROR, logger="digests.feed_poller"):
        [report] = await poller.poll_due()
    await poller.aclose()
    assert (report.outcome, report.error) == ("failed", UNEXPECTED)
    assert len([r for r in caplog.records if r.exc_info]) == 1


# M4 ---------------------------------------------------------------------------------------------

async def test_one_poll_stores_at_most_the_newest_entries(engine, taxonomy, now, server):
    stored_feed(engine, now, f"{server}/many?n={MAX_ITEMS_PER_POLL + 50}", guild_id=None)
    poller = FeedPoller(engine=engine, taxonomy=taxonomy, clock=lambda: now, allow_private=True)
    [report] = await poller.poll_due()
    await poller.aclose()
    assert report.new == MAX_ITEMS_PER_POLL
    assert "Story 0" in titles(engine) and f"Story {MAX_ITEMS_PER_POLL}" not in titles(engine)
    with session_scope(engine) as session:
        run = session.exec(select(IngestRun)).one()
    assert f"kept the newest {MAX_ITEMS_PER_POLL} of {MAX_ITEMS_PER_POLL + 50} entries" in run.error


# L5 ---------------------------------------------------------------------------------------------

def test_a_guild_feed_may_not_hold_credentials(engine, taxonomy, now):
    with session_scope(engine) as session, pytest.raises(InputError, match="user name or password"):
        add_feed(session=session, taxonomy=taxonomy, url="https://alice:hunter2@feeds.example/private.xml",
                 guild_id=111, topic=None, added_by=1, allow_private=True, now=now)


@pytest.mark.parametrize("macro", ["feed_disabled", "feed_removed", "feed_list", "feed_added", "feed_enabled",
                                   "feed_import"])
def test_feed_urls_are_shown_inert_and_without_credentials(macro):
    feed = SimpleNamespace(id=7, enabled=False, last_error="timed out", last_success_at=None, title=None,
                           url="https://alice:hunter2@feeds.example/private.xml> **FREE NITRO** @everyone <")
    first = SimpleNamespace(outcome="not modified")
    refused = ImportReport([ImportedOutline(feed.url, "t", "refused", "no credentials here")])
    context = {
        "feed_disabled": {"feed": feed, "limit": 10},
        "feed_removed": {"feed": feed},
        "feed_list": {"feeds": [feed]},
        "feed_import": {"report": refused, "detailed": True, "max_outlines": 1000},
    }.get(macro, {"feed": feed, "topic": None, "first": first})
    [text] = Renderer().reply(macro, **context)
    assert "hunter2" not in text and "alice" not in text
    assert "<https://feeds.example/private.xml%3E%20**FREE%20NITRO**%20@everyone%20%3C>" in text
