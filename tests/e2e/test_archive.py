"""The briefing archive end to end: a manager turns it on in Discord, the real bot posts, the link it gives works.

The bot process is the real one (`briefbot run` against the fake Discord), and so is its HTTP side door:
the link the bot gives in `/briefing show` (ARCHIVE_BASE_URL) points at the bot's own HTTP_PORT.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape

import feedparser
import pytest

from digests.ingest.draft import StoryDraft
from digests.store import add_stories, open_store, session_scope
from digests.topics import load_taxonomy
from tests.e2e.conftest import MANAGE_GUILD, free_port, start_bot, stop_bot
from tests.e2e.fake_discord import FakeDiscord

PRIVATE = "Newsroom-only tariffs memo leaks"
ELSEWHERE = "Another server's tariffs memo leaks"


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord() as fake:
        yield fake


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a local test server
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_a_briefing_with_its_archive_on_is_on_the_web_as_posted(fake, tmp_path, database_url):
    guild = fake.add_guild(name="Newsroom", channels=["news"])
    channel = guild.channel("news")
    taxonomy = load_taxonomy(tagger="keywords")
    engine = open_store(database_url, taxonomy)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=now - timedelta(hours=1), drafts=[
            StoryDraft(title=f"Tariffs story {n} k{n}a k{n}b k{n}c", source=f"Outlet {n}",
                       url=f"https://news.example/{n}") for n in range(5)])
        add_stories(session=session, taxonomy=taxonomy, now=now - timedelta(hours=1), guild_id=guild.id,
                    drafts=[StoryDraft(title=PRIVATE, source="Desk", url="https://desk.example/memo")])
        add_stories(session=session, taxonomy=taxonomy, now=now - timedelta(hours=1), guild_id=guild.id + 1,
                    drafts=[StoryDraft(title=ELSEWHERE, source="Other", url="https://other.example/memo")])
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    try:
        bot = start_bot(fake, tmp_path, database_url, HTTP_PORT=str(port), ARCHIVE_BASE_URL=f"{site}/")
        fake.wait_until_ready(timeout=60)
        fake.wait_for_commands(timeout=60)

        def manage(command: str, **options: object):
            return fake.invoke(command, options, guild_id=guild.id, channel_id=channel, permissions=MANAGE_GUILD)

        saved = manage("briefing setup", channel=channel, time="06:00", archive="on")
        link = re.search(rf"<({re.escape(site)}/archive/[A-Za-z0-9_-]{{22}}/)>", saved.content)
        assert link, saved.content
        assert manage("briefing post-now").content.startswith("📨 Posted the briefing")
        posted = "\n".join(message["content"] for message in fake.channel_messages(channel))
        assert PRIVATE in posted and ELSEWHERE not in posted
        shown = manage("briefing show").content
        assert f"<{link[1]}>" in shown  # /briefing show gives the same link

        status, index = get(link[1])
        assert status == 200
        [key] = re.findall(r'<li><a href="([0-9-]+)"', index)
        status, page = get(link[1] + key)
        assert status == 200
        titles = [unescape(title) for title in re.findall(r'<a href="https://[^"]+"[^>]*>([^<]+)</a>', page)]
        assert len(titles) == 6 and PRIVATE in titles and ELSEWHERE not in page
        positions = [posted.find(title) for title in titles]
        assert -1 not in positions and positions == sorted(positions)  # what was posted, in its order

        status, atom = get(link[1] + "feed.atom")
        feed = feedparser.parse(atom)
        assert status == 200 and not feed.bozo and [entry.link for entry in feed.entries] == [link[1] + key]

        off = manage("briefing setup", channel=channel, time="06:00", archive="off")
        assert "Archive off" in off.content and link[1] not in off.content
        assert link[1] not in manage("briefing show").content
        assert get(link[1])[0] == get(link[1] + key)[0] == 404
        again = manage("briefing setup", channel=channel, time="06:00", archive="on")
        assert f"<{link[1]}>" in again.content and get(link[1] + key)[0] == 200  # the same link, back
        stop_bot(fake, bot)
    finally:
        engine.dispose()


def test_without_a_public_address_show_says_the_archive_is_on_but_not_reachable(fake, tmp_path, database_url):
    guild = fake.add_guild(name="Desk", channels=["news"])
    channel = guild.channel("news")
    bot = start_bot(fake, tmp_path, database_url)
    fake.wait_until_ready(timeout=60)
    fake.wait_for_commands(timeout=60)
    saved = fake.invoke("briefing setup", {"channel": channel, "time": "06:00", "archive": "on"}, guild_id=guild.id,
                        permissions=MANAGE_GUILD)
    assert "not reachable from outside yet" in saved.content and "ARCHIVE_BASE_URL" in saved.content
    assert re.search(r"`/archive/[A-Za-z0-9_-]{22}/`", saved.content)
    shown = fake.invoke("briefing show", guild_id=guild.id, permissions=MANAGE_GUILD)
    assert "not reachable from outside yet" in shown.content
    stop_bot(fake, bot)
