"""Guild feeds end to end: added through Discord, fetched from a local server, seen only in their guild."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import MANAGE_GUILD, start_bot, stop_bot
from tests.e2e.fake_discord import FakeDiscord
from tests.local_http import QuietHandler, serving

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Gazette</title>
<item><title>Dockworkers strike shuts Valparaiso harbour</title><link>https://gazette.example/strike</link>
<description>Talks on port tariffs broke down.</description></item></channel></rss>"""


class FeedHandler(QuietHandler):
    def do_GET(self) -> None:
        self.send_body(200, FEED, {"Content-Type": "application/rss+xml"})


@pytest.fixture
def feed_url() -> Iterator[str]:
    with serving(FeedHandler) as url:
        yield f"{url}/gazette.xml"


def test_a_guild_feed_is_fetched_and_its_stories_stay_in_that_guild(tmp_path, feed_url, database_url):
    with FakeDiscord() as fake:
        guild_a = fake.add_guild(name="Port City", channels=["news"])
        guild_b = fake.add_guild(name="Elsewhere", channels=["news"])
        bot = start_bot(fake, tmp_path, database_url, ALLOW_PRIVATE_FEEDS="true")
        fake.wait_until_ready(timeout=60)
        fake.wait_for_commands(timeout=60)

        def manage(guild, command, options=None):
            return fake.invoke(command, options or {}, guild_id=guild.id, permissions=MANAGE_GUILD)

        added = manage(guild_a, "feeds add", {"url": feed_url, "topic": "trade"})
        assert added.ephemeral and "Added feed #1" in added.content
        assert "First fetch: 1 new story, 0 already known." in added.content
        assert "already registered" in manage(guild_a, "feeds add", {"url": feed_url}).content

        in_a = manage(guild_a, "stories", {"topic": "Valparaiso"})
        in_b = manage(guild_b, "stories", {"topic": "Valparaiso"})
        assert "Dockworkers strike shuts Valparaiso harbour" in in_a.content
        assert in_b.content.startswith("No stories")
        assert "`trade` — 1" in manage(guild_a, "topics").content
        assert "`trade` — 0" in manage(guild_b, "topics").content

        for guild in (guild_a, guild_b):
            manage(guild, "briefing setup", {"channel": guild.channel("news"), "time": "08:00"})
            manage(guild, "briefing post-now", {"channel": guild.channel("news")})
        posted_a = "\n".join(m["content"] for m in fake.channel_messages(guild_a.channel("news")))
        posted_b = "\n".join(m["content"] for m in fake.channel_messages(guild_b.channel("news")))
        assert "Valparaiso" in posted_a and "Valparaiso" not in posted_b

        listed = manage(guild_a, "feeds list")
        assert feed_url in listed.content and "✅ active" in listed.content
        assert "no feeds of its own" in manage(guild_b, "feeds list").content
        choices = fake.autocomplete("feeds remove", {"feed": ""}, focused="feed", guild_id=guild_a.id,
                                    permissions=MANAGE_GUILD)
        assert [c["value"] for c in choices] == ["1"]
        assert fake.autocomplete("feeds remove", {"feed": ""}, focused="feed", guild_id=guild_b.id,
                                 permissions=MANAGE_GUILD) == []
        assert "Removed feed #1" in manage(guild_a, "feeds remove", {"feed": "1"}).content
        stop_bot(fake, bot)
