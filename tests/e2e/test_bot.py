"""Every slash command of docs/commands.md, end to end: the real bot process against the fake Discord."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from bot.commands.briefing import MAX_BRIEFINGS_PER_GUILD, POST_NOW_PER_GUILD
from bot.commands.feeds import ADD_PER_GUILD
from digests.filters import MAX_RULES, add_filter
from digests.store import open_store, session_scope
from digests.targets import pick_briefing, setup_briefing
from digests.topics import load_taxonomy
from tests.e2e.conftest import BREAKING, DUMMY_TOKEN, MANAGE_GUILD, World, start_bot, stop_bot
from tests.e2e.fake_discord import ClientProcess, FakeDiscord

NO_PERMISSIONS = 1 << 10 | 1 << 11  # view + send, nothing more


def options_of(command: dict) -> dict[str, dict]:
    return {option["name"]: option for option in command.get("options", [])}


def test_commands_are_synced_with_their_spec_names(world: World):
    commands = {command["name"]: command for command in world.fake.commands()}
    assert set(commands) == {
        "stories",
        "topics",
        "subscribe",
        "unsubscribe",
        "subscriptions",
        "digest",
        "briefing",
        "feeds",
    }
    assert list(options_of(commands["stories"])) == ["topic", "query", "limit", "hours", "share"]
    assert options_of(commands["stories"])["topic"]["autocomplete"] is True
    assert options_of(commands["stories"])["limit"]["max_value"] == 10
    assert options_of(commands["stories"])["hours"]["max_value"] == 168
    assert set(options_of(commands["digest"])) == {"schedule", "preview", "pause", "resume", "style", "filter"}
    assert set(options_of(options_of(commands["digest"])["filter"])) == {"add", "list", "remove"}
    setup = options_of(options_of(commands["briefing"])["setup"])
    assert [c["value"] for c in setup["style"]["choices"]] == ["text", "rich"] and not setup["style"].get("required")
    assert set(options_of(commands["briefing"])) == {
        "setup",
        "show",
        "preview",
        "post-now",
        "pause",
        "resume",
        "remove",
        "search",
        "feeds",
        "filter",
    }
    assert set(options_of(options_of(commands["briefing"])["search"])) == {"add", "list", "remove"}
    assert set(options_of(options_of(commands["briefing"])["feeds"])) == {"add", "list", "remove"}
    assert list(options_of(commands["subscribe"])) == ["topic", "query"]
    assert not any(option.get("required") for option in commands["subscribe"]["options"])
    add_rule = options_of(options_of(options_of(commands["briefing"])["filter"])["add"])
    assert [c["value"] for c in add_rule["match"]["choices"]] == ["word", "regex"] and add_rule["pattern"]["required"]
    assert set(options_of(commands["feeds"])) == {"add", "list", "remove", "import", "export"}
    [upload] = options_of(commands["feeds"])["import"]["options"]
    assert (upload["name"], upload["type"], upload["required"]) == ("file", 11, True)  # an attachment
    for managed in ("briefing", "feeds"):
        assert str(commands[managed]["default_member_permissions"]) == str(MANAGE_GUILD)
        assert commands[managed].get("contexts") == [0] or commands[managed].get("dm_permission") is False
    assert all(len(command["description"]) <= 100 for command in commands.values())


def test_stories_by_topic_is_ephemeral_and_linked(world: World):
    result = world.fake.invoke("stories", {"topic": "defense"}, guild_id=world.guild.id, user_id=world.member)
    assert result.ephemeral
    assert "Defense & Security" in result.content
    assert "U.S. Defense Secretary Pete Hegseth" in result.content
    assert result.allowed_mentions == {"parse": []}


def test_stories_share_posts_publicly(world: World):
    result = world.fake.invoke("stories", {"topic": "economy", "limit": 2, "share": True}, guild_id=world.guild.id)
    assert not result.ephemeral
    assert result.content.count("• ") == 2


def test_an_unknown_topic_is_a_full_text_search(world: World):
    result = world.fake.invoke("stories", {"topic": "Greenland"}, guild_id=world.guild.id)
    assert "U.S. Defense Secretary Pete Hegseth" in result.content


def test_no_match_is_a_friendly_ephemeral_answer_even_when_shared(world: World):
    result = world.fake.invoke("stories", {"topic": "penguins", "share": True}, guild_id=world.guild.id)
    assert result.ephemeral
    assert result.content.startswith("No stories for “penguins”")


def test_stories_titles_never_ping(world: World):
    result = world.fake.invoke("stories", {"topic": "Greenland", "share": True}, guild_id=world.guild.id)
    assert "breaking" in result.content
    assert "@everyone" not in result.content
    assert result.allowed_mentions == {"parse": []}


def test_topic_and_timezone_autocomplete(world: World):
    topics = world.fake.autocomplete("stories", {"topic": "def"}, focused="topic", guild_id=world.guild.id)
    assert topics[0]["value"] == "defense"
    search = world.fake.autocomplete("stories", {"topic": "Greenl"}, focused="topic", guild_id=world.guild.id)
    assert search == [{"name": "Search stories for “Greenl”", "value": "Greenl"}]
    zones = world.fake.autocomplete(
        "digest schedule", {"time": "07:00", "timezone": "bruss"}, focused="timezone", guild_id=world.guild.id
    )
    assert {"name": "Europe/Brussels", "value": "Europe/Brussels"} in zones
    everything = world.fake.autocomplete(
        "digest schedule", {"time": "07:00", "timezone": ""}, focused="timezone", guild_id=world.guild.id
    )
    assert len(everything) == 25


def test_topics_lists_the_taxonomy_with_counts(world: World):
    result = world.fake.invoke("topics", guild_id=world.guild.id)
    assert result.ephemeral
    assert "`immigration` — 3" in result.content
    assert "`sports` — 0" in result.content


def test_personal_digest_lifecycle(world: World):
    user = world.fake.add_user(username="subscriber")
    invoke = world.fake.invoke
    first = invoke("subscribe", {"topic": "economy"}, user_id=user, guild_id=world.guild.id)
    assert first.ephemeral and "Added 📈 Economy & Markets" in first.content
    assert "every day at 08:00 (Europe/Brussels)" in first.content
    again = invoke("subscribe", {"topic": "Economy & Markets"}, user_id=user, guild_id=world.guild.id)
    assert "already follow" in again.content
    invoke("subscribe", {"topic": "trade"}, user_id=user, guild_id=world.guild.id)
    unknown = invoke("subscribe", {"topic": "knitting"}, user_id=user, guild_id=world.guild.id)
    assert unknown.ephemeral and "“knitting” is not a topic" in unknown.content

    mine = world.fake.autocomplete("unsubscribe", {"topic": ""}, focused="topic", user_id=user, guild_id=world.guild.id)
    assert [c["value"] for c in mine] == ["economy", "trade", "all"]

    bad_time = invoke(
        "digest schedule",
        {"time": "25:00", "timezone": "Europe/Paris"},
        user_id=user,
        guild_id=world.guild.id,
    )
    assert bad_time.ephemeral and "not a time of day" in bad_time.content
    bad_zone = invoke(
        "digest schedule",
        {"time": "07:30", "timezone": "Mars/Olympus"},
        user_id=user,
        guild_id=world.guild.id,
    )
    assert "not a known IANA timezone" in bad_zone.content
    scheduled = invoke(
        "digest schedule",
        {"time": "7:30", "timezone": "america/new_york"},
        user_id=user,
        guild_id=world.guild.id,
    )
    assert "every day at 07:30 (America/New_York)" in scheduled.content
    bad_days = invoke("digest schedule", {"time": "7:30", "timezone": "America/New_York", "days": "someday"},
                      user_id=user, guild_id=world.guild.id)
    assert bad_days.ephemeral and "not a schedule" in bad_days.content
    weekly = invoke("digest schedule", {"time": "7:30", "timezone": "America/New_York", "days": "monday"},
                    user_id=user, guild_id=world.guild.id)
    assert "sent on Mon at 07:30 (America/New_York)" in weekly.content and "next: Mon" in weekly.content

    status = invoke("subscriptions", user_id=user, guild_id=world.guild.id)
    assert status.ephemeral
    assert "Economy & Markets" in status.content and "Trade" in status.content
    assert "07:30 America/New_York on Mon" in status.content and "never delivered yet" in status.content

    preview = invoke("digest preview", user_id=user, guild_id=world.guild.id)
    assert preview.ephemeral and "Your briefing" in "\n".join(preview.texts)

    paused = invoke("digest pause", user_id=user, guild_id=world.guild.id)
    assert "paused" in paused.content
    assert "Paused" in invoke("subscriptions", user_id=user, guild_id=world.guild.id).content
    invoke("digest resume", user_id=user, guild_id=world.guild.id)
    assert "Paused" not in invoke("subscriptions", user_id=user, guild_id=world.guild.id).content

    removed = invoke("unsubscribe", {"topic": "all"}, user_id=user, guild_id=world.guild.id)
    assert "No topics left" in removed.content
    assert "follow no topics" in invoke("subscriptions", user_id=user, guild_id=world.guild.id).content


def test_personal_commands_work_in_dms(world: World):
    result = world.fake.invoke("topics", user_id=world.member)
    assert result.ephemeral and "Topics" in result.content


def test_a_member_without_manage_server_is_refused_and_nothing_changes(world: World):
    briefings = world.guild.channel("briefings")
    refused = world.fake.invoke(
        "briefing setup",
        {"channel": briefings, "time": "07:00"},
        user_id=world.member,
        guild_id=world.guild.id,
        permissions=NO_PERMISSIONS,
    )
    assert refused.ephemeral and "Manage Server" in refused.content
    feeds = world.fake.invoke(
        "feeds add",
        {"url": "https://feeds.example/rss"},
        user_id=world.member,
        guild_id=world.guild.id,
        permissions=NO_PERMISSIONS,
    )
    assert "Manage Server" in feeds.content
    shown = world.fake.invoke(
        "briefing show",
        {"channel": briefings},
        guild_id=world.guild.id,
        user_id=world.manager,
        permissions=MANAGE_GUILD,
    )
    assert "has no briefing" in shown.content


def test_briefing_setup_show_preview_post_now_pause_resume_remove(world: World):
    fake, guild = world.fake, world.guild
    channel = guild.channel("general")

    def manage(command: str, options: dict | None = None):
        return fake.invoke(
            command,
            options or {},
            user_id=world.manager,
            guild_id=guild.id,
            channel_id=channel,
            permissions=MANAGE_GUILD,
        )

    bad = manage("briefing setup", {"channel": channel, "time": "7h", "days": "mon"})
    assert bad.ephemeral and "is not a time" in bad.content
    bad_days = manage("briefing setup", {"channel": channel, "time": "07:00", "days": "someday"})
    assert "is not a schedule" in bad_days.content
    created = manage(
        "briefing setup",
        {"channel": channel, "time": "06:45", "timezone": "Asia/Tokyo", "days": "Mon,Wed,Fri"},
    )
    assert created.ephemeral and "set up for <#" in created.content
    assert "06:45 Asia/Tokyo on Mon, Wed, Fri" in created.content
    updated = manage("briefing setup", {"channel": channel, "time": "07:00", "topics": "defense, economy"})
    assert "updated" in updated.content and "07:00 Europe/Brussels every day" in updated.content

    shown = manage("briefing show")
    assert f"<#{channel}>" in shown.content and "Defense & Security · 📈 Economy & Markets" in shown.content

    preview = manage("briefing preview")
    assert preview.deferred and preview.ephemeral
    assert "Daily briefing" in "\n".join(preview.texts)
    assert fake.channel_messages(channel) == []

    posted = manage("briefing post-now")
    assert "Posted the briefing" in posted.content
    messages = fake.channel_messages(channel)
    assert messages and "Daily briefing" in messages[0]["content"]
    assert all(m["allowed_mentions"] == {"parse": []} for m in messages)
    assert all(m.get("enforce_nonce") is True and m.get("nonce") for m in messages)
    assert all(len(m["content"]) <= 2000 for m in messages)
    assert "— done" in manage("briefing show").content
    assert "Nothing new" in manage("briefing post-now").content
    assert len(fake.channel_messages(channel)) == len(messages)
    assert "— empty" in manage("briefing show").content

    assert "paused" in manage("briefing pause").content
    assert "Paused" in manage("briefing show").content
    assert "running again" in manage("briefing resume").content
    assert "Removed the briefing" in manage("briefing remove", {"channel": channel}).content
    assert "no briefing yet" in manage("briefing show").content


def test_a_briefing_posts_the_everyone_story_without_a_ping(world: World):
    fake, guild = world.fake, world.guild
    channel = guild.channel("briefings")
    fake.invoke(
        "briefing setup",
        {"channel": channel, "time": "08:00", "topics": "defense", "mention": guild.role("Readers")},
        user_id=world.manager,
        guild_id=guild.id,
        permissions=MANAGE_GUILD,
    )
    fake.invoke(
        "briefing post-now",
        {"channel": channel},
        user_id=world.manager,
        guild_id=guild.id,
        permissions=MANAGE_GUILD,
    )
    messages = fake.channel_messages(channel)
    text = "\n".join(m["content"] for m in messages)
    assert "breaking: NATO summit moved to Greenland" in text
    assert "@everyone" not in text and BREAKING not in text
    assert messages[0]["content"].startswith(f"<@&{guild.role('Readers')}>")
    for message in messages:
        assert message["allowed_mentions"]["parse"] == []
        assert [str(role) for role in message["allowed_mentions"].get("roles", [])] == [str(guild.role("Readers"))]


def test_posting_to_a_channel_the_bot_cannot_use_pauses_that_briefing(world: World):
    fake, guild = world.fake, world.guild
    channel = guild.channel("locked")
    fake.invoke(
        "briefing setup",
        {"channel": channel, "time": "08:00"},
        user_id=world.manager,
        guild_id=guild.id,
        permissions=MANAGE_GUILD,
    )
    fake.inject("POST", rf"^/channels/{channel}/messages$", 403, code=50013, times=None)
    try:
        result = fake.invoke(
            "briefing post-now",
            {"channel": channel},
            user_id=world.manager,
            guild_id=guild.id,
            permissions=MANAGE_GUILD,
        )
    finally:
        fake.clear_injections()
    assert "Could not post" in result.content and "Missing Permissions" in result.content
    shown = fake.invoke(
        "briefing show",
        {"channel": channel},
        user_id=world.manager,
        guild_id=guild.id,
        permissions=MANAGE_GUILD,
    )
    assert "Paused — the bot lacks permission to post there" in shown.content


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/feed", "must start with http:// or https://"),
        ("http://127.0.0.1:8080/feed.xml", "private or local address"),
        ("http://[::1]/feed.xml", "private or local address"),
        ("https://169.254.169.254/latest", "private or local address"),
    ],
)
def test_feeds_add_refuses_bad_and_private_urls(world: World, url: str, message: str):
    result = world.fake.invoke(
        "feeds add", {"url": url}, user_id=world.manager, guild_id=world.guild.id, permissions=MANAGE_GUILD
    )
    assert result.ephemeral and message in result.content


def test_sigterm_stops_the_bot_cleanly(tmp_path):
    with FakeDiscord() as fake:
        fake.add_guild(name="Solo")
        # DEBUG: the token must stay out of the logs at every level.
        env = {**fake.env(DUMMY_TOKEN), "DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}", "LOG_LEVEL": "DEBUG"}
        bot = ClientProcess([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path).start()
        fake.watch(bot)
        fake.wait_until_ready(timeout=60)
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=20) == 0
        output = bot.output()
        bot.stop()
    assert "Traceback" not in output
    assert "stopping on signal" in output
    assert "DEBUG" in output and "IDENTIFY" in output  # the gateway log at DEBUG was really written
    assert DUMMY_TOKEN not in output


def test_a_development_guild_gets_the_commands_and_the_global_set_is_cleared(tmp_path):
    with FakeDiscord() as fake:
        guild = fake.add_guild(name="Dev")
        bot = start_bot(fake, tmp_path, f"sqlite:///{tmp_path / 'b.db'}", DISCORD_GUILD_ID=str(guild.id))
        fake.wait_until_ready(timeout=60)
        commands = fake.wait_for_commands(timeout=60, guild_id=guild.id)
        fake.wait_for(lambda: fake.requests_matching("PUT", r"^/applications/\d+/commands$"), timeout=30,
                      what="the global sync")
        stop_bot(fake, bot)
        assert len(commands) == 8
        assert fake.commands() == []


def test_run_without_a_token_exits_2_before_any_network(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DISCORD_TOKEN": ""},
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "DISCORD_TOKEN is not set" in result.stderr
    assert "Traceback" not in result.stderr


SEND_MESSAGES = 1 << 11


def test_a_manager_cannot_make_the_bot_post_or_ping_where_they_could_not(world: World):
    fake = world.fake
    owner, mod = fake.add_user(username="deputy-owner"), fake.add_user(username="mod")
    guild_id = fake.add_user()  # any fresh snowflake, known before the guild exists
    fake.add_guild(
        guild_id,
        name="Deputies",
        channels=["open", {"name": "announcements",
                           "permission_overwrites": [{"id": guild_id, "type": 0, "deny": SEND_MESSAGES}]}],
        roles=[{"name": "Mods", "permissions": MANAGE_GUILD}, "Quiet", {"name": "Loud", "mentionable": True}],
        members=[owner, {"id": mod, "roles": ["Mods"]}],
        owner_id=owner,
    )

    def setup(user: int, **options: object):
        return fake.invoke("briefing setup", {"time": "07:00", **options}, user_id=user, guild_id=guild_id)

    no_send = setup(mod, channel="announcements")
    assert no_send.ephemeral and "You cannot send messages in <#" in no_send.content
    quiet = setup(mod, channel="open", mention="Quiet")
    assert "Quiet is not mentionable and you lack **Mention @everyone" in quiet.content
    shown = fake.invoke("briefing show", user_id=mod, guild_id=guild_id)
    assert "no briefing yet" in shown.content
    assert "set up for <#" in setup(mod, channel="open", mention="Loud").content
    assert "updated" in setup(owner, channel="open", mention="Quiet").content  # the owner may ping any role


def test_a_server_has_at_most_25_briefings(world: World):
    fake = world.fake
    guild = fake.add_guild(name="Busy", channels=[f"c{n}" for n in range(MAX_BRIEFINGS_PER_GUILD + 1)])
    engine = open_store(world.database_url, load_taxonomy())
    with session_scope(engine) as session:
        for n in range(MAX_BRIEFINGS_PER_GUILD):
            setup_briefing(session=session, taxonomy=load_taxonomy(), guild_id=guild.id,
                           channel_id=guild.channel(f"c{n}"), time_of_day="07:00", timezone="UTC", topics=None,
                           days=None, mention_role_id=None, quiet_day_notice=None, now=datetime.now(UTC))
    engine.dispose()

    def setup(channel: str):
        return fake.invoke("briefing setup", {"channel": channel, "time": "08:00"}, guild_id=guild.id)

    refused = setup(f"c{MAX_BRIEFINGS_PER_GUILD}")
    assert refused.ephemeral and "already has 25 briefings" in refused.content
    assert "updated" in setup("c0").content  # changing an existing one is still fine


def test_feeds_add_and_post_now_have_a_cooldown_per_server(world: World):
    fake = world.fake
    busy, other = fake.add_guild(name="Loop", channels=["news"]), fake.add_guild(name="Calm", channels=["news"])

    def invoke(guild, command: str, **options: object):
        return fake.invoke(command, options, guild_id=guild.id)

    private = "http://127.0.0.1/feed.xml"  # refused at once, but every try counts
    for _ in range(ADD_PER_GUILD):
        assert "private or local address" in invoke(busy, "feeds add", url=private).content
    cooled = invoke(busy, "feeds add", url=private)
    assert cooled.ephemeral and re.search(r"`/feeds add` was used too often .* Try again in \d+ s\.", cooled.content)
    assert "private or local address" in invoke(other, "feeds add", url=private).content

    assert "set up" in invoke(busy, "briefing setup", channel="news", time="07:00").content
    for _ in range(POST_NOW_PER_GUILD):
        assert "Try again" not in invoke(busy, "briefing post-now").content
    posted = len(fake.channel_messages(busy.channel("news")))
    again = invoke(busy, "briefing post-now")
    assert re.search(r"`/briefing post-now` was used too often .* Try again in \d+ s\.", again.content)
    assert len(fake.channel_messages(busy.channel("news"))) == posted


def test_rich_style_for_a_briefing_and_a_personal_digest_through_the_commands(world: World):
    fake, guild = world.fake, world.guild
    channel = guild.channel("general")

    def manage(command: str, options: dict | None = None):
        return fake.invoke(command, options or {}, user_id=world.manager, guild_id=guild.id, channel_id=channel,
                           permissions=MANAGE_GUILD)

    saved = manage("briefing setup", {"channel": channel, "time": "07:00", "style": "rich"})
    assert "Style: rich, the top story as an embed" in saved.content
    assert "Style: rich" in manage("briefing show").content
    preview = manage("briefing preview")
    assert "Daily briefing" in preview.content and preview.embeds and preview.embeds[0]["title"]
    assert preview.embeds[0]["title"] not in "\n".join(preview.texts)
    earlier = len(fake.channel_messages(channel))  # other tests of the module posted here too
    assert "Posted the briefing" in manage("briefing post-now").content
    messages = fake.channel_messages(channel)[earlier:]
    assert messages[0]["embeds"][0]["title"] == preview.embeds[0]["title"]
    assert all(not m.get("embeds") for m in messages[1:]) and all(len(m["content"]) <= 2000 for m in messages)
    assert all(m["allowed_mentions"] == {"parse": []} for m in messages)
    kept = manage("briefing setup", {"channel": channel, "time": "07:30"})
    assert "Style: rich" in kept.content  # an update without `style` keeps it
    assert "Style: text" in manage("briefing setup", {"channel": channel, "time": "07:30", "style": "text"}).content
    manage("briefing remove", {"channel": channel})

    user = fake.add_user(username="rich-reader")
    no_digest = fake.invoke("digest style", {"style": "rich"}, user_id=user, guild_id=guild.id)
    assert no_digest.ephemeral and "no personal digest yet" in no_digest.content
    fake.invoke("subscribe", {"topic": "immigration"}, user_id=user, guild_id=guild.id)
    assert "Style: text" in fake.invoke("subscriptions", user_id=user, guild_id=guild.id).content
    chosen = fake.invoke("digest style", {"style": "rich"}, user_id=user, guild_id=guild.id)
    assert chosen.ephemeral and "Style: rich" in chosen.content
    assert "Style: rich" in fake.invoke("subscriptions", user_id=user, guild_id=guild.id).content
    preview = fake.invoke("digest preview", user_id=user, guild_id=guild.id)
    assert "Your briefing" in preview.content and preview.embeds and preview.embeds[0]["title"]


def test_filters_of_a_briefing_and_a_personal_digest_through_the_commands(world: World):
    """Every /briefing filter and /digest filter command, the previews' count of what the rules left out, and the
    refusals: a regex RE2 cannot compile, one rule too many, a member without Manage Server, no digest yet."""
    fake, guild = world.fake, world.guild
    channel = guild.channel("general")

    def manage(command: str, options: dict | None = None):
        return fake.invoke(command, options or {}, user_id=world.manager, guild_id=guild.id, channel_id=channel,
                           permissions=MANAGE_GUILD)

    manage("briefing setup", {"channel": channel, "time": "07:00", "topics": "economy"})
    assert "Powell" in "\n".join(manage("briefing preview").texts)
    added = manage("briefing filter add", {"pattern": "POWELL"})
    assert added.ephemeral and "Added to the briefing of <#" in added.content
    assert "exclude · words “POWELL”" in added.content
    bad = manage("briefing filter add", {"pattern": "(a", "match": "regex"})
    assert bad.ephemeral and "not a regular expression RE2 accepts: missing ): (a" in bad.content
    refused = fake.invoke("briefing filter add", {"pattern": "trump"}, user_id=world.member, guild_id=guild.id,
                          permissions=NO_PERMISSIONS)
    assert refused.ephemeral and "Manage Server" in refused.content
    assert fake.autocomplete("briefing filter remove", {"rule": ""}, focused="rule", user_id=world.member,
                             guild_id=guild.id, permissions=NO_PERMISSIONS) == []

    preview = manage("briefing preview")
    text = "\n".join(preview.texts)
    assert "Daily briefing" in text and "Powell" not in text
    assert re.search(r"🔎 1 filter rule left out [1-9]\d* stor(y|ies) on these topics", preview.texts[-1])
    assert "Filters: ⛔ “POWELL” (`/briefing filter list`" in manage("briefing show").content

    engine = open_store(world.database_url, load_taxonomy(tagger="keywords"))  # fill it up to the limit directly
    with session_scope(engine) as session:
        target = pick_briefing(session=session, guild_id=guild.id, channel_id=channel, current_channel_id=None).id
        for n in range(MAX_RULES - 1):
            add_filter(session=session, target_id=target, action="exclude", kind="word", field="title",
                       pattern=f"filler{n}", now=datetime.now(UTC))
    engine.dispose()
    full = manage("briefing filter add", {"pattern": "^Fed", "match": "regex", "action": "include"})
    assert full.ephemeral and f"already {MAX_RULES} filter rules" in full.content
    listed = manage("briefing filter list")
    assert listed.content.count("⛔ exclude") == MAX_RULES and "filler18" in listed.content
    choices = fake.autocomplete("briefing filter remove", {"rule": "powell"}, focused="rule", user_id=world.manager,
                                guild_id=guild.id, channel_id=channel, permissions=MANAGE_GUILD)
    [powell] = choices
    assert "exclude word “POWELL” in any" in powell["name"]
    removed = manage("briefing filter remove", {"rule": powell["value"]})
    assert "Removed from the briefing of <#" in removed.content and "POWELL" in removed.content
    assert "Powell" in "\n".join(manage("briefing preview").texts)
    assert "No such filter rule" in manage("briefing filter remove", {"rule": powell["value"]}).content
    manage("briefing remove", {"channel": channel})

    user = fake.add_user(username="filtering-reader")
    none_yet = fake.invoke("digest filter add", {"pattern": "x"}, user_id=user, guild_id=guild.id)
    assert none_yet.ephemeral and "no personal digest yet" in none_yet.content
    fake.invoke("subscribe", {"topic": "economy"}, user_id=user, guild_id=guild.id)
    assert "no filter rules" in fake.invoke("digest filter list", user_id=user, guild_id=guild.id).content
    mine = fake.invoke("digest filter add", {"pattern": r"^jérôme\b", "match": "regex", "field": "title"},
                       user_id=user, guild_id=guild.id)
    assert mine.ephemeral and "Added to your digest" in mine.content and "regex" in mine.content
    preview = fake.invoke("digest preview", user_id=user, guild_id=guild.id)
    assert "Jerome Powell" not in "\n".join(preview.texts)
    assert "🔎 1 filter rule left out 1 story on these topics" in preview.texts[-1]
    assert "Filters: ⛔ “^jérôme\\\\b” (`/digest filter list`" in \
        fake.invoke("subscriptions", user_id=user, guild_id=guild.id).content
    [rule] = fake.autocomplete("digest filter remove", {"rule": ""}, focused="rule", user_id=user, guild_id=guild.id)
    assert "exclude regex" in rule["name"]
    gone = fake.invoke("digest filter remove", {"rule": rule["value"]}, user_id=user, guild_id=guild.id)
    assert "Removed from your digest" in gone.content
    assert "no filter rules" in fake.invoke("digest filter list", user_id=user, guild_id=guild.id).content
    # The refusals of /digest filter add: a regex RE2 cannot compile, and one rule too many.
    bad = fake.invoke("digest filter add", {"pattern": "(a", "match": "regex"}, user_id=user, guild_id=guild.id)
    assert bad.ephemeral and "not a regular expression RE2 accepts: missing ): (a" in bad.content
    for n in range(MAX_RULES):
        assert "Added to your digest" in fake.invoke("digest filter add", {"pattern": f"filler{n}"}, user_id=user,
                                                     guild_id=guild.id).content
    full = fake.invoke("digest filter add", {"pattern": "one more"}, user_id=user, guild_id=guild.id)
    assert full.ephemeral and f"already {MAX_RULES} filter rules" in full.content
