"""Scheduled, exactly-once delivery, end to end: the real bot process, killed and restarted, against the fake.

Targets are seeded in the database with a slot a few minutes ago, so the bot delivers them as a
missed slot within the grace window when it starts; one test waits for a real cron slot instead.
"""

from __future__ import annotations

import math
import signal
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from digests.ingest.draft import StoryDraft
from digests.models import PersonalDigest
from digests.store import add_stories, open_store, session_scope
from digests.targets import remember_dm_channel
from digests.topics import load_taxonomy
from tests.e2e.conftest import MANAGE_GUILD, start_bot, stop_bot
from tests.e2e.fake_discord import FakeDiscord, FakeGuild
from tests.e2e.seeding import seed, target_states


def minute_floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord() as fake:
        yield fake


def guild_with_channels(fake: FakeDiscord, count: int) -> FakeGuild:
    return fake.add_guild(name="Desk", channels=[f"news-{n}" for n in range(count)])


def delivered_parts(fake: FakeDiscord, users: list[int], channels: list[int]) -> dict[int, list[dict]]:
    messages = {user: fake.dm_messages(user) for user in users}
    messages.update({channel: fake.channel_messages(channel) for channel in channels})
    return messages


def test_a_due_briefing_is_posted_once_and_not_again_after_a_restart(fake, tmp_path, database_url):
    guild = guild_with_channels(fake, 1)
    channel = guild.channel("news-0")
    now = datetime.now(UTC)
    seed(database_url, now=now, slot=minute_floor(now - timedelta(minutes=3)), channels=[(guild.id, channel)])

    bot = start_bot(fake, tmp_path, database_url)
    messages = fake.wait_for_messages(channel, count=1, timeout=60)
    fake.wait_for(lambda: "delivered" in bot.output(), timeout=30, what="the delivery log line")
    stop_bot(fake, bot)
    assert "Daily briefing" in messages[0]["content"]
    first_round = fake.channel_messages(channel)

    again = start_bot(fake, tmp_path, database_url)
    fake.wait_for(lambda: "scheduled 1 target" in again.output(), timeout=60, what="the restart")
    fake.wait_until_ready(timeout=60)
    stop_bot(fake, again)
    assert fake.channel_messages(channel) == first_round
    assert "catching up" not in again.output()


def test_a_slot_missed_beyond_the_grace_window_is_skipped_and_logged(fake, tmp_path, database_url):
    guild = guild_with_channels(fake, 1)
    now = datetime.now(UTC)
    seed(database_url, now=now, slot=minute_floor(now - timedelta(minutes=10)),
         channels=[(guild.id, guild.channel("news-0"))])
    bot = start_bot(fake, tmp_path, database_url, CATCHUP_GRACE_MINUTES="5")
    fake.wait_for(lambda: "skipped 1 slot(s) missed by more than" in bot.output(), timeout=60,
                  what="the skip log line")
    fake.wait_until_ready(timeout=60)
    stop_bot(fake, bot)
    assert fake.channel_messages(guild.channel("news-0")) == []


def test_a_real_cron_slot_fires_at_its_minute(fake, tmp_path, database_url):
    guild = guild_with_channels(fake, 1)
    channel = guild.channel("news-0")
    now = datetime.now(UTC)
    seed(database_url, now=now, slot=now - timedelta(hours=3), channels=[])  # stories only
    bot = start_bot(fake, tmp_path, database_url)
    fake.wait_until_ready(timeout=60)
    fake.wait_for_commands(timeout=60)
    slot = minute_floor(datetime.now(UTC)) + timedelta(minutes=1)
    if (slot - datetime.now(UTC)).total_seconds() < 5:
        slot += timedelta(minutes=1)
    result = fake.invoke("briefing setup", {"channel": channel, "time": slot.strftime("%H:%M"), "timezone": "UTC"},
                         guild_id=guild.id, permissions=MANAGE_GUILD)
    assert "set up" in result.content
    messages = fake.wait_for_messages(channel, count=1, timeout=150)
    stop_bot(fake, bot)
    assert "Daily briefing" in messages[0]["content"]
    first = next(r for r in fake.requests_matching("POST", rf"^/channels/{channel}/messages$"))
    assert first.wall_time >= slot.timestamp()


