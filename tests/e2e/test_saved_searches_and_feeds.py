"""Saved searches and briefings limited to feeds through the real bot: every new command, and its refusals.

One bot process per store: the checks run in one test, in the order a manager and a reader would use them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from digests.feed_registry import register_feed
from digests.ingest.draft import StoryDraft
from digests.store import add_stories, open_store, session_scope
from digests.topics import load_taxonomy
from tests.e2e.conftest import MANAGE_GUILD, start_bot, stop_bot
from tests.e2e.fake_discord import FakeDiscord
from tests.local_http import QuietHandler, serving

MEMBER = 1 << 10 | 1 << 11  # view + send, nothing more

GAZETTE = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Gazette</title>
<item><title>Dockworkers strike shuts Valparaiso harbour</title><link>https://gazette.example/strike</link>
<description>Talks on port tariffs broke down.</description></item></channel></rss>"""
ELSEWHERE = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Elsewhere Post</title>
<item><title>Elsewhere council approves new library</title><link>https://elsewhere.example/library</link>
</item></channel></rss>"""
WIRE_STORY = "Chip export controls tightened on advanced processors"
UNROUTED_STORY = "Chip export controls worry Dutch lithography makers"
WIRE = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<item><title>{WIRE_STORY}</title><link>https://wire.example/chips</link></item></channel></rss>""".encode()
FEEDS = {"/gazette.xml": GAZETTE, "/elsewhere.xml": ELSEWHERE, "/wire.xml": WIRE}
CHIPS = "chip export controls"


class Feeds(QuietHandler):
    def do_GET(self) -> None:
        self.send_body(200, FEEDS[self.path], {"Content-Type": "application/rss+xml"})


def seed(database_url: str, base: str) -> int:
    """A deployment-wide feed with its story, and a public story no feed carried; returns the feed's id."""
    taxonomy = load_taxonomy(tagger="keywords")
    engine = open_store(database_url, taxonomy)
    now = datetime.now(UTC) - timedelta(minutes=5)
    try:
        with session_scope(engine) as session:
            wire, _ = register_feed(session=session, url=f"{base}/wire.xml", guild_id=None, topic_slug=None,
                                    added_by=None, now=now)
            add_stories(session=session, taxonomy=taxonomy, now=now, feed_id=wire.id,
                        drafts=[StoryDraft(title=WIRE_STORY, source="Wire", url="https://wire.example/chips")])
            add_stories(session=session, taxonomy=taxonomy, now=now,
                        drafts=[StoryDraft(title=UNROUTED_STORY, source="Unrouted", url="https://other.example/a")])
            return wire.id
    finally:
        engine.dispose()


