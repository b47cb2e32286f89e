"""One target model (migration 0017): every kind's schedule, pause and watermark in `target`, data kept on upgrade."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from digests.archive import find_entry
from digests.delivery import claim
from digests.guilds import forget_guild
from digests.models import ChannelBriefing, Delivery, PersonalDigest, Target, WebhookDigest
from digests.store import create_engine, open_store, session_scope, upgrade_database
from digests.targets import (
    personal_digest_of,
    remove_briefing,
    setup_briefing,
    subscribe,
    subscribed_topics,
    upsert_webhook_digest,
)
from tests.conftest import NOW

# The migration under test, and the revision before it.
ONE_TARGET, BEFORE = "0017", "0016"
SLOT = NOW - timedelta(hours=1)
WATERMARK = NOW - timedelta(days=1)
WEBHOOK_URL = "https://discord.com/api/webhooks/123456789012345678/" + "t" * 68


def _insert(conn: sa.Connection, table: str, **values: object) -> None:
    conn.execute(sa.Table(table, sa.MetaData(), autoload_with=conn).insert().values(**values))


def _store_before(database_url: str) -> None:
    """A store at the revision before 0017: two briefings (one archived, with its delivery), two personal digests
    and a webhook digest."""
    engine = create_engine(database_url)
    upgrade_database(engine, BEFORE)
    briefing = {"guild_id": 10, "time_of_day": "08:00", "timezone": "Europe/Brussels", "quiet_day_notice": False,
                "paused": False, "created_at": NOW - timedelta(days=30)}
    with engine.begin() as conn:
        _insert(conn, "channel_briefing", id=3, channel_id=30, topics="economy,trade", days="mon", mention_role_id=77,
                last_delivered_at=WATERMARK, archive=True, archive_token="a" * 22, channel_kind="forum",
                forum_tag_id=55, style="rich", **briefing)
        _insert(conn, "channel_briefing", id=7, channel_id=70, topics="", days="weekdays", webhook_url=WEBHOOK_URL,
                webhook_username="Desk", **{**briefing, "paused": True}, pause_reason="Missing Access")
        _insert(conn, "personal_digest", user_id=900, time_of_day="07:30", timezone="Asia/Tokyo", paused=False,
                created_at=NOW - timedelta(days=9), last_delivered_at=WATERMARK, dm_channel_id=4242, style="rich")
        _insert(conn, "personal_digest", user_id=500, time_of_day="18:00", timezone="UTC", paused=True,
                pause_reason="DMs closed", created_at=NOW - timedelta(days=2))
        for position, slug in enumerate(("economy", "science-health", "sports", "trade")):
            _insert(conn, "topic", slug=slug, name=slug, emoji="", position=position)
        for user_id, slug in ((900, "economy"), (900, "science-health"), (500, "sports")):
            _insert(conn, "subscription", user_id=user_id, topic_slug=slug, created_at=NOW - timedelta(days=2))
        _insert(conn, "webhook_digest", id=1, webhook_id=123456789012345678, webhook_url=WEBHOOK_URL,
                topics="science", timezone="America/New_York", paused=False, created_at=NOW - timedelta(days=5),
                last_delivered_at=WATERMARK, username="Wire", thread_name="Digest")
        _insert(conn, "delivery", id=1, target_kind="channel", target_id=30, slot_at=SLOT, status="done",
                parts=json.dumps(["part one"]), claimed_at=SLOT, finished_at=SLOT)
        _insert(conn, "delivery_part", delivery_id=1, part_index=0, message_id=31, sent_at=SLOT)
        _insert(conn, "archive_entry", id=1, briefing_id=3, delivery_id=1, key="2026-11-28-0700", slot_at=SLOT,
                timezone="Europe/Brussels", content=json.dumps({"v": 1, "top": None, "sections": [], "more": 0}))
    engine.dispose()


def _every_target(session) -> dict:
    """Every target as plain values by its kind's natural key (not its id), for comparing a store before and after."""
    rows = [*session.exec(select(ChannelBriefing)), *session.exec(select(PersonalDigest)),
            *session.exec(select(WebhookDigest))]
    natural = {ChannelBriefing: "channel_id", PersonalDigest: "user_id", WebhookDigest: "webhook_id"}
    return {(type(row).__name__, getattr(row, natural[type(row)])):
            {name: value for name, value in {**row.model_dump(), **row.target.model_dump()}.items() if name != "id"}
            for row in rows}


