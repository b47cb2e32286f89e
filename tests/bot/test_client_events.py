"""The client's membership events forget what a guild or a member left behind (review L7)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.client import BriefbotClient
from digests.rendering import Renderer
from digests.services import Services
from digests.settings import Settings
from digests.store import member_guilds, remember_member, session_scope
from digests.targets import briefings_of, setup_briefing


class FakeClient:
    """The parts of BriefbotClient the handlers use, on a real store."""

    def __init__(self, engine):
        self.engine = engine
        self._members = {(5, 111), (5, 222), (6, 111)}
        self.rescheduled: list[tuple[str, int]] = []

    async def db(self, work):
        with session_scope(self.engine) as session:
            return work(session)

    async def reschedule(self, kind, key):
        self.rescheduled.append((kind, key))


def _seed(engine, taxonomy, now):
    with session_scope(engine) as session:
        briefing, _ = setup_briefing(session=session, taxonomy=taxonomy, guild_id=111, channel_id=1110,
                                     time_of_day="08:00", timezone="UTC", topics=None, days=None,
                                     mention_role_id=None, quiet_day_notice=None, now=now)
        for user_id, guild_id in ((5, 111), (5, 222), (6, 111)):
            remember_member(session=session, user_id=user_id, guild_id=guild_id)
    return briefing.id


async def test_leaving_a_guild_forgets_it_and_unschedules_its_briefings(engine, taxonomy, now):
    briefing_id = _seed(engine, taxonomy, now)
    client = FakeClient(engine)
    await BriefbotClient.on_guild_remove(client, SimpleNamespace(id=111))
    assert client.rescheduled == [("channel", briefing_id)]
    assert client._members == {(5, 222)}
    with session_scope(engine) as session:
        assert briefings_of(session=session, guild_id=111) == []
        assert member_guilds(session=session, user_id=5) == [222]
        assert member_guilds(session=session, user_id=6) == []


async def test_a_member_leaving_is_forgotten_there_only(engine, taxonomy, now):
    _seed(engine, taxonomy, now)
    client = FakeClient(engine)
    await BriefbotClient.on_raw_member_remove(client, SimpleNamespace(user=SimpleNamespace(id=5), guild_id=111))
    assert client._members == {(5, 222), (6, 111)}
    with session_scope(engine) as session:
        assert member_guilds(session=session, user_id=5) == [222]
        assert member_guilds(session=session, user_id=6) == [111]


@pytest.mark.parametrize(("setting", "members"), [({}, False), ({"DISCORD_MEMBERS_INTENT": "true"}, True)])
def test_the_members_intent_is_asked_for_only_when_configured(setting, members, taxonomy, tmp_path):
    settings = Settings.from_mapping({"DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}", **setting})
    services = Services(settings=settings, taxonomy=taxonomy, renderer=Renderer())
    client = BriefbotClient(services)
    try:
        assert (client.intents.members, client.intents.guilds) == (members, True)
    finally:
        services.close()
