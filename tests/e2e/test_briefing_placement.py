"""`/briefing setup` in forum, announcement and text channels: tags, threads, publishing, webhook identity, refusals.

One bot (on SQLite: what is checked here is the command, not the store) serves the module.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlmodel import select

from digests.models import ChannelBriefing
from digests.store import open_store, session_scope
from digests.topics import load_taxonomy
from tests.e2e.conftest import DUMMY_TOKEN, MANAGE_GUILD
from tests.e2e.fake_discord import (
    CREATE_PUBLIC_THREADS,
    EMBED_LINKS,
    ClientProcess,
    FakeDiscord,
    FakeGuild,
)


@dataclass
class Desk:
    fake: FakeDiscord
    guild: FakeGuild
    database_url: str
    editor: int  # a member with Manage Server and @everyone's permissions; the owner has them all

    def setup(self, channel: str, *, user_id: int | None = None, **options: object):
        return self.fake.invoke("briefing setup", {"channel": self.guild.channel(channel), "time": "08:00", **options},
                                guild_id=self.guild.id, user_id=user_id, permissions=MANAGE_GUILD)

    def stored(self, channel: str) -> ChannelBriefing | None:
        engine = open_store(self.database_url, load_taxonomy())
        with session_scope(engine) as session:
            found = session.exec(select(ChannelBriefing).where(
                ChannelBriefing.channel_id == self.guild.channel(channel))).first()
            session.expunge_all()
        engine.dispose()
        return found


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    workdir = tmp_path_factory.mktemp("placement")
    database_url = f"sqlite:///{workdir / 'briefbot.db'}"
    with FakeDiscord() as fake:
        bot_id = fake.bot_user_id
        editor = fake.add_user(username="editor")
        guild = fake.add_guild(name="Desk", roles=[{"name": "Editors", "permissions": MANAGE_GUILD}],
                               members=[fake.add_user(username="owner"), {"id": editor, "roles": ["Editors"]}],
                               channels=[
            "text",
            {"name": "forum", "type": 15, "tags": ["Daily", {"name": "Staff pick", "moderated": True}]},
            {"name": "strict-forum", "type": 15, "tags": ["Daily"], "require_tag": True},
            {"name": "announcements", "type": 5},
            {"name": "no-threads", "permission_overwrites": [{"id": bot_id, "type": 1, "deny": CREATE_PUBLIC_THREADS}]},
            {"name": "hooked-news", "type": 5},
            {"name": "no-embeds", "permission_overwrites": [{"id": bot_id, "type": 1, "deny": EMBED_LINKS}]},
        ])
        env = {**fake.env(DUMMY_TOKEN), "DATABASE_URL": database_url, "DISCORD_GUILD_ID": "", "PYTHONUNBUFFERED": "1"}
        with ClientProcess([sys.executable, "-m", "bot", "run"], env=env, cwd=workdir) as bot:
            fake.watch(bot)
            fake.wait_until_ready(timeout=60)
            fake.wait_for_commands(timeout=60)
            yield Desk(fake, guild, database_url, editor)
            fake.unwatch(bot)


def test_the_setup_command_offers_forum_and_announcement_channels_and_the_new_options(desk: Desk):
    setup = next(o for o in next(c for c in desk.fake.commands() if c["name"] == "briefing")["options"]
                 if o["name"] == "setup")
    options = {o["name"]: o for o in setup["options"]}
    assert sorted(options["channel"]["channel_types"]) == [0, 5, 15, 16]
    assert {"tag", "thread", "publish", "webhook_name", "webhook_avatar", "webhook_thread"} <= set(options)
    assert options["tag"]["autocomplete"] is True


def test_a_forum_briefing_takes_one_of_the_forums_tags_offered_by_autocomplete(desk: Desk):
    forum = desk.guild.channel("forum")
    choices = desk.fake.autocomplete("briefing setup", {"channel": forum, "time": "08:00", "tag": "da"},
                                     focused="tag", guild_id=desk.guild.id, permissions=MANAGE_GUILD)
    daily = desk.fake.tag_id(forum, "Daily")
    assert {"name": "Daily", "value": str(daily)} in choices
    assert all(c["name"] != "Staff pick" for c in choices)

    saved = desk.setup("forum", tag=str(daily))
    assert "Each briefing is a new post titled with its date, tagged “Daily”" in saved.content
    stored = desk.stored("forum")
    assert (stored.channel_kind, stored.forum_tag_id) == ("forum", daily)

    by_name = desk.setup("forum", tag="daily")  # a typed name works too
    assert "tagged “Daily”" in by_name.content


def test_a_tag_the_forum_does_not_have_is_refused_and_nothing_changes(desk: Desk):
    before = desk.stored("forum")
    refused = desk.setup("forum", tag="Sports", time="09:15")
    assert refused.ephemeral and "has no tag “Sports”" in refused.content
    assert "Its tags: Daily, Staff pick" in refused.content
    after = desk.stored("forum")
    assert (after.time_of_day if after else None) == (before.time_of_day if before else None)


def test_a_forum_that_requires_a_tag_is_refused_without_one(desk: Desk):
    refused = desk.setup("strict-forum")
    assert "requires a tag on every post" in refused.content and desk.stored("strict-forum") is None
    saved = desk.setup("strict-forum", tag="Daily")
    assert "set up" in saved.content


def test_a_moderated_tag_needs_manage_threads_for_the_member_and_the_bot(desk: Desk):
    refused = desk.setup("forum", tag="Staff pick", user_id=desk.editor)
    assert "You lack Manage Threads" in refused.content
    refused = desk.setup("forum", tag="Staff pick")  # the owner has every permission; the bot has not
    assert "The bot lacks Manage Threads" in refused.content


def test_thread_and_publish_are_refused_where_they_do_not_fit_or_the_bot_lacks_the_permission(desk: Desk):
    assert "`thread:` is for text channels" in desk.setup("forum", tag="Daily", thread=True).content
    assert "`publish:` is for announcement channels" in desk.setup("text", publish=True).content
    assert "`tag:` is for forum and media channels" in desk.setup("text", tag="Daily").content
    refused = desk.setup("no-threads", thread=True)
    assert "The bot lacks Create Public Threads in" in refused.content and desk.stored("no-threads") is None
    saved = desk.setup("text", thread=True)
    assert "Each briefing opens a discussion thread named by its date" in saved.content
    saved = desk.setup("announcements", publish=True)
    assert "Each part is published to the servers following this channel" in saved.content
    assert desk.stored("announcements").publish is True


def test_webhook_identity_is_validated_and_publishing_through_a_webhook_needs_manage_messages(desk: Desk):
    url = desk.fake.add_webhook(desk.guild.channel("hooked-news"))
    bad = desk.setup("hooked-news", webhook=url, webhook_avatar="ftp://example.com/a.png")
    assert "must be an http:// or https:// URL" in bad.content and desk.stored("hooked-news") is None
    bad = desk.setup("hooked-news", webhook=url, webhook_name="Discord News")
    assert "Discord does not allow that webhook name" in bad.content
    bad = desk.setup("hooked-news", webhook=url, webhook_thread="general")
    assert "A thread is given by its id" in bad.content
    refused = desk.setup("hooked-news", webhook=url, publish=True)
    assert "The bot lacks Manage Messages" in refused.content  # crossposting the webhook's messages
    saved = desk.setup("hooked-news", webhook=url, webhook_name="Morning Desk",
                       webhook_avatar="https://example.com/desk.png")
    assert "Posted through the channel's webhook as “Morning Desk” with its own avatar" in saved.content
    assert url.rsplit("/", 1)[1] not in saved.content
    stored = desk.stored("hooked-news")
    assert (stored.webhook_username, stored.webhook_avatar_url) == ("Morning Desk", "https://example.com/desk.png")


def test_a_rich_briefing_needs_embed_links_unless_it_posts_through_a_webhook(desk: Desk):
    refused = desk.setup("no-embeds", style="rich")
    assert "The bot lacks Embed Links in" in refused.content and desk.stored("no-embeds") is None
    assert "Style: text" in desk.setup("no-embeds").content  # a text briefing needs no embeds
    url = desk.fake.add_webhook(desk.guild.channel("no-embeds"))
    saved = desk.setup("no-embeds", style="rich", webhook=url)
    assert "Style: rich" in saved.content and desk.stored("no-embeds").style == "rich"
