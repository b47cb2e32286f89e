"""Putting targets and stories straight into a bot's database before it starts, as days of use would."""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib import resources

from sqlmodel import select

from digests.ingest.briefing_text import parse_briefing_text
from digests.models import ChannelBriefing, PersonalDigest
from digests.store import add_stories, open_store, session_scope
from digests.targets import personal_digest_of, setup_briefing, subscribe
from digests.topics import load_taxonomy

SAMPLE = (resources.files("digests") / "data" / "sample-briefing.txt").read_text(encoding="utf-8")


def seed(
    database_url: str,
    *,
    now: datetime,
    slot: datetime,
    channels: list[tuple[int, int]] = (),
    users: list[int] = (),
    topic: str = "immigration",
) -> None:
    """Stories from the sample, briefings for (guild, channel) and digests for users, all due at `slot` (UTC).

    Targets are created a day before `now`, so `slot` is a real slot of theirs, never delivered yet.
    """
    taxonomy = load_taxonomy()
    engine = open_store(database_url, taxonomy)
    created = now - timedelta(days=1)
    time_of_day = slot.strftime("%H:%M")
    with session_scope(engine) as session:
        add_stories(session=session, drafts=parse_briefing_text(SAMPLE, source="Sample"), taxonomy=taxonomy,
                    now=now - timedelta(hours=1))
        for guild_id, channel_id in channels:
            setup_briefing(session=session, taxonomy=taxonomy, guild_id=guild_id, channel_id=channel_id,
                           time_of_day=time_of_day, timezone="UTC", topics=None, days=None, mention_role_id=None,
                           quiet_day_notice=None, now=created)
        for user_id in users:
            subscribe(session=session, taxonomy=taxonomy, user_id=user_id, topic=topic, default_timezone="UTC",
                      now=created)
            personal_digest_of(session=session, user_id=user_id).time_of_day = time_of_day
    engine.dispose()


def target_states(database_url: str) -> dict[str, list[tuple]]:
    """(id, paused, pause_reason, last_delivered_at) of every target, for assertions."""
    engine = open_store(database_url, load_taxonomy())
    with session_scope(engine) as session:
        briefings = [(b.channel_id, b.paused, b.pause_reason, b.last_delivered_at)
                     for b in session.exec(select(ChannelBriefing))]
        digests = [(d.user_id, d.paused, d.pause_reason, d.last_delivered_at)
                   for d in session.exec(select(PersonalDigest))]
    engine.dispose()
    return {"channel": briefings, "user": digests}
