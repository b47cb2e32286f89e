"""Forum posts, discussion threads and crossposts, end to end: the real bot process, killed -9 mid-delivery.

Each delivery test seeds a briefing due a few minutes ago (delivered on start as a missed slot) and
makes the bot die at the worst moment: after Discord made the post or thread, before the bot heard
back. The fake answers a delayed request after the bot is gone (as Discord would finish a request
whose client vanished), so the restarted bot must find what it made instead of making it again.
"""

from __future__ import annotations

import signal
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from digests.models import ChannelBriefing, Delivery
from digests.store import open_store, session_scope
from digests.topics import load_taxonomy
from tests.e2e.conftest import start_bot, stop_bot
from tests.e2e.discord_shapes import check_exchanges
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.seeding import seed, target_states

SAMPLE_PARTS = 2  # the sample briefing renders as two messages


@pytest.fixture
def fake():
    with FakeDiscord() as fake:
        yield fake


def minute_floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def seed_briefing(database_url: str, guild_id: int, channel_id: int, **placement: object) -> datetime:
    """Stories and a briefing of `channel_id` due three minutes ago, placed as `placement` says; returns the slot."""
    now = datetime.now(UTC)
    slot = minute_floor(now - timedelta(minutes=3))
    seed(database_url, now=now, slot=slot, channels=[(guild_id, channel_id)])
    engine = open_store(database_url, load_taxonomy())
    with session_scope(engine) as session:
        briefing = session.exec(select(ChannelBriefing).where(ChannelBriefing.channel_id == channel_id)).one()
        for name, value in placement.items():
            setattr(briefing, name, value)
    engine.dispose()
    return slot


def deliveries(database_url: str) -> list[Delivery]:
    engine = open_store(database_url, load_taxonomy())
    with session_scope(engine) as session:
        rows = list(session.exec(select(Delivery)))
        session.expunge_all()
    engine.dispose()
    return rows


def kill_during(fake: FakeDiscord, tmp_path, database_url: str, method: str, path_regex: str) -> str:
    """Start the bot, let `path_regex` reach the fake (which answers it 3 s later), kill -9 the bot meanwhile.

    Returns what the bot printed.
    """
    fake.set_request_delay(3.0, method=method, path_regex=path_regex)
    bot = start_bot(fake, tmp_path, database_url)
    fake.wait_for(lambda: fake.requests_matching(method, path_regex), timeout=60, what=f"{method} {path_regex}")
    stop_bot(fake, bot, signal.SIGKILL)
    fake.wait_for(lambda: all(r.status for r in fake.requests_matching(method, path_regex)), timeout=10,
                  what="the fake to finish the request the bot died waiting for")
    fake.set_request_delay(0)
    return bot.output()


def assert_each_part_once(messages: list[dict]) -> None:
    assert len(messages) == SAMPLE_PARTS
    assert len({m["content"] for m in messages}) == SAMPLE_PARTS
    assert "Daily briefing" in messages[0]["content"]
    assert all(m["allowed_mentions"] == {"parse": []} for m in messages)


@pytest.mark.parametrize("archived", [False, True], ids=["active", "archived"])
def test_a_forum_post_made_before_a_crash_is_found_and_finished_once(fake, tmp_path, database_url, archived):
    """Found among the guild's active threads, or the forum's archived ones (a moderator archived it meanwhile)."""
    guild = fake.add_guild(name="Desk", channels=[{"name": "news", "type": 15, "tags": ["Daily", "Breaking"],
                                                    "require_tag": True}])
    forum = guild.channel("news")
    tag = fake.tag_id(forum, "Daily")
    seed_briefing(database_url, guild.id, forum, channel_kind="forum", forum_tag_id=tag)

    kill_during(fake, tmp_path, database_url, "POST", rf"^/channels/{forum}/threads$")
    assert len(fake.threads(forum)) == 1  # Discord made the post; the bot never heard of it
    post_id = int(fake.threads(forum)[0]["id"])
    if archived:
        fake.archive_thread(post_id)
    # Killed again while the post's second part is in flight: the post is known now, the part is not.
    output = kill_during(fake, tmp_path, database_url, "POST", rf"^/channels/{post_id}/messages$")

    bot = start_bot(fake, tmp_path, database_url)
    fake.wait_for(lambda: target_states(database_url)["channel"][0][3] is not None, timeout=60, what="the watermark")
    stop_bot(fake, bot)

    # The post, the look-up(s), the second part (sent twice): the bot's requests and the fake's answers, as
    # Discord documents them.
    assert check_exchanges(fake.requests) == (3 if archived else 2) + 2
    second_part = fake.requests_matching("POST", rf"^/channels/{post_id}/messages$")
    assert len(second_part) == 2 and len({r.json["nonce"] for r in second_part}) == 1  # sent again, kept once
    posts = fake.threads(forum)
    assert len(posts) == 1 and len(fake.requests_matching("POST", rf"^/channels/{forum}/threads$")) == 1
    post = posts[0]
    assert post["applied_tags"] == [str(tag)]
    assert post["name"].startswith("📰 Briefing · ") and str(datetime.now(UTC).year) in post["name"]
    assert post["thread_metadata"]["auto_archive_duration"] == 1440
    messages = fake.channel_messages(post_id)
    assert_each_part_once(messages)
    assert messages[0]["id"] == post_id  # the starter message is the post's
    assert fake.channel_messages(forum) == []
    assert f"resumes in post {post_id}" in output
    [delivery] = deliveries(database_url)
    assert delivery.status == "done" and delivery.thread_id == post_id and delivery.thread_requested_at is not None


