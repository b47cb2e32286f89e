"""A rich briefing end to end: a feed's picture ingested by `briefbot ingest`, the real bot process posting
the top story as an embed (with the picture) and the rest as text, on every route, and killed -9 mid-way.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from digests.models import ChannelBriefing, Delivery, Story
from digests.store import open_store, session_scope
from digests.targets import setup_briefing
from digests.topics import load_taxonomy
from tests.e2e.conftest import start_bot, stop_bot
from tests.e2e.discord_shapes import check_exchanges
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.seeding import target_states

PICTURE = "https://img.example/storm-coast.jpg"
TOP_TITLE = "Storm Ciarán nears the Atlantic coast"


def feed(now: datetime) -> str:
    """An RSS feed whose freshest story has a body and a picture (the top story), then many headlines."""
    stamp = now.strftime("%a, %d %b %Y %H:%M:%S +0000")
    headlines = "".join(
        f"<item><title>Harbour report {n}: " + " ".join(f"w{n}x{k}" for k in range(30)) + "</title>"
        f"<link>https://coast.example/h{n}</link><pubDate>{stamp}</pubDate>"
        f'<media:thumbnail url="javascript:alert({n})"/></item>' for n in range(16))
    return (f'<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" '
            f'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Coast Wire</title>'
            f"<link>https://coast.example/</link><item><title>{TOP_TITLE}</title>"
            f"<link>https://coast.example/storm</link><description>Winds of 150 km/h are expected tonight."
            f"</description><content:encoded>&lt;p&gt;Long body about the storm.&lt;/p&gt;</content:encoded>"
            f'<pubDate>{stamp}</pubDate><media:content url="{PICTURE}" medium="image"/></item>'
            f"{headlines}</channel></rss>")


@pytest.fixture
def fake():
    with FakeDiscord() as fake:
        yield fake


def seed_rich_briefing(tmp_path, database_url: str, guild_id: int, channel_id: int, **settings) -> None:
    """The feed ingested by the real CLI (an hour ago), and a rich briefing of the channel due three minutes ago."""
    now = datetime.now(UTC)
    (tmp_path / "coast.xml").write_text(feed(now - timedelta(minutes=90)), encoding="utf-8")
    ingested = subprocess.run([sys.executable, "-m", "bot", "ingest", "coast.xml"], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120, check=False, env={"DATABASE_URL": database_url, "PATH": ""})
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    slot = (now - timedelta(minutes=3)).replace(second=0, microsecond=0)
    engine = open_store(database_url, load_taxonomy())
    with session_scope(engine) as session:
        for story in session.exec(select(Story)):  # ingested an hour ago, as if the feed had been polled then
            story.ingested_at -= timedelta(hours=1)
            story.public_at -= timedelta(hours=1)
        briefing, _ = setup_briefing(session=session, taxonomy=load_taxonomy(), guild_id=guild_id,
                                     channel_id=channel_id, time_of_day=slot.strftime("%H:%M"), timezone="UTC",
                                     topics=None, days=None, mention_role_id=None, quiet_day_notice=None,
                                     now=now - timedelta(days=1), style="rich")
        for name, value in settings.items():
            setattr(briefing, name, value)
    engine.dispose()


def delivered(database_url: str) -> bool:
    return target_states(database_url)["channel"][0][3] is not None


def stored_parts(database_url: str) -> list:
    engine = open_store(database_url, load_taxonomy())
    with session_scope(engine) as session:
        parts = json.loads(session.exec(select(Delivery.parts)).one())
        assert session.exec(select(ChannelBriefing)).one().style == "rich"
    engine.dispose()
    return parts


def assert_rich(messages: list[dict]) -> None:
    """The top story as the first message's embed, with its picture; the rest as text; nothing pings."""
    first, rest = messages[0], messages[1:]
    assert "Daily briefing" in first["content"] and TOP_TITLE not in first["content"]
    [embed] = first["embeds"]
    assert embed["title"] == TOP_TITLE and embed["url"] == "https://coast.example/storm"
    assert embed["description"] == "Winds of 150 km/h are expected tonight."
    assert embed["image"] == {"url": PICTURE} and embed["author"] == {"name": "Coast Wire"}
    assert embed["footer"]["text"].startswith("⭐ Top story") and embed["timestamp"]
    assert rest and all(not m.get("embeds") for m in rest)
    assert "Harbour report" in "\n".join(m["content"] for m in rest)
    assert TOP_TITLE not in "\n".join(m["content"] for m in rest) and "javascript" not in json.dumps(messages)
    assert all(m["allowed_mentions"] == {"parse": []} for m in messages)


@pytest.mark.parametrize("route", ["bot", "webhook", "forum"])
def test_a_rich_briefing_posts_its_top_story_as_an_embed_with_its_picture(fake, tmp_path, database_url, route):
    guild = fake.add_guild(name="Desk", channels=["news", {"name": "forum", "type": 15}])
    channel = guild.channel("forum" if route == "forum" else "news")
    settings = {"webhook": {"webhook_url": fake.add_webhook(channel)}, "forum": {"channel_kind": "forum"}}
    seed_rich_briefing(tmp_path, database_url, guild.id, channel, **settings.get(route, {}))

    bot = start_bot(fake, tmp_path, database_url)
    fake.wait_for(lambda: delivered(database_url), timeout=60, what="the rich briefing")
    stop_bot(fake, bot)

    where = int(fake.threads(channel)[0]["id"]) if route == "forum" else channel
    messages = fake.channel_messages(where)
    assert_rich(messages)
    if route == "webhook":
        assert all(m.get("webhook_id") for m in messages)
    assert check_exchanges(fake.requests) == len(messages)  # one request a message (a forum post's starts the post)
    assert all(r.status < 400 for r in fake.requests)  # never an embed Discord would refuse
    assert stored_parts(database_url)[0]["embed"]["image_url"] == PICTURE


def test_a_rich_briefing_killed_while_its_embed_is_in_flight_posts_it_once(fake, tmp_path, database_url):
    guild = fake.add_guild(name="Desk", channels=["news"])
    channel = guild.channel("news")
    seed_rich_briefing(tmp_path, database_url, guild.id, channel)
    path = rf"^/channels/{channel}/messages$"

    fake.set_request_delay(3.0, method="POST", path_regex=path)
    bot = start_bot(fake, tmp_path, database_url)
    fake.wait_for(lambda: fake.requests_matching("POST", path), timeout=60, what="the first part")
    stop_bot(fake, bot, signal.SIGKILL)
    fake.wait_for(lambda: all(r.status for r in fake.requests_matching("POST", path)), timeout=10,
                  what="the fake to finish the part the bot died waiting for")
    fake.set_request_delay(0)
    assert len(fake.channel_messages(channel)) == 1  # Discord has the embed; the bot never heard back

    bot = start_bot(fake, tmp_path, database_url)
    fake.wait_for(lambda: delivered(database_url), timeout=60, what="the resumed briefing")
    stop_bot(fake, bot)

    messages = fake.channel_messages(channel)
    assert_rich(messages)
    assert len(messages) == len(stored_parts(database_url))  # each part once, the embed's too
    first_part = [r for r in fake.requests_matching("POST", path) if r.json.get("embeds")]
    assert len(first_part) == 2 and first_part[0].json == first_part[1].json  # resent as it was, kept once
    assert check_exchanges(fake.requests) == len(fake.requests_matching("POST", path))