def test_saved_searches_and_feed_routing_through_the_bot(tmp_path, database_url):
    with serving(Feeds) as base, FakeDiscord() as fake:
        wire_id = seed(database_url, base)
        port = fake.add_guild(name="Port City", channels=["news", "other"])
        elsewhere = fake.add_guild(name="Elsewhere", channels=["news"])
        reader = fake.add_user(username="reader")
        bot = start_bot(fake, tmp_path, database_url, ALLOW_PRIVATE_FEEDS="true")
        fake.wait_until_ready(timeout=60)
        fake.wait_for_commands(timeout=60)

        def manage(command, options=None, guild=port):
            return fake.invoke(command, options or {}, guild_id=guild.id, permissions=MANAGE_GUILD)

        def choices(command, options, focused, guild=port):
            found = fake.autocomplete(command, options, focused=focused, guild_id=guild.id, permissions=MANAGE_GUILD)
            return [choice["value"] for choice in found]

        news = port.channel("news")
        # /feeds add briefing:, and its refusal (a channel without a briefing adds nothing).
        manage("briefing setup", {"channel": news, "time": "08:00", "topics": "culture"})  # not the chip stories'
        added = manage("feeds add", {"url": f"{base}/gazette.xml", "topic": "culture", "briefing": news})
        assert f"The briefing of <#{news}> takes its stories. Only the stories of: #2 " in added.content
        refused = manage("feeds add", {"url": f"{base}/elsewhere.xml", "briefing": port.channel("other")})
        assert refused.ephemeral and "has no briefing" in refused.content
        assert "elsewhere.xml" not in manage("feeds list").content
        theirs = manage("feeds add", {"url": f"{base}/elsewhere.xml"}, guild=elsewhere)
        assert "Added feed #" in theirs.content
        their_id = theirs.content.split("Added feed #")[1].split(":")[0]

        # /briefing feeds add|list|remove: autocomplete offers this server's and every server's feeds, not
        # another server's nor one chosen already; another server's feed is refused.
        assert choices("briefing feeds add", {"feed": "", "channel": news}, "feed") == [str(wire_id)]
        assert "(all servers)" in fake.autocomplete("briefing feeds add", {"feed": "wire"}, focused="feed",
                                                    guild_id=port.id, permissions=MANAGE_GUILD)[0]["name"]
        assert "now takes the stories of #1" in manage("briefing feeds add", {"feed": str(wire_id)}).content
        other_guilds = manage("briefing feeds add", {"feed": their_id})
        assert other_guilds.ephemeral and "is not a feed of this server" in other_guilds.content
        listed = manage("briefing feeds list", {"channel": news}).content
        assert "Only the stories of: #1 " in listed and "#2 " in listed
        assert choices("briefing feeds remove", {"feed": ""}, "feed") == [str(wire_id), "2"]

        # /briefing search add|list|remove, and its refusal.
        assert f"now has a section for 🔎 “{CHIPS}”" in manage("briefing search add", {"query": CHIPS}).content
        no_words = manage("briefing search add", {"query": "?! …"})
        assert no_words.ephemeral and "holds no word to search for" in no_words.content
        assert f"Saved searches of <#{news}>: 🔎 {CHIPS}" in manage("briefing search list").content
        shown = manage("briefing show").content
        assert f"Saved searches: 🔎 {CHIPS}" in shown and "Only the stories of: #1" in shown

        # The briefing: its topic (culture) from its feeds, then the search among its feeds' stories only.
        assert "📨 Posted" in manage("briefing post-now", {"channel": news}).content
        posted = "\n".join(message["content"] for message in fake.channel_messages(news))
        assert "Dockworkers strike shuts Valparaiso harbour" in posted
        assert f"**🔎 {CHIPS}**" in posted and WIRE_STORY in posted and UNROUTED_STORY not in posted

        assert choices("briefing search remove", {"query": ""}, "query") == [CHIPS]
        assert "has no saved searches" in manage("briefing search remove", {"query": CHIPS.upper()}).content
        unknown = manage("briefing search remove", {"query": CHIPS})
        assert unknown.ephemeral and "There is no saved search" in unknown.content
        assert "no longer takes the stories of #1" in manage("briefing feeds remove", {"feed": str(wire_id)}).content
        not_chosen = manage("briefing feeds remove", {"feed": str(wire_id)})
        assert not_chosen.ephemeral and "is not limited to" in not_chosen.content
        # Removing the briefing's last feed: /feeds remove says it takes every feed's stories again.
        assert "takes every feed's stories again" in manage("feeds remove", {"feed": "2"}).content

        # A reader's saved searches: /subscribe query:, its refusals, /subscriptions, /digest preview, /unsubscribe.
        def personal(command, options=None):
            return fake.invoke(command, options or {}, guild_id=port.id, user_id=reader)

        saved = personal("subscribe", {"query": CHIPS})
        assert f"Saved the search 🔎 “{CHIPS}”" in saved.content and "Your digest comes by DM" in saved.content
        assert "Name a `topic` to follow, or a `query`" in personal("subscribe").content
        for n in range(4):
            personal("subscribe", {"query": f"tariff{n}"})
        sixth = personal("subscribe", {"query": "one too many"})
        assert sixth.ephemeral and "A digest can have 5 saved searches" in sixth.content
        assert f"Saved searches: 🔎 {CHIPS} · 🔎 tariff0" in personal("subscriptions").content
        preview = "\n".join(personal("digest preview").texts)
        assert f"**🔎 {CHIPS}**" in preview and WIRE_STORY in preview and UNROUTED_STORY in preview  # not routed
        assert fake.autocomplete("unsubscribe", {"query": "chip"}, focused="query", guild_id=port.id,
                                 user_id=reader) == [{"name": f"🔎 {CHIPS}", "value": CHIPS}]
        assert f"Removed the saved search 🔎 “{CHIPS}”" in personal("unsubscribe", {"query": CHIPS}).content
        gone = personal("unsubscribe", {"query": CHIPS})
        assert gone.ephemeral and "There is no saved search" in gone.content
        assert "Name one of your topics" in personal("unsubscribe").content

        # Every manager command refuses a member without Manage Server, and changes nothing.
        for command, options in [
            ("briefing search add", {"query": "leak"}), ("briefing search list", {}),
            ("briefing search remove", {"query": "leak"}), ("briefing feeds add", {"feed": str(wire_id)}),
            ("briefing feeds list", {}), ("briefing feeds remove", {"feed": str(wire_id)}),
            ("briefing filter add", {"pattern": "leak"}), ("briefing filter list", {}),
            ("briefing filter remove", {"rule": "1"}), ("feeds export", {}),
        ]:
            refused = fake.invoke(command, options, guild_id=port.id, user_id=reader, permissions=MEMBER)
            assert refused.ephemeral and "Manage Server" in refused.content, command
        assert "leak" not in manage("briefing search list").content
        assert "Only the stories of" not in manage("briefing feeds list").content
        assert "no filter rules" in manage("briefing filter list").content.lower()
        stop_bot(fake, bot)