def test_kill_9_mid_fan_out_then_restart_delivers_every_digest_exactly_once(fake, tmp_path, database_url):
    """200 personal digests and 4 channel briefings; the bot is killed -9 twice while sending."""
    guild = guild_with_channels(fake, 4)
    channels = [guild.channel(f"news-{n}") for n in range(4)]
    users = [fake.add_user(username=f"reader{n}") for n in range(200)]
    now = datetime.now(UTC)
    seed(database_url, now=now, slot=minute_floor(now - timedelta(minutes=2)),
         channels=[(guild.id, c) for c in channels], users=users)
    fake.set_request_delay(0.02, method="POST", path_regex=r"/messages$")

    def sent() -> int:
        return sum(1 for r in fake.requests_matching("POST", r"/messages$") if r.status == 200)

    kills = 0
    for stop_at in (60, 160):
        bot = start_bot(fake, tmp_path, database_url)
        fake.wait_for(lambda stop_at=stop_at: sent() >= stop_at, timeout=120, what=f"{stop_at} messages")
        stop_bot(fake, bot, signal.SIGKILL)
        kills += 1
    fake.set_request_delay(0)
    bot = start_bot(fake, tmp_path, database_url)
    expected = {**{user: 1 for user in users}, **{channel: None for channel in channels}}
    fake.wait_for(lambda: all(delivered_parts(fake, [u], []) [u] for u in users)
                  and all(len(fake.channel_messages(c)) >= 2 for c in channels), timeout=180, what="every digest")
    fake.wait_for(lambda: all(s[3] is not None for kind in target_states(database_url).values() for s in kind),
                  timeout=60, what="every watermark")
    stop_bot(fake, bot)

    parts = delivered_parts(fake, users, channels)
    duplicates = sum(count - 1 for messages in parts.values()
                     for count in Counter(m["content"] for m in messages).values())
    lost = sum(1 for target, messages in parts.items() if not messages)
    print(f"\nkill-and-restart: targets={len(parts)} kills={kills} digests_delivered={len(parts) - lost} "
          f"duplicates={duplicates} lost={lost}")
    assert kills == 2
    assert duplicates == 0 and lost == 0
    assert all(len(parts[user]) == expected[user] for user in users)
    briefing_parts = {len(parts[channel]) for channel in channels}
    assert briefing_parts == {2}  # the sample briefing renders as two messages
    nonces = Counter((m["channel_id"], m["nonce"]) for messages in parts.values() for m in messages)
    assert max(nonces.values()) == 1


def test_429_storms_and_500s_are_retried_until_everything_is_delivered(fake, tmp_path, database_url):
    guild = guild_with_channels(fake, 2)
    channels = [guild.channel("news-0"), guild.channel("news-1")]
    users = [fake.add_user(username=f"u{n}") for n in range(20)]
    now = datetime.now(UTC)
    seed(database_url, now=now, slot=minute_floor(now - timedelta(minutes=2)),
         channels=[(guild.id, c) for c in channels], users=users)
    storm = fake.inject("POST", r"/messages$", 429, times=25, retry_after=0.3)
    errors = fake.inject("POST", r"/messages$", 500, times=6)
    bot = start_bot(fake, tmp_path, database_url)
    fake.wait_for(lambda: all(fake.dm_messages(u) for u in users)
                  and all(len(fake.channel_messages(c)) == 2 for c in channels), timeout=120, what="every digest")
    stop_bot(fake, bot)
    assert storm.hits == 25 and errors.hits == 6
    assert all(len(fake.dm_messages(u)) == 1 for u in users)


