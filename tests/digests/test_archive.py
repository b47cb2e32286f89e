"""The briefing archive, on both stores: what is archived (exactly what was posted, once), who sees it, its switch.

Pages are read back through `ArchiveSite`, as the web routes serve them, and parsed as HTML.
"""

from __future__ import annotations

import json
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from sqlmodel import select

from digests.archive import archived_briefing, recent_entries, set_archive
from digests.archive_pages import ArchivePages, ArchiveSite
from digests.delivery import Deliverer, claim
from digests.errors import InputError
from digests.guilds import forget_guild
from digests.ingest.draft import StoryDraft
from digests.models import ArchiveEntry, ChannelBriefing, Delivery
from digests.store import add_stories, create_engine, open_store, session_scope, upgrade_database
from digests.targets import pick_briefing, remove_briefing, setup_briefing
from tests.digests.test_delivery import Crash, RecordingPublisher

GUILD, OTHER_GUILD = 111, 222


class Stories(HTMLParser):
    """The story titles of an archive page, in order, with their links, and the section headings."""

    def __init__(self) -> None:
        super().__init__()
        self.titles: list[str] = []
        self.links: dict[str, str] = {}
        self.headings: list[str] = []
        self._in: list[str] = []
        self._href: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in {"li", "h2"} or (tag == "p" and attributes.get("class") == "headline"):
            self._in.append(tag)
            self._text = ""
        if tag == "a" and self._in:
            self._href = attributes.get("href")
        if tag == "span" and self._in:  # the meta after a title
            self._finish()

    def handle_endtag(self, tag):
        if self._in and tag == self._in[-1]:
            self._finish()

    def handle_data(self, data):
        if self._in:
            self._text += data

    def _finish(self):
        if not self._in:
            return
        tag, text = self._in.pop(), self._text.strip().removeprefix("⭐").strip()
        if tag == "h2":
            self.headings.append(text)
        else:
            self.titles.append(text)
            if self._href:
                self.links[text] = self._href
        self._href, self._text = None, ""


def parse(body: bytes) -> Stories:
    page = Stories()
    page.feed(body.decode())
    return page


def setup(engine, taxonomy, now, *, guild_id=GUILD, channel_id=55, archive="on", **overrides) -> ChannelBriefing:
    values = {"time_of_day": "08:00", "timezone": "Europe/Brussels", "topics": None, "days": None,
              "mention_role_id": None, "quiet_day_notice": None}
    with session_scope(engine) as session:
        briefing, _ = setup_briefing(session=session, taxonomy=taxonomy, guild_id=guild_id, channel_id=channel_id,
                                     now=now - timedelta(days=1), archive=archive, **{**values, **overrides})
        return briefing


def deliverer(engine, taxonomy, renderer, clock, publisher) -> Deliverer:
    return Deliverer(engine=engine, taxonomy=taxonomy, renderer=renderer, publisher=publisher, clock=lambda: clock,
                     owner="process-1")


def reload(engine, briefing: ChannelBriefing) -> ChannelBriefing:
    with session_scope(engine) as session:
        return session.get(ChannelBriefing, briefing.id)


def site(engine, taxonomy, base_url=None) -> ArchiveSite:
    return ArchiveSite(engine=engine, taxonomy=taxonomy, pages=ArchivePages(), base_url=base_url)


def entries(engine, briefing):
    with session_scope(engine) as session:
        return recent_entries(session=session, briefing_id=briefing.id, limit=100)


def stored_entries(engine) -> list[ArchiveEntry]:
    with session_scope(engine) as session:
        return list(session.exec(select(ArchiveEntry).order_by(ArchiveEntry.id)))


@pytest.fixture
def news(engine, taxonomy, now):
    """Twenty events on several topics (more than a briefing shows), linked, one with a summary."""
    drafts = [StoryDraft(title=f"Tariffs story {n} on q{n}a q{n}b q{n}c", source=f"Outlet {n}",
                         url=f"https://news.example/{n}?a=1&b=2") for n in range(8)]
    drafts += [StoryDraft(title=f"NATO defence item {n} z{n}a z{n}b z{n}c", source="Wire",
                          url=f"https://wire.example/{n}") for n in range(8)]
    drafts += [StoryDraft(title=f"Plain headline {n} without topic y{n}a y{n}b", source="Desk",
                          url=f"https://desk.example/{n}") for n in range(4)]
    drafts[0] = StoryDraft(title=drafts[0].title, source=drafts[0].source, url=drafts[0].url,
                           body="Ministers met. " * 30, summary="Ministers met to talk tariffs.")
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=now - timedelta(hours=2), drafts=drafts)