def test_a_text_channel_briefing_opens_one_discussion_thread_across_a_crash(fake, tmp_path, database_url):
    guild = fake.add_guild(name="Desk", channels=["news"])
    channel = guild.channel("news")
    seed_briefing(database_url, guild.id, channel, open_thread=True)

    kill_during(fake, tmp_path, database_url, "POST", rf"^/channels/{channel}/messages/\d+/threads$")
    assert len(fake.threads(channel)) == 1 and len(fake.channel_messages(channel)) == 1

    bot = start_bot(fake, tmp_path, database_url)
    fake.wait_for(lambda: len(fake.channel_messages(channel)) >= SAMPLE_PARTS, timeout=60, what="every part")
    fake.wait_for(lambda: target_states(database_url)["channel"][0][3] is not None, timeout=30, what="the watermark")
    stop_bot(fake, bot)

    assert check_exchanges(fake.requests) == 2 + SAMPLE_PARTS  # the thread opened twice, each part's message
    messages = fake.channel_messages(channel)
    assert_each_part_once(messages)
    [thread] = fake.threads(channel)
    assert int(thread["id"]) == messages[0]["id"] and messages[0]["thread_id"] == messages[0]["id"]
    assert thread["name"].startswith("📰 Briefing · ") and thread["type"] == 11
    opened = fake.requests_matching("POST", rf"^/channels/{channel}/messages/\d+/threads$")
    assert [r.status for r in opened] == [201, 400]  # the second try found the thread the first one made
    assert all(r.json["auto_archive_duration"] == 1440 for r in opened)
    [delivery] = deliveries(database_url)
    assert delivery.status == "done" and delivery.thread_id == messages[0]["id"]


def test_an_announcement_briefing_crossposts_each_part_once_across_a_crash(fake, tmp_path, database_url):
    guild = fake.add_guild(name="Desk", channels=[{"name": "news", "type": 5}])
    channel = guild.channel("news")
    seed_briefing(database_url, guild.id, channel, channel_kind="announcement", publish=True)

    kill_during(fake, tmp_path, database_url, "POST", rf"^/channels/{channel}/messages/\d+/crosspost$")
    bot = start_bot(fake, tmp_path, database_url)
    fake.wait_for(lambda: target_states(database_url)["channel"][0][3] is not None, timeout=60, what="the watermark")
    stop_bot(fake, bot)

    # Each part's message and crosspost; one crosspost was repeated after the crash.
    assert check_exchanges(fake.requests) == SAMPLE_PARTS + SAMPLE_PARTS + 1
    messages = fake.channel_messages(channel)
    assert_each_part_once(messages)
    assert all(m.get("crossposted") for m in messages)
    accepted = Counter(r.path for r in fake.requests_matching("POST", r"/crosspost$") if r.status == 200)
    assert sorted(accepted.values()) == [1] * SAMPLE_PARTS  # each part crossposted once (a repeat is a 400)


def test_crossposts_over_the_hourly_limit_are_postponed_without_holding_the_parts(fake, tmp_path, database_url):
    guild = fake.add_guild(name="Desk", channels=[{"name": "news", "type": 5}])
    channel = guild.channel("news")
    seed_briefing(database_url, guild.id, channel, channel_kind="announcement", publish=True)
    fake.crossposts_per_hour = 1
    bot = start_bot(fake, tmp_path, database_url)
    fake.wait_for(lambda: "postponed: crossposting in this channel waits" in bot.output(), timeout=60,
                  what="the postponement")
    stop_bot(fake, bot)

    assert check_exchanges(fake.requests) == SAMPLE_PARTS + 2  # each part's message, a crosspost and a 429
    messages = fake.channel_messages(channel)
    assert_each_part_once(messages)
    assert [bool(m.get("crossposted")) for m in messages] == [True, False]
    limited = [r for r in fake.requests_matching("POST", r"/crosspost$") if r.status == 429]
    assert len(limited) == 1  # discord.py did not sit out the hour, nor try again at once
    [delivery] = deliveries(database_url)
    assert delivery.status == "sending"  # retried later; the watermark waits for it