def test_closed_dms_pause_that_user_only(fake, tmp_path, database_url):
    users = [fake.add_user(username=f"u{n}") for n in range(5)]
    closed = users[2]
    fake.set_dms_closed(closed)
    now = datetime.now(UTC)
    seed(database_url, now=now, slot=minute_floor(now - timedelta(minutes=2)), users=users)
    bot = start_bot(fake, tmp_path, database_url)
    open_users = [u for u in users if u != closed]
    fake.wait_for(lambda: all(fake.dm_messages(u) for u in open_users), timeout=60, what="the open DMs")
    fake.wait_for(lambda: any(s[1] for s in target_states(database_url)["user"]), timeout=30, what="the pause")
    status = fake.invoke("subscriptions", user_id=closed)
    stop_bot(fake, bot)
    states = {user_id: (paused, reason) for user_id, paused, reason, _ in target_states(database_url)["user"]}
    assert states[closed] == (True, "cannot send DMs to this user (their DMs are closed)")
    assert all(not states[u][0] for u in open_users)
    assert "Paused — cannot send DMs to this user" in status.content


def test_a_users_dm_channel_is_opened_once_across_restarts_and_reopened_when_discord_forgot_it(
        fake, tmp_path, database_url):
    users = [fake.add_user(username=f"u{n}") for n in range(6)]
    now = datetime.now(UTC)
    first_slot = minute_floor(now - timedelta(minutes=3))
    seed(database_url, now=now, slot=first_slot, users=users)
    stale = users[0]
    with _store(database_url) as engine, session_scope(engine) as session:
        remember_dm_channel(session=session, user_id=stale, channel_id=123456789)  # a channel Discord never had

    def opened() -> Counter:
        return Counter(int(r.json["recipient_id"]) for r in fake.requests_matching("POST", r"/users/@me/channels$"))

    bot = start_bot(fake, tmp_path, database_url)
    fake.wait_for(lambda: all(fake.dm_messages(u) for u in users), timeout=60, what="the first digests")
    fake.wait_for(lambda: all(s[3] is not None for s in target_states(database_url)["user"]), timeout=30,
                  what="the watermarks")
    stop_bot(fake, bot)
    assert opened() == Counter({u: 1 for u in users})

    # A later slot, with a new story on the users' topic; a new process delivers it.
    later = datetime.now(UTC)
    with _store(database_url) as engine, session_scope(engine) as session:
        add_stories(session=session, taxonomy=load_taxonomy(), now=first_slot + timedelta(seconds=30),
                    drafts=[StoryDraft(title="Immigration court backlog reaches a record", source="Wire")])
        for digest in session.exec(select(PersonalDigest)):
            digest.time_of_day = minute_floor(later - timedelta(minutes=1)).strftime("%H:%M")
    again = start_bot(fake, tmp_path, database_url)
    fake.wait_for(lambda: all(len(fake.dm_messages(u)) == 2 for u in users), timeout=60, what="the second digests")
    stop_bot(fake, again)
    assert opened() == Counter({u: 1 for u in users})  # none opened again
    assert "Immigration court backlog" in fake.dm_messages(users[1])[1]["content"]
    with _store(database_url) as engine, session_scope(engine) as session:
        stored = {d.user_id: d.dm_channel_id for d in session.exec(select(PersonalDigest))}
    assert stored == {u: fake.dm_channel_id(u) for u in users}


@contextmanager
def _store(database_url: str) -> Iterator[sa.Engine]:
    engine = open_store(database_url, load_taxonomy())
    try:
        yield engine
    finally:
        engine.dispose()