async def test_a_delivered_briefing_is_archived_once_with_what_was_posted(engine, taxonomy, renderer, now, news):
    briefing = setup(engine, taxonomy, now)
    publisher = RecordingPublisher()
    report = await deliverer(engine, taxonomy, renderer, now, publisher).deliver(briefing, slot_at=now)
    assert report.status == "done"
    posted = "\n".join(content for _, content, _, _ in publisher.sent)

    [entry] = entries(engine, briefing)
    assert entry.key == "2026-11-28-0800"  # 07:00 UTC is 08:00 in Brussels
    page = site(engine, taxonomy).entry(briefing.archive_token, entry.key)
    shown = parse(page.body)
    assert len(shown.titles) == 15 == entry.story_count  # a briefing shows 15 of the 20
    positions = [posted.find(title) for title in shown.titles]
    assert -1 not in positions and positions == sorted(positions)  # the same stories, in the same order
    heading_positions = [posted.find(f"**{heading}**") for heading in shown.headings]
    assert -1 not in heading_positions and heading_positions == sorted(heading_positions)  # the same sections
    assert "…and 5 more" in posted and b"and 5 more" in page.body
    assert shown.links[shown.titles[0]].startswith("https://")
    assert b"Ministers met to talk tariffs." in page.body  # the top story's summary, as posted

    again = await deliverer(engine, taxonomy, renderer, now, publisher).deliver(briefing, slot_at=now)
    assert again.status == "done" and len(stored_entries(engine)) == 1


async def test_a_crash_mid_delivery_neither_loses_nor_repeats_the_entry(engine, taxonomy, renderer, now, news):
    briefing = setup(engine, taxonomy, now, topics="trade,defense")
    dying = RecordingPublisher()
    dying.fail_on[0] = Crash()
    with pytest.raises(Crash):
        await deliverer(engine, taxonomy, renderer, now, dying).deliver(briefing, slot_at=now)
    assert len(stored_entries(engine)) == 1
    assert entries(engine, briefing) == []  # not shown while its delivery is unfinished
    assert site(engine, taxonomy).entry(briefing.archive_token, "2026-11-28-0800") is None

    with session_scope(engine) as session:  # news arriving before the restart changes nothing archived
        add_stories(session=session, taxonomy=taxonomy, now=now,
                    drafts=[StoryDraft(title="Late tariffs scoop", source="X", url="https://x.example/late")])
    restarted = RecordingPublisher()
    await deliverer(engine, taxonomy, renderer, now + timedelta(minutes=3), restarted).deliver(briefing, slot_at=now)
    [entry] = entries(engine, briefing)
    assert len(stored_entries(engine)) == 1
    assert "Late tariffs" not in json.dumps(entry.content)
    assert entry.posted_at == now + timedelta(minutes=3)


async def test_nothing_is_archived_when_the_archive_is_off_or_nothing_was_posted(engine, taxonomy, renderer, now,
                                                                                 news):
    off = setup(engine, taxonomy, now, channel_id=1, archive=None)
    quiet = setup(engine, taxonomy, now, channel_id=2, topics="elections", quiet_day_notice=True)
    publisher = RecordingPublisher()
    run = deliverer(engine, taxonomy, renderer, now, publisher)
    assert (await run.deliver(off, slot_at=now)).status == "done"
    assert (await run.deliver(quiet, slot_at=now)).status == "done"  # a quiet-day notice: no stories
    assert "quiet day" in publisher.sent[-1][1]
    assert stored_entries(engine) == []
    assert reload(engine, off).archive_token is None


async def test_turned_off_after_loading_the_briefing_archives_nothing(engine, taxonomy, renderer, now, news):
    loaded = setup(engine, taxonomy, now)
    with session_scope(engine) as session:
        stored = session.get(ChannelBriefing, loaded.id)
        set_archive(stored, "off")
    await deliverer(engine, taxonomy, renderer, now, RecordingPublisher()).deliver(loaded, slot_at=now)
    assert stored_entries(engine) == []


