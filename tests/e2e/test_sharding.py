"""Gateway sharding: one process connecting every shard, or processes splitting them (SHARD_COUNT / SHARD_IDS)."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import start_bot, stop_bot
from tests.e2e.fake_discord import GATEWAY_PATH, FakeDiscord, FakeGuild, GatewayConnection
from tests.e2e.seeding import seed
from tests.e2e.test_delivery import minute_floor

# A snowflake's top bits are its time; (id >> 22) % shard_count is the shard that gets its guild.
_SNOWFLAKE_TIME = 1_300_000_000_000


def guild_on_shard(fake: FakeDiscord, shard_id: int, shard_count: int, name: str) -> FakeGuild:
    """A guild whose events belong to `shard_id` of `shard_count`."""
    guild_id = ((_SNOWFLAKE_TIME // shard_count * shard_count + shard_id) << 22) | 7
    return fake.add_guild(guild_id, name=name, channels=["general", "briefings"])


def by_shard(fake: FakeDiscord) -> dict[tuple[int, int], GatewayConnection]:
    """The latest gateway connection of each shard."""
    return {connection.shard: connection for connection in fake.gateway_connections if connection.shard}


def interactions_seen(connection: GatewayConnection) -> list[int | None]:
    """The guilds of the interactions dispatched on a connection."""
    return [guild for event, guild in connection.events if event == "INTERACTION_CREATE"]


def test_one_process_connects_every_shard_discord_recommends(tmp_path):
    with FakeDiscord(shards=2) as fake:
        guilds = [guild_on_shard(fake, shard, 2, f"Shard {shard} guild") for shard in (0, 1)]
        bot = start_bot(fake, tmp_path, f"sqlite:///{tmp_path / 'briefbot.db'}")
        fake.wait_until_shards_ready([0, 1], 2, timeout=60)
        fake.wait_for_commands(timeout=60)
        answers = [fake.invoke("topics", guild_id=guild.id) for guild in guilds]
        dm_answer = fake.invoke("topics", user_id=fake.add_user(username="reader"))
        connections = by_shard(fake)
        fake.wait_for(lambda: "connected as" in bot.output(), timeout=30, what="on_ready")
        output = bot.output()
        stop_bot(fake, bot)

    assert all(answer.ephemeral and "Topics" in answer.content for answer in [*answers, dm_answer])
    assert {shard: c.guild_ids for shard, c in connections.items()} == {(0, 2): [guilds[0].id],
                                                                       (1, 2): [guilds[1].id]}
    assert interactions_seen(connections[(0, 2)]) == [guilds[0].id, None]  # DMs come on shard 0
    assert interactions_seen(connections[(1, 2)]) == [guilds[1].id]
    assert "on shard(s) [0, 1] of 2" in output
    # The shard count came from GET /gateway/bot, the gateway from DISCORD_GATEWAY_URL, not its answer.
    assert {c.path for c in fake.gateway_connections} == {GATEWAY_PATH}


def test_processes_split_the_shards_and_deliver_whatever_their_shards(tmp_path, postgres_url):
    with FakeDiscord(shards=2) as fake:
        guilds = [guild_on_shard(fake, shard, 2, f"Shard {shard} guild") for shard in (0, 1)]
        now = datetime.now(UTC)
        # A briefing in shard 1's guild, due now: only the shard-0 process runs when it is due.
        briefings = guilds[1].channel("briefings")
        seed(postgres_url, now=now, slot=minute_floor(now - timedelta(minutes=2)),
             channels=[(guilds[1].id, briefings)])
        shard_0 = start_bot(fake, tmp_path, postgres_url, SHARD_COUNT="2", SHARD_IDS="0")
        fake.wait_until_shards_ready([0], 2, timeout=60)
        fake.wait_for_messages(briefings, count=1, timeout=60)
        shard_1 = start_bot(fake, tmp_path, postgres_url, SHARD_COUNT="2", SHARD_IDS="1")
        fake.wait_until_shards_ready([0, 1], 2, timeout=60)
        answers = [fake.invoke("topics", guild_id=guild.id) for guild in guilds]

        stop_bot(fake, shard_1, signal.SIGKILL)
        fake.wait_for(lambda: by_shard(fake)[(1, 2)].closed, timeout=10, what="shard 1's connection closed")
        with pytest.raises(TimeoutError):  # shard 1's guild has nobody listening any more
            fake.invoke("topics", guild_id=guilds[1].id, timeout=3)
        still = fake.invoke("topics", guild_id=guilds[0].id)
        connections = by_shard(fake)
        output = shard_0.output()
        stop_bot(fake, shard_0)

    assert [c.identify["shard"] for c in connections.values()] == [[0, 2], [1, 2]]
    assert {shard: c.guild_ids for shard, c in connections.items()} == {(0, 2): [guilds[0].id],
                                                                       (1, 2): [guilds[1].id]}
    assert all(answer.ephemeral and "Topics" in answer.content for answer in [*answers, still])
    assert interactions_seen(connections[(0, 2)]) == [guilds[0].id, guilds[0].id]
    assert interactions_seen(connections[(1, 2)]) == [guilds[1].id]  # the second waits for shard 1 to resume
    assert connections[(1, 2)].closed
    assert "Daily briefing" in fake.channel_messages(briefings)[0]["content"]
    assert "Traceback" not in output
