"""Channel briefings, personal digests, subscriptions and feeds in the real store."""

from __future__ import annotations

import pytest

from digests.delivery import Placement, placement_of
from digests.errors import InputError, NotFoundError
from digests.feed_registry import MAX_FEEDS_PER_GUILD, add_feed, check_feed_url, feeds_of, remove_feed
from digests.store import session_scope
from digests.targets import (
    BriefingPlacement,
    briefings_of,
    parse_topic_list,
    parse_webhook_url,
    personal_digest_of,
    pick_briefing,
    schedule_digest,
    setup_briefing,
    subscribe,
    subscribed_topics,
    unsubscribe,
)

GUILD, OTHER_GUILD = 1001, 2002


def setup(session, taxonomy, now, channel, **overrides):
    values = {"guild_id": GUILD, "channel_id": channel, "time_of_day": "7:05", "timezone": "europe/brussels",
              "topics": None, "days": None, "mention_role_id": None, "quiet_day_notice": None}
    return setup_briefing(session=session, taxonomy=taxonomy, now=now, **{**values, **overrides})


def test_parse_topic_list_accepts_slugs_and_names(taxonomy):
    assert parse_topic_list(taxonomy, "economy, Technology & AI,economy") == ["economy", "technology"]
    assert parse_topic_list(taxonomy, "") == [] == parse_topic_list(taxonomy, "all")
    with pytest.raises(InputError, match="“knitting” is not a topic"):
        parse_topic_list(taxonomy, "economy,knitting")


def test_setting_up_a_channel_twice_updates_it(engine, taxonomy, now):
    with session_scope(engine) as session:
        briefing, created = setup(session, taxonomy, now, 10, days="weekdays")
        assert created and briefing.time_of_day == "07:05" and briefing.timezone == "Europe/Brussels"
        again, created_again = setup(session, taxonomy, now, 10, time_of_day="18:00", topics="trade")
        assert not created_again and again.id == briefing.id
        assert (again.time_of_day, again.topic_slugs, again.days) == ("18:00", ["trade"], "daily")
        setup(session, taxonomy, now, 11)
        assert [b.channel_id for b in briefings_of(session=session, guild_id=GUILD)] == [10, 11]


def test_a_channel_of_another_guild_cannot_be_taken_over(engine, taxonomy, now):
    with session_scope(engine) as session:
        setup(session, taxonomy, now, 10)
        with pytest.raises(InputError, match="another server"):
            setup(session, taxonomy, now, 10, guild_id=OTHER_GUILD)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"time_of_day": "24:00"}, "not a time of day"), ({"timezone": "Nowhere/City"}, "IANA timezone"),
     ({"days": "funday"}, "not a schedule"), ({"topics": "knitting"}, "not a topic")],
)
def test_bad_briefing_settings_are_refused(engine, taxonomy, now, overrides, message):
    with session_scope(engine) as session:
        with pytest.raises(InputError, match=message):
            setup(session, taxonomy, now, 10, **overrides)
        assert briefings_of(session=session, guild_id=GUILD) == []


def test_pick_briefing_defaults_to_the_current_channel_then_the_only_one(engine, taxonomy, now):
    with session_scope(engine) as session:
        with pytest.raises(NotFoundError, match="no briefing yet"):
            pick_briefing(session=session, guild_id=GUILD, channel_id=None, current_channel_id=5)
        setup(session, taxonomy, now, 10)
        assert pick_briefing(session=session, guild_id=GUILD, channel_id=None, current_channel_id=5).channel_id == 10
        setup(session, taxonomy, now, 11)
        assert pick_briefing(session=session, guild_id=GUILD, channel_id=None, current_channel_id=11).channel_id == 11
        with pytest.raises(InputError, match="several briefings"):
            pick_briefing(session=session, guild_id=GUILD, channel_id=None, current_channel_id=5)
        with pytest.raises(NotFoundError, match="has no briefing"):
            pick_briefing(session=session, guild_id=OTHER_GUILD, channel_id=10, current_channel_id=None)


def test_first_subscription_schedules_a_daily_digest_at_eight(engine, taxonomy, now):
    with session_scope(engine) as session:
        topic, digest, already = subscribe(session=session, taxonomy=taxonomy, user_id=7, topic="Trade",
                                           default_timezone="Asia/Tokyo", now=now)
        assert (topic.slug, digest.time_of_day, digest.timezone, already) == ("trade", "08:00", "Asia/Tokyo", False)
        _, _, already = subscribe(session=session, taxonomy=taxonomy, user_id=7, topic="trade",
                                  default_timezone="UTC", now=now)
        assert already
        subscribe(session=session, taxonomy=taxonomy, user_id=7, topic="defense", default_timezone="UTC", now=now)
        assert [t.slug for t in subscribed_topics(session=session, taxonomy=taxonomy, user_id=7)] == [
            "defense", "trade"]
        assert personal_digest_of(session=session, user_id=7).timezone == "Asia/Tokyo"


