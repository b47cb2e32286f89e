"""Digests cover their schedule's period: a week for a Monday briefing, a day for a daily one, one period after a
pause (and they say so). Real stores (SQLite and PostgreSQL), the real templates, an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from digests import selection
from digests.delivery import render_target
from digests.ingest.draft import StoryDraft
from digests.models import ChannelBriefing, PersonalDigest
from digests.selection import (
    DAILY,
    MULTI_DAY_MAX_ITEMS,
    MULTI_DAY_PER_TOPIC,
    Digest,
    StoryPools,
    coverage,
    select_digest,
)
from digests.store import add_stories, remember_member, session_scope
from digests.targets import (
    SlotReaders,
    coverage_of,
    next_coverage,
    period_of,
    personal_digest_of,
    readers_of,
    schedule_digest,
    set_paused,
    setup_briefing,
    subscribe,
    upsert_webhook_digest,
)

MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # a Monday slot at 08:00 UTC
WEBHOOK_URL = "https://discord.com/api/webhooks/123456789012345678/" + "t" * 68


def event(day: int) -> str:
    return f"Summit day{day} Aldor{day} Brevik{day} Corran{day} Dunmore{day} accord"


@pytest.fixture
def week(engine, taxonomy):
    """Seven days of news before MONDAY: each day one event three outlets carried, and ten bare economy headlines;
    and an event from nine days before, older than the week."""
    with session_scope(engine) as session:
        for day in range(7):
            arrived = MONDAY - timedelta(days=day, hours=3)
            add_stories(session=session, taxonomy=taxonomy, now=arrived, drafts=[
                *(StoryDraft(title=event(day), source=f"Outlet {n}", url=f"https://news{n}.example/d{day}",
                             body="Leaders met.", published_at=arrived - timedelta(minutes=20), topics=("diplomacy",))
                  for n in range(3)),
                *(StoryDraft(title=f"Inflation figure q{day}x{k} Fenwick{day}{k}", source="Markets Daily",
                             published_at=arrived - timedelta(minutes=30), topics=("economy",)) for k in range(10)),
            ])
        old = MONDAY - timedelta(days=9)
        add_stories(session=session, taxonomy=taxonomy, now=old, drafts=[
            StoryDraft(title=event(9), source=f"Outlet {n}", url=f"https://news{n}.example/d9", topics=("diplomacy",))
            for n in range(3)])


def briefing(engine, taxonomy, *, channel_id: int, days: str, since: datetime | None,
             timezone: str = "UTC") -> ChannelBriefing:
    with session_scope(engine) as session:
        target, _ = setup_briefing(session=session, taxonomy=taxonomy, guild_id=1, channel_id=channel_id,
                                   time_of_day="08:00", timezone=timezone, topics=None, days=days,
                                   mention_role_id=None, quiet_day_notice=None, now=MONDAY - timedelta(days=60))
        target.last_delivered_at = since
        session.add(target)
        session.flush()
        session.expunge(target)
        return target


def digest_of(engine, taxonomy, target, at=MONDAY) -> Digest:
    with session_scope(engine) as session:
        return select_digest(session=session, taxonomy=taxonomy, topics=target.topic_slugs, since=None, now=at,
                             covered=coverage_of(target, at), guild_ids=[target.guild_id])


def rendered(engine, taxonomy, renderer, target, at=MONDAY) -> str:
    with session_scope(engine) as session:
        session.add(target)
        return "\n".join(render_target(session=session, taxonomy=taxonomy, renderer=renderer, target=target, now=at))


def titles(digest: Digest) -> list[str]:
    shown = [digest.top, *digest.highlights, *(item for section in digest.sections for item in section.items)]
    return [item.title for item in shown if item is not None]


def test_a_weekly_briefing_holds_the_weeks_top_stories(engine, taxonomy, renderer, week):
    weekly = briefing(engine, taxonomy, channel_id=10, days="mon", since=MONDAY - timedelta(days=7))
    found = digest_of(engine, taxonomy, weekly)
    shown = titles(found)
    assert {event(day) for day in range(7)} <= set(shown)  # every day's big event, Tuesday's too
    assert event(9) not in shown  # older than the week
    assert found.size <= MULTI_DAY_MAX_ITEMS and len(found.highlights) == 4
    economy = [s for s in found.sections if s.topic and s.topic.slug == "economy"]
    assert economy and len(economy[0].items) <= MULTI_DAY_PER_TOPIC  # seventy headlines, capped
    assert found.more == 7 + 70 - found.size
    text = rendered(engine, taxonomy, renderer, weekly)
    assert text.startswith("## 📰 Weekly briefing · Monday 30 November 2026")
    assert "Top stories of the week" in text
    assert "Stories since Mon 23 Nov 08:00 (7 days)" in text
    assert "Back after a break" not in text


def test_a_daily_briefing_holds_the_last_days_stories(engine, taxonomy, renderer, week):
    daily = briefing(engine, taxonomy, channel_id=11, days="daily", since=MONDAY - timedelta(days=1))
    found = digest_of(engine, taxonomy, daily)
    shown = titles(found)
    assert event(0) in shown
    assert not {event(day) for day in range(1, 10)} & set(shown)
    assert found.highlights == () and found.size == 11  # the event and the day's ten headlines
    text = rendered(engine, taxonomy, renderer, daily)
    assert text.startswith("## 📰 Daily briefing · Monday 30 November 2026")
    assert "Top stories" not in text and "Stories since" not in text


def test_a_target_paused_for_40_days_gets_one_period_and_says_so(engine, taxonomy, renderer, week):
    paused_since = MONDAY - timedelta(days=40)
    back = briefing(engine, taxonomy, channel_id=12, days="daily", since=paused_since)
    daily = briefing(engine, taxonomy, channel_id=13, days="daily", since=MONDAY - timedelta(days=1))
    covered = coverage_of(back, MONDAY)
    assert covered.start == MONDAY - timedelta(days=1) and covered.cut_from == paused_since
    assert titles(digest_of(engine, taxonomy, back)) == titles(digest_of(engine, taxonomy, daily))
    text = rendered(engine, taxonomy, renderer, back)
    assert "⏸️ Back after a break: the last digest was Wed 21 Oct 2026. This one covers only the last 24 h" in text
    weekly_back = briefing(engine, taxonomy, channel_id=14, days="mon", since=paused_since)
    assert set(titles(digest_of(engine, taxonomy, weekly_back))) >= {event(day) for day in range(7)}
    assert "This one covers only the last 7 days, since Mon 23 Nov 08:00" in rendered(engine, taxonomy, renderer,
                                                                                     weekly_back)


def test_a_first_digest_holds_the_24_hours_before_its_slot_even_when_weekly(engine, taxonomy, week):
    weekly = briefing(engine, taxonomy, channel_id=15, days="mon", since=None)
    covered = coverage_of(weekly, MONDAY)
    assert covered.first and covered.span == timedelta(hours=24)
    assert [t for t in titles(digest_of(engine, taxonomy, weekly)) if t.startswith("Summit")] == [event(0)]


def test_first_digests_of_a_weekly_and_a_daily_target_share_their_pool_and_its_limit(engine, taxonomy, week,
                                                                                       monkeypatch):
    # The pool of a window was built with the row limit of whichever target asked first (a week's for a
    # weekly target), so what a daily target's first digest held depended on the order of the slot's targets.
    monkeypatch.setattr(selection, "POOL_MAX_STORIES", 5)
    held = []
    for periods in ((timedelta(days=7), DAILY), (DAILY, timedelta(days=7))):
        pools = StoryPools()
        with session_scope(engine) as session:
            for period in periods:
                covered = coverage(since=None, now=MONDAY, period=period)
                held.append(len(pools.get(session, covered=covered, guild_ids=None).ranked))
    assert held == [3, 3, 3, 3]  # the newest five stories: an event's three copies and two economy headlines


def test_a_post_now_moves_the_start_of_the_next_weekly_digest(engine, taxonomy, week):
    weekly = briefing(engine, taxonomy, channel_id=16, days="mon", since=MONDAY - timedelta(days=2, hours=12))
    shown = titles(digest_of(engine, taxonomy, weekly))
    assert {event(0), event(1), event(2)} <= set(shown)
    assert not {event(3), event(4), event(5), event(6)} & set(shown)


def test_show_tells_what_the_next_digest_covers(engine, taxonomy):
    weekly = briefing(engine, taxonomy, channel_id=17, days="mon", since=MONDAY - timedelta(days=40))
    covered = next_coverage(weekly, MONDAY - timedelta(hours=1))
    assert covered.end == MONDAY and covered.period == timedelta(days=7)
    assert covered.start == MONDAY - timedelta(days=7) and covered.cut_from == MONDAY - timedelta(days=40)


def test_a_weekly_digest_ranks_an_early_event_by_its_outlets_not_its_age(engine, taxonomy, week):
    weekly = briefing(engine, taxonomy, channel_id=18, days="mon", since=MONDAY - timedelta(days=7))
    found = digest_of(engine, taxonomy, weekly)
    best = [found.top.title, *(item.title for item in found.highlights)]
    assert best == [event(day) for day in range(5)]  # the events first, newest first; headlines after


def test_a_weekly_personal_digest_holds_the_weeks_top_stories_and_is_read_only_on_its_day(engine, taxonomy,
                                                                                          renderer, week):
    with session_scope(engine) as session:
        for user_id in (5, 6):
            subscribe(session=session, taxonomy=taxonomy, user_id=user_id, topic="diplomacy", default_timezone="UTC",
                      now=MONDAY - timedelta(days=30))
            schedule_digest(session=session, user_id=user_id, time_of_day="08:00", timezone="UTC",
                            now=MONDAY - timedelta(days=30), days="mon" if user_id == 5 else None)
            personal_digest_of(session=session, user_id=user_id).last_delivered_at = MONDAY - timedelta(days=7)
    with session_scope(engine) as session:
        weekly, daily = (session.exec(select(PersonalDigest).where(PersonalDigest.user_id == user_id)).one()
                         for user_id in (5, 6))
        assert period_of(weekly, MONDAY) == timedelta(days=7) and period_of(daily, MONDAY) == timedelta(days=1)
        body = "".join(render_target(session=session, taxonomy=taxonomy, renderer=renderer, target=weekly,
                                     now=MONDAY, pools=StoryPools(), readers=SlotReaders()))
        assert all(event(day) in body for day in range(7)) and event(9) not in body  # the week, not older
        # The slot's readers: both on Monday at 08:00, only the daily one on Tuesday.
        readers = SlotReaders()
        readers.get(session=session, taxonomy=taxonomy, user_id=5, slot_at=MONDAY)
        assert set(readers._slots[MONDAY].result()) == {5, 6}
        tuesday = MONDAY + timedelta(days=1)
        readers.get(session=session, taxonomy=taxonomy, user_id=6, slot_at=tuesday)
        assert set(readers._slots[tuesday].result()) == {6}


def test_the_slots_readers_are_read_once_and_match_a_read_of_each_user(engine, taxonomy):
    with session_scope(engine) as session:
        for user_id, topics in ((1, ["economy", "trade"]), (2, ["sports"]), (3, ["economy"])):
            for topic in topics:
                subscribe(session=session, taxonomy=taxonomy, user_id=user_id, topic=topic, default_timezone="UTC",
                          now=MONDAY - timedelta(days=3))
        remember_member(session=session, user_id=1, guild_id=77)
        schedule_digest(session=session, user_id=3, time_of_day="09:00", timezone="UTC", now=MONDAY)
        set_paused(personal_digest_of(session=session, user_id=2), paused=True)
    readers = SlotReaders()
    with session_scope(engine) as session:
        got = {user: readers.get(session=session, taxonomy=taxonomy, user_id=user, slot_at=MONDAY)
               for user in (1, 2, 3)}
        expected = {user: readers_of(session=session, taxonomy=taxonomy, user_id=user) for user in (1, 2, 3)}
        assert got == expected
        assert [t.slug for t in got[1].topics] == ["economy", "trade"] and got[1].guild_ids == [77]
        snapshot = readers._slots[MONDAY].result()
        assert set(snapshot) == {1}  # user 2 is paused and user 3 is due at 09:00: both read alone
        # A change after the slot began counts from the next slot.
        subscribe(session=session, taxonomy=taxonomy, user_id=1, topic="sports", default_timezone="UTC", now=MONDAY)
        assert readers.get(session=session, taxonomy=taxonomy, user_id=1, slot_at=MONDAY) == got[1]


def test_a_personal_digest_through_shared_pools_and_readers_is_the_one_read_alone(engine, taxonomy, renderer, week):
    with session_scope(engine) as session:
        subscribe(session=session, taxonomy=taxonomy, user_id=5, topic="diplomacy", default_timezone="UTC",
                  now=MONDAY - timedelta(days=3))
        personal_digest_of(session=session, user_id=5).last_delivered_at = MONDAY - timedelta(days=1)
    with session_scope(engine) as session:
        target = session.exec(select(PersonalDigest).where(PersonalDigest.user_id == 5)).one()
        alone = render_target(session=session, taxonomy=taxonomy, renderer=renderer, target=target, now=MONDAY)
        shared = render_target(session=session, taxonomy=taxonomy, renderer=renderer, target=target, now=MONDAY,
                               pools=StoryPools(), readers=SlotReaders())
    assert alone == shared and event(0) in alone[0] and event(1) not in alone[0]


def test_a_webhook_digest_covers_the_time_since_its_last_post_at_most_a_week(engine, taxonomy, renderer, week):
    with session_scope(engine) as session:
        hook = upsert_webhook_digest(session=session, taxonomy=taxonomy, url=WEBHOOK_URL, topics=None, timezone="UTC",
                                     now=MONDAY - timedelta(days=60))
        session.expunge(hook)
    assert coverage_of(hook, MONDAY).first and period_of(hook, MONDAY) == timedelta(days=1)
    hook.last_delivered_at = MONDAY - timedelta(days=7)  # a weekly cron job
    text = rendered(engine, taxonomy, renderer, hook)
    assert text.startswith("## 📰 Weekly briefing") and event(6) in text
    hook.last_delivered_at = MONDAY - timedelta(days=1)
    assert rendered(engine, taxonomy, renderer, hook).startswith("## 📰 Daily briefing")
    hook.last_delivered_at = MONDAY - timedelta(days=40)
    covered = coverage_of(hook, MONDAY)
    assert covered.span == timedelta(days=7) and covered.cut_from == MONDAY - timedelta(days=40)