async def test_a_guilds_own_stories_reach_only_its_own_archive(engine, taxonomy, renderer, now, news):
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=now - timedelta(minutes=30), guild_id=GUILD,
                    drafts=[StoryDraft(title="Guild A's private council leak", source="A",
                                       url="https://a.example/leak")])
    mine = setup(engine, taxonomy, now, guild_id=GUILD, channel_id=1)
    theirs = setup(engine, taxonomy, now, guild_id=OTHER_GUILD, channel_id=2)
    run = deliverer(engine, taxonomy, renderer, now, RecordingPublisher())
    for briefing in (mine, theirs):
        await run.deliver(briefing, slot_at=now)
    pages = site(engine, taxonomy)
    assert b"private council leak" in pages.entry(mine.archive_token, "2026-11-28-0800").body
    for body in (pages.entry(theirs.archive_token, "2026-11-28-0800").body, pages.index(theirs.archive_token).body,
                 pages.atom(theirs.archive_token, "http://h").body, pages.json_feed(theirs.archive_token, "http://h").body):
        assert b"private council leak" not in body
    assert b"private council leak" in pages.atom(mine.archive_token, "http://h").body


async def test_off_stops_serving_on_brings_the_same_link_back_and_new_link_retires_it(engine, taxonomy, renderer,
                                                                                        now, news):
    briefing = setup(engine, taxonomy, now)
    await deliverer(engine, taxonomy, renderer, now, RecordingPublisher()).deliver(briefing, slot_at=now)
    token, pages = briefing.archive_token, site(engine, taxonomy)
    assert pages.index(token) is not None

    def switch(mode: str) -> ChannelBriefing:
        return setup(engine, taxonomy, now, archive=mode)

    switch("off")
    assert [pages.index(token), pages.entry(token, "2026-11-28-0800"), pages.atom(token, "http://h"),
            pages.json_feed(token, "http://h")] == [None] * 4
    assert switch("on").archive_token == token
    assert b"2026-11-28-0800" in pages.index(token).body  # the entries are back, at the same address
    renewed = switch("new-link").archive_token
    assert renewed != token and len(renewed) == 22
    assert pages.index(token) is None and pages.index(renewed) is not None
    assert setup(engine, taxonomy, now, archive=None).archive_token == renewed  # other changes keep it
    with pytest.raises(InputError, match="archive must be one of on, off, new-link"):
        switch("maybe")


async def test_post_nows_of_one_minute_get_their_own_pages(engine, taxonomy, renderer, now, news):
    briefing = setup(engine, taxonomy, now, time_of_day="06:00")
    publisher = RecordingPublisher()
    run = deliverer(engine, taxonomy, renderer, now, publisher)
    await run.deliver(briefing, slot_at=now + timedelta(seconds=5))
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=now + timedelta(seconds=6),
                    drafts=[StoryDraft(title="Breaking tariffs twist", source="X", url="https://x.example/2")])
    await run.deliver(reload(engine, briefing), slot_at=now + timedelta(seconds=40))
    assert [entry.key for entry in entries(engine, briefing)] == ["2026-11-28-0800-2", "2026-11-28-0800"]
    latest = site(engine, taxonomy).entry(briefing.archive_token, "2026-11-28-0800-2")
    assert parse(latest.body).titles == ["Breaking tariffs twist"]


async def test_removing_the_briefing_or_leaving_the_guild_deletes_its_archive(engine, taxonomy, renderer, now, news):
    first = setup(engine, taxonomy, now, channel_id=1)
    second = setup(engine, taxonomy, now, channel_id=2)
    run = deliverer(engine, taxonomy, renderer, now, RecordingPublisher())
    for briefing in (first, second):
        await run.deliver(briefing, slot_at=now)
    assert len(stored_entries(engine)) == 2
    with session_scope(engine) as session:
        remove_briefing(session=session, briefing=pick_briefing(session=session, guild_id=GUILD, channel_id=1,
                                                                current_channel_id=None))
    assert [entry.briefing_id for entry in stored_entries(engine)] == [second.id]
    with session_scope(engine) as session:
        forget_guild(session=session, guild_id=GUILD)
    assert stored_entries(engine) == []
    with session_scope(engine) as session:
        assert len(session.exec(select(Delivery)).all()) == 2  # the delivery history stays
        assert archived_briefing(session=session, token=second.archive_token) is None