def test_unsubscribe_one_or_all(engine, taxonomy, now):
    with session_scope(engine) as session:
        for slug in ("trade", "economy", "sports"):
            subscribe(session=session, taxonomy=taxonomy, user_id=7, topic=slug, default_timezone="UTC", now=now)
        with pytest.raises(NotFoundError, match="not subscribed"):
            unsubscribe(session=session, taxonomy=taxonomy, user_id=7, topic="culture")
        assert [t.slug for t in unsubscribe(session=session, taxonomy=taxonomy, user_id=7, topic="trade")] == ["trade"]
        removed = unsubscribe(session=session, taxonomy=taxonomy, user_id=7, topic="ALL")
        assert [t.slug for t in removed] == ["economy", "sports"]
        assert subscribed_topics(session=session, taxonomy=taxonomy, user_id=7) == []


def test_schedule_digest_validates_and_stores(engine, now):
    with session_scope(engine) as session:
        digest = schedule_digest(session=session, user_id=9, time_of_day="6:30", timezone="america/new_york", now=now)
        assert (digest.time_of_day, digest.timezone, digest.days) == ("06:30", "America/New_York", "daily")
        with pytest.raises(InputError):
            schedule_digest(session=session, user_id=9, time_of_day="noon", timezone="UTC", now=now)
        assert schedule_digest(session=session, user_id=9, time_of_day="7:00", timezone="UTC", now=now,
                               days="Monday, FRI").days == "mon,fri"
        assert schedule_digest(session=session, user_id=9, time_of_day="7:15", timezone="UTC", now=now).days == \
            "mon,fri"  # left out: kept
        with pytest.raises(InputError, match="not a schedule"):
            schedule_digest(session=session, user_id=9, time_of_day="7:00", timezone="UTC", now=now, days="someday")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("javascript:alert(1)", "http:// or https://"),
        ("https://", "http:// or https://"),
        ("http://10.0.0.8/feed", "private or local"),
        ("http://192.168.1.1/feed", "private or local"),
        ("http://[fe80::1]/feed", "private or local"),
        ("http://localhost/feed", "private or local"),
        ("https://x.org/" + "a" * 2100, "too long"),
        ("http://[::1/", "not a valid URL"),
        ("https://x.org/a\x00rss", "not a valid URL: it holds a control character"),
    ],
)
def test_feed_urls_must_be_public_http(url, message):
    with pytest.raises(InputError, match=message):
        check_feed_url(url, allow_private=False)


def test_private_feeds_can_be_allowed():
    assert check_feed_url(" http://127.0.0.1:8000/feed ", allow_private=True) == "http://127.0.0.1:8000/feed"


def test_feeds_belong_to_their_guild(engine, taxonomy, now):
    with session_scope(engine) as session:
        feed, created = add_feed(session=session, taxonomy=taxonomy, url="https://93.184.215.14/a.rss",
                                 guild_id=GUILD, topic="Trade", added_by=1, allow_private=False, now=now)
        assert created
        assert feed.topic_slug == "trade"
        with pytest.raises(InputError, match="already registered"):
            add_feed(session=session, taxonomy=taxonomy, url="https://93.184.215.14/a.rss", guild_id=GUILD,
                     topic=None, added_by=1, allow_private=False, now=now)
        add_feed(session=session, taxonomy=taxonomy, url="https://93.184.215.14/a.rss", guild_id=OTHER_GUILD,
                 topic=None, added_by=2, allow_private=False, now=now)
        assert [f.url for f in feeds_of(session=session, guild_id=GUILD)] == ["https://93.184.215.14/a.rss"]
        with pytest.raises(NotFoundError):
            remove_feed(session=session, guild_id=OTHER_GUILD, feed=str(feed.id))
        assert remove_feed(session=session, guild_id=GUILD, feed=str(feed.id)).id == feed.id
        assert feeds_of(session=session, guild_id=GUILD) == []


def test_a_guild_has_at_most_25_feeds(engine, taxonomy, now):
    with session_scope(engine) as session:
        for index in range(MAX_FEEDS_PER_GUILD):
            add_feed(session=session, taxonomy=taxonomy, url=f"https://93.184.215.14/{index}", guild_id=GUILD,
                     topic=None, added_by=1, allow_private=False, now=now)
        with pytest.raises(InputError, match="at most 25 feeds"):
            add_feed(session=session, taxonomy=taxonomy, url="https://93.184.215.14/x", guild_id=GUILD, topic=None,
                     added_by=1, allow_private=False, now=now)


TOKEN = "A" * 68


@pytest.mark.parametrize(
    "url",
    [
        f"https://discord.com/api/webhooks/123456789012345678/{TOKEN}",
        f"https://canary.discordapp.com/api/v10/webhooks/123456789012345678/{TOKEN}/",
    ],
)
def test_discord_webhook_urls_are_accepted(url):
    webhook_id, clean = parse_webhook_url(url)
    assert webhook_id == 123456789012345678 and not clean.endswith("/")


