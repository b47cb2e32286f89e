"""Importing OPML into a guild's or the deployment's feeds, and exporting them, on both stores."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from digests.feed_import import FIRST_POLLS_WITHIN, MAX_CHECKS_PER_IMPORT, exported_feeds, import_feeds
from digests.feed_registry import MAX_FEEDS_PER_GUILD, add_feed, feeds_of
from digests.opml import ExportedFeed, Outline, SubscriptionList, read_opml, write_opml
from digests.store import session_scope

READERS = Path(__file__).parent.parent / "data" / "opml"
GUILD, FRESH_GUILD = 111, 222
PUBLIC = "http://93.184.216.34"  # a literal public address: checked without DNS


def run_import(engine, taxonomy, now, outlines, *, guild_id=GUILD, allow_private=False, over_cap=0):
    subscriptions = SubscriptionList(outlines, over_cap)
    return import_feeds(engine=engine, taxonomy=taxonomy, subscriptions=subscriptions, guild_id=guild_id,
                        added_by=7, allow_private=allow_private, now=now)


def test_each_outline_is_checked_like_feeds_add_and_reported_in_the_files_order(engine, taxonomy, now):
    outlines = [Outline(f"{PUBLIC}/a.xml", "A & co"), Outline("http://127.0.0.1/admin", "Loopback"),
                Outline("http://169.254.169.254/latest/meta-data", "Cloud metadata"),
                Outline("ftp://files.example/feed", "FTP"), Outline(f"http://alice:hunter2@{PUBLIC[7:]}/p", "Creds"),
                Outline(f"{PUBLIC}:6379/", "Redis port"), Outline(f"  {PUBLIC}/a.xml  ", "Same once trimmed"),
                Outline(f"{PUBLIC}/b.xml", "B")]
    report = run_import(engine, taxonomy, now, outlines)
    assert [(item.url.strip(), item.outcome) for item in report.outlines] == [
        (f"{PUBLIC}/a.xml", "added"), ("http://127.0.0.1/admin", "refused"),
        ("http://169.254.169.254/latest/meta-data", "refused"), ("ftp://files.example/feed", "refused"),
        (f"http://alice:hunter2@{PUBLIC[7:]}/p", "refused"), (f"{PUBLIC}:6379/", "refused"),
        (f"{PUBLIC}/a.xml", "present"), (f"{PUBLIC}/b.xml", "added")]
    reasons = [item.reason for item in report.outlines if item.outcome == "refused"]
    assert "private or local address" in reasons[0] and "private or local address" in reasons[1]
    assert "http:// or https://" in reasons[2] and "user name or password" in reasons[3] and "port" in reasons[4]
    with session_scope(engine) as session:
        stored = [(feed.url, feed.title, feed.added_by) for feed in feeds_of(session=session, guild_id=GUILD)]
    assert stored == [(f"{PUBLIC}/a.xml", "A & co", 7), (f"{PUBLIC}/b.xml", "B", 7)]
    again = run_import(engine, taxonomy, now, outlines[:1])
    assert [item.outcome for item in again.outlines] == ["present"]


def test_a_guild_import_stops_at_the_guild_limit(engine, taxonomy, now):
    public = [Outline(f"{PUBLIC}/{i}.xml", f"public {i}") for i in range(MAX_FEEDS_PER_GUILD + 10)]
    report = run_import(engine, taxonomy, now, [*public, Outline("http://127.0.0.1/late", "late")])
    assert report.count("added") == MAX_FEEDS_PER_GUILD
    limit = [item.url for item in report.outlines if item.reason and "at most 25 feeds" in item.reason]
    assert len(limit) == 11 and limit[-1] == "http://127.0.0.1/late"  # a full guild checks nothing more
    with session_scope(engine) as session:
        assert len(feeds_of(session=session, guild_id=GUILD)) == MAX_FEEDS_PER_GUILD


def test_a_guild_import_checks_a_bounded_number_of_addresses(engine, taxonomy, now):
    private = [Outline(f"http://10.0.{i // 250}.{i % 250}/feed", f"private {i}") for i in range(MAX_CHECKS_PER_IMPORT)]
    report = run_import(engine, taxonomy, now, [*private, Outline(f"{PUBLIC}/late.xml", "late")])
    assert all("private or local" in (item.reason or "") for item in report.outlines[:-1])
    assert report.outlines[-1].outcome == "refused" and report.outlines[-1].reason.startswith("Not checked")
    assert report.refusals() == [(report.outlines[0].reason, MAX_CHECKS_PER_IMPORT), (report.outlines[-1].reason, 1)]


def test_imported_feeds_are_registered_for_the_poller_with_their_first_polls_spread(engine, taxonomy, now):
    run_import(engine, taxonomy, now, [Outline(f"{PUBLIC}/{i}.xml", "") for i in range(20)])
    with session_scope(engine) as session:
        due = [feed.next_poll_at for feed in feeds_of(session=session, guild_id=GUILD)]
    assert due[0] == now and len(set(due)) == 20 and due == sorted(due)
    assert max(due) < now + FIRST_POLLS_WITHIN and max(due) - min(due) > FIRST_POLLS_WITHIN - timedelta(minutes=1)


def test_a_disabled_feed_in_the_file_is_turned_back_on(engine, taxonomy, now):
    run_import(engine, taxonomy, now, [Outline(f"{PUBLIC}/a.xml", "A")])
    with session_scope(engine) as session:
        [feed] = feeds_of(session=session, guild_id=GUILD)
        feed.enabled, feed.failures = False, 10
    report = run_import(engine, taxonomy, now, [Outline(f"{PUBLIC}/a.xml", "A")])
    assert [item.outcome for item in report.outlines] == ["enabled"]
    with session_scope(engine) as session:
        assert [(f.enabled, f.failures) for f in feeds_of(session=session, guild_id=GUILD)] == [(True, 0)]


def test_export_then_import_into_a_fresh_guild_gives_the_same_feeds(engine, taxonomy, now):
    run_import(engine, taxonomy, now, [Outline(f"{PUBLIC}/a.xml", 'Tom & Jerry "<Daily>"', (("topic", "trade"),)),
                                       Outline(f"{PUBLIC}/b.xml?x=1&y=2", "Ünïcödé 📰")])
    with session_scope(engine) as session:  # one added by /feeds add: no title, a topic
        add_feed(session=session, taxonomy=taxonomy, url=f"{PUBLIC}/c.xml", guild_id=GUILD, topic="economy",
                 added_by=1, allow_private=False, now=now)
    original = exported_feeds(engine=engine, guild_id=GUILD)
    assert original[0] == ExportedFeed(f"{PUBLIC}/a.xml", 'Tom & Jerry "<Daily>"', "trade")
    document = write_opml(original, title="Port City", now=now)
    report = run_import(engine, taxonomy, now, read_opml(document).outlines, guild_id=FRESH_GUILD)
    assert report.count("added") == 3
    copied = exported_feeds(engine=engine, guild_id=FRESH_GUILD)
    # The untitled feed comes back titled with its URL, the name an export must give it.
    assert copied == [*original[:2], ExportedFeed(f"{PUBLIC}/c.xml", f"{PUBLIC}/c.xml", "economy")]


@pytest.mark.parametrize(("reader", "expected"), [
    ("feedly.opml", 4), ("inoreader.xml", 4), ("netnewswire.opml", 4)])
def test_the_readers_exports_import_as_deployment_wide_feeds(engine, taxonomy, now, reader, expected):
    subscriptions = read_opml((READERS / reader).read_bytes())
    report = import_feeds(engine=engine, taxonomy=taxonomy, subscriptions=subscriptions, guild_id=None,
                          added_by=None, allow_private=True, now=now)
    assert report.count("added") == expected and report.count("refused") == 0
    with session_scope(engine) as session:
        stored = {feed.url: feed.title for feed in feeds_of(session=session, guild_id=None)}
    assert stored == {outline.url: outline.title for outline in subscriptions.outlines}
    assert len(stored) == expected