def test_upgrading_moves_every_kind_into_one_target_with_nothing_lost(database_url, taxonomy, renderer):
    _store_before(database_url)
    engine = open_store(database_url, taxonomy)
    try:
        with session_scope(engine) as session:
            kinds = dict(session.execute(sa.select(Target.id, Target.kind)).all())
            assert sorted(kinds.values()) == ["channel", "channel", "user", "user", "webhook"]

            archived = session.get(ChannelBriefing, 3)  # a briefing keeps its id: its archive stays its own
            assert kinds[3] == "channel" and archived.target.id == 3
            assert (archived.channel_id, archived.guild_id, archived.time_of_day, archived.timezone, archived.days,
                    archived.topic_slugs, archived.paused, archived.created_at, archived.last_delivered_at) == (
                30, 10, "08:00", "Europe/Brussels", "mon", ["economy", "trade"], False, NOW - timedelta(days=30),
                WATERMARK)
            assert (archived.mention_role_id, archived.archive, archived.archive_token, archived.channel_kind,
                    archived.forum_tag_id, archived.style) == (77, True, "a" * 22, "forum", 55, "rich")
            paused = session.get(ChannelBriefing, 7)
            assert (paused.paused, paused.pause_reason, paused.webhook_url, paused.webhook_username, paused.days,
                    paused.last_delivered_at, paused.style) == (
                True, "Missing Access", WEBHOOK_URL, "Desk", "weekdays", None, "text")

            reader = personal_digest_of(session=session, user_id=900)
            assert (reader.time_of_day, reader.timezone, reader.days, reader.topics, reader.paused,
                    reader.created_at, reader.last_delivered_at, reader.dm_channel_id, reader.style) == (
                "07:30", "Asia/Tokyo", "daily", "", False, NOW - timedelta(days=9), WATERMARK, 4242, "rich")
            assert [t.slug for t in subscribed_topics(session=session, taxonomy=taxonomy, user_id=900)] == [
                "economy", "science-health"]
            closed = personal_digest_of(session=session, user_id=500)
            assert (closed.paused, closed.pause_reason, closed.last_delivered_at, closed.style) == (
                True, "DMs closed", None, "text")
            assert {kinds[reader.id], kinds[closed.id]} == {"user"} and reader.id != closed.id

            webhook = session.exec(select(WebhookDigest)).one()
            assert kinds[webhook.id] == "webhook" and webhook.id not in (3, 7)
            assert (webhook.webhook_id, webhook.webhook_url, webhook.topics, webhook.timezone, webhook.time_of_day,
                    webhook.last_delivered_at, webhook.username, webhook.thread_name, webhook.style) == (
                123456789012345678, WEBHOOK_URL, "science", "America/New_York", None, WATERMARK, "Wire", "Digest",
                "text")

            entry = find_entry(session=session, briefing_id=3, key="2026-11-28-0700")
            assert entry is not None and entry.slot_at == SLOT

            # The slot delivered before the upgrade is not delivered again: the claim finds it.
            again = claim(session=session, taxonomy=taxonomy, renderer=renderer, target=archived, slot_at=SLOT,
                          now=NOW)
            assert (again.delivery.id, again.created, again.sent) == (1, False, {0: 31})
            assert session.exec(select(sa.func.count()).select_from(Delivery)).one() == 1

        with session_scope(engine) as session:  # new targets get ids after the moved ones, on both stores
            briefing, _ = setup_briefing(session=session, taxonomy=taxonomy, guild_id=10, channel_id=80,
                                         time_of_day="09:00", timezone="UTC", topics=None, days=None,
                                         mention_role_id=None, quiet_day_notice=None, now=NOW)
            _, digest, _ = subscribe(session=session, taxonomy=taxonomy, user_id=600, topic="sports",
                                     default_timezone="UTC", now=NOW)
            assert min(briefing.id, digest.id) > max(kinds)
            assert {briefing.target.kind, digest.target.kind} == {"channel", "user"}
    finally:
        engine.dispose()


def test_downgrading_and_upgrading_again_keeps_every_target(database_url, taxonomy):
    _store_before(database_url)
    engine = open_store(database_url, taxonomy)
    try:
        with session_scope(engine) as session:
            before = _every_target(session)
        upgrade_database(engine, ONE_TARGET)
        from alembic import command

        from digests.store import alembic_config

        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, BEFORE)
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("personal_digest")}
            assert {"user_id", "time_of_day", "last_delivered_at", "dm_channel_id"} <= columns
            assert conn.execute(sa.text("SELECT COUNT(*) FROM archive_entry WHERE briefing_id = 3")).scalar_one() == 1
            assert not sa.inspect(conn).has_table("target")
        upgrade_database(engine)
        with session_scope(engine) as session:
            after = _every_target(session)
            entry = find_entry(session=session, briefing_id=3, key="2026-11-28-0700")
        assert after == before and len(after) == 5
        assert entry is not None
    finally:
        engine.dispose()


@pytest.mark.parametrize("how", ["remove", "forget guild"])
def test_removing_a_briefing_removes_its_target(engine, taxonomy, now, how):
    with session_scope(engine) as session:
        briefing, _ = setup_briefing(session=session, taxonomy=taxonomy, guild_id=1, channel_id=2,
                                     time_of_day="08:00", timezone="UTC", topics=None, days=None,
                                     mention_role_id=None, quiet_day_notice=None, now=now)
        kept, _ = setup_briefing(session=session, taxonomy=taxonomy, guild_id=5, channel_id=6, time_of_day="08:00",
                                 timezone="UTC", topics=None, days=None, mention_role_id=None,
                                 quiet_day_notice=None, now=now)
        upsert_webhook_digest(session=session, taxonomy=taxonomy, url=WEBHOOK_URL, topics=None, timezone="UTC",
                              now=now)
    with session_scope(engine) as session:
        if how == "remove":
            remove_briefing(session=session, briefing=session.get(ChannelBriefing, briefing.id))
        else:
            forget_guild(session=session, guild_id=1)
    with session_scope(engine) as session:
        assert sorted(session.exec(select(Target.kind))) == ["channel", "webhook"]
        assert session.exec(select(ChannelBriefing.id)).all() == [kept.id]