@pytest.mark.parametrize(
    "url",
    [
        f"http://discord.com/api/webhooks/123456789012345678/{TOKEN}",
        f"https://evil.example/api/webhooks/123456789012345678/{TOKEN}",
        "https://discord.com/api/webhooks/123456789012345678/short",
    ],
)
def test_other_urls_are_not_webhooks_and_the_error_hides_the_token(url):
    with pytest.raises(InputError) as error:
        parse_webhook_url(url)
    assert TOKEN not in str(error.value)


def test_a_briefing_can_switch_to_a_webhook_and_back(engine, taxonomy, now):
    url = f"https://discord.com/api/webhooks/123456789012345678/{TOKEN}"
    with session_scope(engine) as session:
        briefing, _ = setup(session, taxonomy, now, 10, webhook_url=url)
        assert briefing.webhook_url == url and TOKEN not in repr(briefing)
        briefing, _ = setup(session, taxonomy, now, 10)
        assert briefing.webhook_url == url
        briefing, _ = setup(session, taxonomy, now, 10, webhook_url="none")
        assert briefing.webhook_url is None


def test_adding_a_disabled_feed_again_turns_it_back_on(engine, taxonomy, now):
    with session_scope(engine) as session:
        feed, _ = add_feed(session=session, taxonomy=taxonomy, url="https://93.184.215.14/a.rss", guild_id=GUILD,
                           topic=None, added_by=1, allow_private=False, now=now)
        feed.enabled, feed.failures, feed.last_error = False, 10, "HTTP 500"
        again, created = add_feed(session=session, taxonomy=taxonomy, url="https://93.184.215.14/a.rss",
                                  guild_id=GUILD, topic=None, added_by=1, allow_private=False, now=now)
    assert (again.id, created, again.enabled, again.failures, again.next_poll_at) == (feed.id, False, True, 0, now)



def test_a_briefing_placement_must_fit_its_channel(engine, taxonomy, now):
    def setup_in(session, placement: BriefingPlacement, **values):
        return setup_briefing(session=session, taxonomy=taxonomy, guild_id=1, channel_id=77, time_of_day="08:00",
                              timezone="UTC", topics=None, days=None, mention_role_id=None, quiet_day_notice=None,
                              now=now, placement=placement, **values)[0]

    with session_scope(engine) as session:
        for wrong in (BriefingPlacement(kind="text", tag_id=5), BriefingPlacement(kind="forum", open_thread=True),
                      BriefingPlacement(kind="forum", tag_required=True), BriefingPlacement(kind="text", publish=True)):
            with pytest.raises(InputError):
                setup_in(session, wrong)
        forum = setup_in(session, BriefingPlacement(kind="forum", tag_id=5, tag_required=True))
        assert placement_of(forum) == Placement(forum_post=True, tag_id=5)
        kept = setup_in(session, BriefingPlacement(kind="forum", tag_required=True))  # the stored tag will do
        assert kept.forum_tag_id == 5
        announced = setup_in(session, BriefingPlacement(kind="announcement", open_thread=True, publish=True))
        assert announced.forum_tag_id is None
        assert placement_of(announced) == Placement(discussion_thread=True, publish=True)
        hooked = setup_in(session, BriefingPlacement(kind="announcement"),
                          webhook_url="https://discord.com/api/webhooks/123456789012345678/" + "t" * 68,
                          webhook_thread="<#223456789012345678>")
        assert placement_of(hooked) == Placement()  # a webhook bound to a thread posts there, nothing else
        cleared = setup_in(session, BriefingPlacement(kind="announcement"), webhook_thread="none")
        assert cleared.webhook_thread_id is None and placement_of(cleared).publish


def test_a_briefings_style_is_text_until_chosen_kept_on_update_and_checked(engine, taxonomy, now):
    with session_scope(engine) as session:
        briefing, _ = setup(session, taxonomy, now, 7)
        assert briefing.style == "text"
        assert setup(session, taxonomy, now, 7, style="RICH ")[0].style == "rich"
        assert setup(session, taxonomy, now, 7, time_of_day="9:00")[0].style == "rich"  # None keeps it
        with pytest.raises(InputError, match="text, rich"):
            setup(session, taxonomy, now, 7, style="fancy")


def test_a_personal_digests_style_needs_a_digest_and_is_kept(engine, taxonomy, now):
    from digests.targets import set_digest_style

    with session_scope(engine) as session:
        with pytest.raises(NotFoundError):
            set_digest_style(session=session, user_id=5, style="rich")
        subscribe(session=session, taxonomy=taxonomy, user_id=5, topic="trade", default_timezone="UTC", now=now)
        assert personal_digest_of(session=session, user_id=5).style == "text"
        set_digest_style(session=session, user_id=5, style="rich")
        with pytest.raises(InputError):
            set_digest_style(session=session, user_id=5, style="embed")
    with session_scope(engine) as session:
        assert personal_digest_of(session=session, user_id=5).style == "rich"