def test_a_1000_target_fan_out_stays_under_the_global_rate_limit(fake, tmp_path, database_url):
    """The fake enforces 50 requests in any second with real 429s; at most 1 % may be answered 429.

    The fake runs in this test process and stamps arrivals on its own, busy, event loop: on this
    2-core machine its clock can bunch requests the bot sent evenly by a request or four, and it
    answers those beyond 50 with 429s. So the requirement is Discord's outcome, issue 6's P4 bound
    of 1 % 429s (a pacer sending 55/s would get about 9 %); the peak it saw is printed. Quiet runs:
    peak 50, no 429; a busy machine: peak 54, 8 429s in 2,009 requests.
    """
    users = [fake.add_user(username=f"r{n}") for n in range(1000)]
    now = datetime.now(UTC)
    seed(database_url, now=now, slot=minute_floor(now - timedelta(minutes=2)), users=users)
    fake.set_global_rate_limit(50)
    bot = start_bot(fake, tmp_path, database_url)
    # A cheap predicate: wait_for holds the fake's lock while it runs, which would delay requests.
    fake.wait_for(lambda: sum(1 for r in fake.requests if r.status == 200 and r.path.endswith("/messages")) >= 1000,
                  timeout=240, what="1,000 digests")
    stop_bot(fake, bot)
    times = sorted(r.time for r in fake.requests if not r.path.startswith(("/interactions", "/webhooks"))
                   and r.path not in ("/users/@me", "/gateway/bot") and "/commands" not in r.path)
    peak = max(sum(1 for t in times[i:i + 60] if t - start < 1.0) for i, start in enumerate(times))
    limited = sum(1 for r in fake.requests if r.status == 429)
    duration = times[-1] - times[0]
    print(f"\nfan-out: targets=1000 requests={len(times)} peak_per_1s_window={peak} 429s={limited} "
          f"seconds={duration:.1f} ideal={len(times) / 50:.1f}")
    assert limited <= math.ceil(0.01 * len(times))
    assert all(len(fake.dm_messages(u)) == 1 for u in users)


def peak_per_second(times: list[float]) -> int:
    """The most requests any 1-second window holds (windows start at a request)."""
    times = sorted(times)
    peak, first = 0, 0
    for last, arrival in enumerate(times):
        while arrival - times[first] >= 1.0:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


def test_a_global_429_and_5xx_mid_fan_out_keep_every_second_under_the_configured_rate(fake, tmp_path):
    """discord.py retries 429s and 5xx below the pacer; every attempt must still wait for the window.

    The fake enforces the same limit the bot is configured with, so any second over it is answered
    with real 429s. Pacing does not depend on the store: SQLite only. Before the fix (pacing
    around `HTTPClient.request`), the requests discord.py held during the global 429 left at once.
    """
    rate = 20
    users = [fake.add_user(username=f"g{n}") for n in range(60)]
    database_url = f"sqlite:///{tmp_path / 'pacing.db'}"
    now = datetime.now(UTC)
    seed(database_url, now=now, slot=minute_floor(now - timedelta(minutes=2)), users=users)
    fake.set_global_rate_limit(rate)
    bot = start_bot(fake, tmp_path, database_url, DISCORD_REQUESTS_PER_SECOND=str(rate))

    def delivered() -> int:
        return sum(1 for r in fake.requests if r.status == 200 and r.path.endswith("/messages"))

    fake.wait_for(lambda: delivered() >= 15, timeout=120, what="the fan-out to start")
    global_429 = fake.inject("POST", r"/messages$", 429, times=1, retry_after=1.0, is_global=True)
    errors = [fake.inject("POST", r"/messages$", 500, times=3),
              fake.inject("POST", r"^/users/@me/channels$", 502, times=2)]
    fake.wait_for(lambda: delivered() >= len(users), timeout=180, what="every digest")
    stop_bot(fake, bot)

    paced = [r for r in fake.requests if not r.path.startswith(("/interactions/", "/webhooks/"))]
    peak = peak_per_second([r.time for r in paced])
    limited = sum(1 for r in paced if r.status == 429) - global_429.hits
    print(f"\nglobal 429 mid fan-out: rate={rate} requests={len(paced)} peak_per_1s_window={peak} "
          f"429s_not_injected={limited}")
    assert global_429.hits == 1 and all(error.exhausted for error in errors)
    assert peak <= rate
    assert limited <= math.ceil(0.01 * len(paced))
    assert all(len(fake.dm_messages(u)) == 1 for u in users)