def test_two_claims_of_one_slot_archive_it_once(engine, taxonomy, renderer, now, news):
    briefing = setup(engine, taxonomy, now)
    with session_scope(engine) as first, session_scope(engine) as second:
        claim(session=first, taxonomy=taxonomy, renderer=renderer, target=briefing, slot_at=now, now=now)
        first.commit()
        claim(session=second, taxonomy=taxonomy, renderer=renderer, target=briefing, slot_at=now, now=now)
    assert len(stored_entries(engine)) == 1


async def test_the_index_pages_through_the_archive_newest_first(engine, taxonomy, renderer, now, news, monkeypatch):
    monkeypatch.setattr("digests.archive_pages.INDEX_PAGE_SIZE", 2)
    briefing = setup(engine, taxonomy, now)
    run = deliverer(engine, taxonomy, renderer, now, RecordingPublisher())
    for day in range(5):
        with session_scope(engine) as session:
            add_stories(session=session, taxonomy=taxonomy, now=now + timedelta(days=day, hours=-1),
                        drafts=[StoryDraft(title=f"Tariffs day {day} news", source="W", url=f"https://w.example/{day}")])
        await run.deliver(reload(engine, briefing), slot_at=now + timedelta(days=day))
    pages = site(engine, taxonomy)
    first, last = pages.index(briefing.archive_token).body, pages.index(briefing.archive_token, 3).body
    assert b'href="2026-12-02-0800"' in first and b'href="2026-12-01-0800"' in first
    assert b'href="./?page=2"' in first and b"page 1 of 3" in first
    assert b'href="2026-11-28-0800"' in last and b"Older" not in last
    assert pages.index(briefing.archive_token, 4) is None


async def test_hostile_story_text_stays_text_and_only_web_links_are_links(engine, taxonomy, renderer, now):
    hostile = [
        StoryDraft(title='Tariffs <script>alert(1)</script> & "quotes"', source="<b>Evil</b>",
                   url='https://evil.example/a"><script>alert(2)</script>'),
        StoryDraft(title="Tariffs via javascript link", source="X", url="javascript:alert(3)"),
        StoryDraft(title="Tariffs via data link", source="X", url="data:text/html,<script>alert(4)</script>"),
    ]
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=now - timedelta(hours=1), drafts=hostile)
        # A feed could not store a javascript: URL, but an archive must not trust the store to refuse it.
        session.execute(sa.text("UPDATE story SET url = 'javascript:alert(3)' WHERE title LIKE '%javascript%'"))
    briefing = setup(engine, taxonomy, now)
    await deliverer(engine, taxonomy, renderer, now, RecordingPublisher()).deliver(briefing, slot_at=now)
    pages = site(engine, taxonomy)
    body = pages.entry(briefing.archive_token, "2026-11-28-0800").body.decode()
    assert "<script" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "javascript:" not in body and "data:text" not in body
    shown = parse(body.encode())
    assert set(shown.links.values()) == {"https://evil.example/a%22%3E%3Cscript%3Ealert%282%29%3C/script%3E"}
    token = briefing.archive_token
    for feed in (pages.atom(token, "http://h").body, pages.json_feed(token, "http://h").body):
        assert b"<script" not in feed and b"javascript:" not in feed


def test_upgrading_from_0012_keeps_every_briefing_with_its_archive_off(database_url, taxonomy):
    engine = create_engine(database_url)
    upgrade_database(engine, "0012")
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO channel_briefing (guild_id, channel_id, time_of_day, timezone, topics, days, quiet_day_notice,"
            " paused, created_at) VALUES (1, 2, '08:00', 'UTC', 'trade', 'daily', false, false,"
            " '2026-11-28 07:00:00')"))
    engine.dispose()
    engine = open_store(database_url, taxonomy)
    try:
        with session_scope(engine) as session:
            briefing = session.exec(select(ChannelBriefing)).one()
            assert (briefing.channel_id, briefing.topics, briefing.archive, briefing.archive_token) == (
                2, "trade", False, None)
            set_archive(briefing, "on")
        with engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text("INSERT INTO target (id, kind, time_of_day, timezone, topics, days, paused, "
                                 "created_at) VALUES (99, 'channel', '08:00', 'UTC', '', 'daily', false, "
                                 "'2026-11-28 07:00:00')"))
            conn.execute(sa.text("INSERT INTO channel_briefing (id, guild_id, channel_id, quiet_day_notice, archive, "
                                 "archive_token) VALUES (99, 1, 3, false, true, :token)"),
                         {"token": briefing.archive_token})
    finally:
        engine.dispose()
