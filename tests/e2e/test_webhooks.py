"""Posting through Discord webhooks: `briefbot post --webhook` and channel briefings routed through one."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from bot.posting import RETRIES
from tests.e2e.conftest import MANAGE_GUILD, start_bot, stop_bot
from tests.e2e.discord_shapes import check_exchanges
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.seeding import seed


def post(fake: FakeDiscord, tmp_path, database_url: str, *args: str,
         **settings: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, "DISCORD_API_BASE": fake.api_base, **settings}
    return subprocess.run([sys.executable, "-m", "bot", "post", *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def cron_webhook(fake: FakeDiscord, database_url: str, channel: str | dict = "news") -> tuple[int, str]:
    """A server "Cron" with `channel` and a webhook of it, and the sample's stories seeded three hours before the
    slot: (the channel's id, the webhook's URL)."""
    guild = fake.add_guild(name="Cron", channels=[channel])
    channel_id = guild.channel(channel if isinstance(channel, str) else channel["name"])
    url = fake.add_webhook(channel_id)
    seed(database_url, now=datetime.now(UTC), slot=datetime.now(UTC) - timedelta(hours=3))
    return channel_id, url


def test_post_webhook_posts_each_story_once(tmp_path, database_url):
    with FakeDiscord() as fake:
        channel, url = cron_webhook(fake, database_url)

        first = post(fake, tmp_path, database_url, "--webhook", url, "--topics", "immigration,economy")
        assert first.returncode == 0, first.stderr
        assert first.stdout.strip() == "Posted 1 message(s) through the webhook."
        messages = fake.channel_messages(channel)
        assert len(messages) == 1 and "Daily briefing" in messages[0]["content"]
        assert "Immigration" in messages[0]["content"] and "Sports" not in messages[0]["content"]
        assert messages[0]["allowed_mentions"] == {"parse": []}

        again = post(fake, tmp_path, database_url, "--webhook", url)
        assert again.returncode == 0 and "Nothing new" in again.stdout
        assert len(fake.channel_messages(channel)) == 1

        bad = post(fake, tmp_path, database_url, "--webhook", "https://example.com/hook")
        assert bad.returncode == 1 and "not a Discord webhook URL" in bad.stderr


def test_a_wrong_webhook_token_fails_clearly(tmp_path, database_url):
    with FakeDiscord() as fake:
        _, url = cron_webhook(fake, database_url)
        token = url.rsplit("/", 1)[1]
        result = post(fake, tmp_path, database_url, "--webhook", url.replace(token, "y" * 68))
    assert result.returncode == 1
    assert "Invalid Webhook Token" in result.stderr
    assert "y" * 68 not in result.stderr and "Traceback" not in result.stderr


def test_a_channel_briefing_can_post_through_a_webhook(tmp_path, database_url):
    with FakeDiscord() as fake:
        guild = fake.add_guild(name="Hooks", channels=["news"])
        channel = guild.channel("news")
        url = fake.add_webhook(channel)
        seed(database_url, now=datetime.now(UTC), slot=datetime.now(UTC) - timedelta(hours=3))
        bot = start_bot(fake, tmp_path, database_url, LOG_LEVEL="DEBUG")  # every token must stay out, even here
        fake.wait_until_ready(timeout=60)
        fake.wait_for_commands(timeout=60)
        saved = fake.invoke("briefing setup", {"channel": channel, "time": "07:00", "webhook": url},
                            guild_id=guild.id, permissions=MANAGE_GUILD)
        assert "through the channel's webhook" in saved.content
        assert url.rsplit("/", 1)[1] not in saved.content
        posted = fake.invoke("briefing post-now", {"channel": channel}, guild_id=guild.id, permissions=MANAGE_GUILD)
        output = bot.output()
        stop_bot(fake, bot)
    assert "Posted the briefing" in posted.content
    messages = fake.channel_messages(channel)
    assert messages and all(m.get("webhook_id") for m in messages)
    assert not fake.requests_matching("POST", rf"^/channels/{channel}/messages$")
    assert url.rsplit("/", 1)[1] not in output
    assert "/interactions/" in output and saved.token not in output and posted.token not in output


def test_a_webhook_answering_5xx_is_tried_a_bounded_number_of_times_per_part(tmp_path, database_url):
    """The publisher alone retries a webhook, one request per try (discord.py's adapter nested 5 in each of 4)."""
    with FakeDiscord() as fake:
        channel, url = cron_webhook(fake, database_url)
        down = fake.inject("POST", r"^/webhooks/", 500, times=None)
        failed = post(fake, tmp_path, database_url, "--webhook", url)
        fake.clear_injections()
        recovered = fake.inject("POST", r"^/webhooks/", 503, times=2)
        resumed = post(fake, tmp_path, database_url, "--webhook", url)
        attempts = fake.requests_matching("POST", r"^/webhooks/")
        posted = fake.channel_messages(channel)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "Discord unavailable after 4 tries (500)" in failed.stderr
    assert down.hits == RETRIES  # for the first part, after which the run stops
    assert resumed.returncode == 0, resumed.stderr
    assert f"Posted {len(posted)} message(s)" in resumed.stdout
    assert recovered.hits == 2 and len(attempts) == RETRIES + 2 + len(posted)


def test_the_webhook_token_never_reaches_the_logs_even_at_debug(tmp_path, database_url):
    with FakeDiscord() as fake:
        _, url = cron_webhook(fake, database_url)
        fake.inject("POST", r"^/webhooks/", 502, times=1)  # the retry path logs too
        result = post(fake, tmp_path, database_url, "--webhook", url, LOG_LEVEL="DEBUG")
    token = url.rsplit("/", 1)[1]
    assert token not in result.stderr and token not in result.stdout
    assert result.returncode == 0, result.stderr
    assert "DEBUG" in result.stderr and "failed (502), retry 1" in result.stderr


def test_post_webhook_posts_under_a_name_and_avatar_into_a_thread(tmp_path, database_url):
    with FakeDiscord() as fake:
        guild = fake.add_guild(name="Cron", channels=["news"])
        channel = guild.channel("news")
        thread = fake.add_thread(channel, "Morning reads")
        url = fake.add_webhook(channel)
        seed(database_url, now=datetime.now(UTC), slot=datetime.now(UTC) - timedelta(hours=3))
        result = post(fake, tmp_path, database_url, "--webhook", url, "--username", "Morning Desk",
                      "--avatar-url", "https://example.com/desk.png", "--thread-id", str(thread))
        requests = fake.requests_matching("POST", r"^/webhooks/")
        assert check_exchanges(fake.requests) == len(requests)
        in_thread = fake.channel_messages(thread)
        in_channel = fake.channel_messages(channel)
    assert result.returncode == 0, result.stderr
    assert in_thread and in_channel == []
    assert all(m["username"] == "Morning Desk" and m["avatar_url"] == "https://example.com/desk.png"
               for m in in_thread)
    assert all(r.query == {"wait": "true", "thread_id": str(thread)} for r in requests)


def test_a_forum_webhook_starts_one_post_per_digest_with_every_part_in_it(tmp_path, database_url):
    with FakeDiscord() as fake:
        forum, url = cron_webhook(fake, database_url, {"name": "forum", "type": 15, "tags": ["Daily"]})
        refused = post(fake, tmp_path, database_url, "--webhook", url)  # a forum's webhook needs a post name
        result = post(fake, tmp_path, database_url, "--webhook", url, "--thread-name", "Wire digest")
        posts = fake.threads(forum)
        messages = fake.channel_messages(int(posts[0]["id"])) if posts else []
        requests = fake.requests_matching("POST", r"^/webhooks/")
        assert check_exchanges(fake.requests) == len(requests)
    assert refused.returncode == 1 and "give it a thread or a post name" in refused.stderr
    assert result.returncode == 0, result.stderr
    assert len(posts) == 1 and posts[0]["name"].startswith("Wire digest · 📰 Briefing · ")
    assert len(messages) == len(requests) - 1 >= 2  # the first part started the post, the rest went into it
    assert requests[1].json["thread_name"] == posts[0]["name"] and "thread_id" not in requests[1].query
    assert all(r.query.get("thread_id") == posts[0]["id"] and "thread_name" not in r.json for r in requests[2:])


@pytest.mark.parametrize(("args", "message"), [
    (("--avatar-url", "javascript:alert(1)"), "must be an http:// or https:// URL"),
    (("--avatar-url", "https://user:secret@example.com/a.png"), "may not hold a user name or password"),
    (("--username", "Clyde"), "Discord does not allow that webhook name"),
    (("--thread-id", "12", "--thread-name", "x"), "A thread is given by its id"),
])
def test_post_webhook_refuses_a_bad_name_avatar_or_thread_before_posting(tmp_path, database_url, args, message):
    with FakeDiscord() as fake:
        _, url = cron_webhook(fake, database_url)
        result = post(fake, tmp_path, database_url, "--webhook", url, *args)
        sent = fake.requests_matching("POST", r"^/webhooks/")
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert "secret" not in result.stderr and sent == []


def test_a_forum_briefing_through_a_webhook_starts_its_tagged_post_through_the_webhook(tmp_path, database_url):
    with FakeDiscord() as fake:
        guild = fake.add_guild(name="Hooks", channels=["general", {"name": "forum", "type": 15, "tags": ["Daily"]}])
        forum = guild.channel("forum")
        url = fake.add_webhook(forum)
        seed(database_url, now=datetime.now(UTC), slot=datetime.now(UTC) - timedelta(hours=3))
        bot = start_bot(fake, tmp_path, database_url)
        fake.wait_until_ready(timeout=60)
        fake.wait_for_commands(timeout=60)
        saved = fake.invoke("briefing setup", {"channel": forum, "time": "07:00", "webhook": url, "tag": "Daily",
                                               "webhook_name": "Desk"}, guild_id=guild.id, permissions=MANAGE_GUILD)
        posted = fake.invoke("briefing post-now", {"channel": forum}, guild_id=guild.id, permissions=MANAGE_GUILD)
        stop_bot(fake, bot)
        posts = fake.threads(forum)
        messages = fake.channel_messages(int(posts[0]["id"])) if posts else []
        # the webhook's posts, and the interactions' followups and edits of their deferred responses
        answered = fake.requests_matching("POST", r"^/webhooks/") + fake.requests_matching("PATCH", r"^/webhooks/")
        assert check_exchanges(fake.requests) == len(answered)
    assert "set up" in saved.content and "Posted the briefing" in posted.content, posted.content
    assert len(posts) == 1 and posts[0]["applied_tags"] == [str(fake.tag_id(forum, "Daily"))]
    assert posts[0]["owner_id"] == url.split("/")[-2]  # made by the webhook, not the bot
    assert len(messages) >= 2 and all(m.get("webhook_id") and m["username"] == "Desk" for m in messages)
    assert not fake.requests_matching("POST", rf"^/channels/{forum}/threads$")


def test_post_webhook_resumes_a_run_cut_short_in_the_post_it_started(tmp_path, database_url):
    """A forum webhook's run fails after starting its post; the next run sends only the rest, into that post."""
    with FakeDiscord() as fake:
        forum, url = cron_webhook(fake, database_url, {"name": "forum", "type": 15})
        fake.set_request_delay(1.0, method="POST", path_regex=r"^/webhooks/")
        env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, "DISCORD_API_BASE": fake.api_base}
        args = [sys.executable, "-m", "bot", "post", "--webhook", url, "--thread-name", "Wire digest"]
        with subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) as first:
            fake.wait_for(lambda: fake.threads(forum), timeout=60, what="the post")
            down = fake.inject("POST", r"^/webhooks/", 503, times=None)
            _, first_errors = first.communicate(timeout=60)
        fake.clear_injections()
        fake.set_request_delay(0)
        second = post(fake, tmp_path, database_url, "--webhook", url, "--thread-name", "Wire digest")
        posts = fake.threads(forum)
        messages = fake.channel_messages(int(posts[0]["id"]))
        resumed = [r for r in fake.requests_matching("POST", r"^/webhooks/") if r.status == 200][1:]
    assert first.returncode == 1 and "run the command again to resume" in first_errors and down.hits == RETRIES
    assert second.returncode == 0, second.stderr
    assert len(posts) == 1 and len(messages) >= 2
    assert len({m["content"] for m in messages}) == len(messages)  # each part once
    assert all(r.query.get("thread_id") == posts[0]["id"] for r in resumed)


def test_post_webhook_keeps_the_filter_rules_of_its_run_and_refuses_a_bad_one_before_posting(tmp_path, database_url):
    with FakeDiscord() as fake:
        channel, url = cron_webhook(fake, database_url)

        bad = post(fake, tmp_path, database_url, "--webhook", url, "--exclude", "Powell", "--exclude-regex", "(a")
        assert bad.returncode == 1 and "RE2" in bad.stderr and "Traceback" not in bad.stderr
        assert fake.requests_matching("POST", r"^/webhooks/") == []

        posted = post(fake, tmp_path, database_url, "--webhook", url, "--topics", "immigration,economy",
                      "--exclude", "powell", "--exclude-regex", r"(?i)\bfederal reserve\b")
        assert posted.returncode == 0, posted.stderr
        [message] = fake.channel_messages(channel)
        assert "Immigration" in message["content"]
        assert "Powell" not in message["content"] and "Federal Reserve" not in message["content"]
