"""The HTTP side door of the real bot process: /healthz through a gateway outage, /metrics of a fan-out,
the allow-list, and a slot held up by Discord errors."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import free_port, start_bot, stop_bot
from tests.e2e.fake_discord import ClientProcess, FakeDiscord
from tests.e2e.seeding import seed
from tests.e2e.test_delivery import minute_floor


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord() as fake:
        yield fake


class SideDoor:
    """Requests to one bot's HTTP side door."""

    def __init__(self, port: int) -> None:
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10, trust_env=False)

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def health(self) -> tuple[int, dict]:
        response = self.get("/healthz")
        return response.status_code, response.json()

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample: (name, sorted labels) -> value."""
        response = self.get("/metrics")
        response.raise_for_status()
        return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
                for family in text_string_to_metric_families(response.text) for sample in family.samples}


def start_with_side_door(fake: FakeDiscord, workdir: Path, database_url: str, **settings: str
                         ) -> tuple[ClientProcess, SideDoor]:
    port = free_port()
    bot = start_bot(fake, workdir, database_url, HTTP_PORT=str(port), **settings)
    door = SideDoor(port)
    fake.wait_for(lambda: _answers(door), timeout=60, what="the HTTP side door")
    return bot, door


def _answers(door: SideDoor) -> bool:
    try:
        door.get("/healthz")
    except httpx.TransportError:
        return False
    return True


def wait_for_health(fake: FakeDiscord, door: SideDoor, status: int, *, failed: list[str] | None = None,
                    timeout: float = 60) -> dict:
    """Poll /healthz until it answers `status` (with exactly the `failed` checks, if given); returns that body."""
    seen: list[tuple[int, dict]] = []

    def reached() -> bool:
        seen.append(door.health())
        return seen[-1][0] == status and (failed is None or seen[-1][1]["failed"] == failed)

    fake.wait_for(reached, timeout=timeout, what=f"/healthz {status} (last: {seen[-1] if seen else None})")
    return seen[-1][1]


def test_healthz_turns_unhealthy_when_the_gateway_drops_and_healthy_after_the_resume(fake, tmp_path, database_url):
    guild = fake.add_guild(name="Desk", channels=["news"])
    bot, door = start_with_side_door(fake, tmp_path, database_url)
    fake.wait_until_ready(timeout=60)
    healthy = wait_for_health(fake, door, 200)
    assert healthy["status"] == "ok" and healthy["failed"] == []
    assert set(healthy["checks"]) == {"gateway", "scheduler", "database", "slot_lag"}
    assert healthy["checks"]["gateway"] == {"ok": True, "shards_connected": [0], "shards_expected": [0]}
    fake.wait_for_commands(timeout=60)
    fake.invoke("topics", guild_id=guild.id)
    fake.invoke("briefing show", guild_id=guild.id, permissions=0)  # not a manager: refused, with a reply
    timed = {(("command", "topics"), ("outcome", "ok")), (("command", "briefing show"), ("outcome", "refused"))}

    def commands_timed() -> dict:
        return {labels: value for (name, labels), value in door.metrics().items()
                if name == "briefbot_command_duration_seconds_count"}

    # The bot times a command once its last reply is out, a moment after Discord has it.
    fake.wait_for(lambda: set(commands_timed()) == timed, timeout=10, what="both commands timed")
    assert set(commands_timed().values()) == {1}
    assert door.metrics()[("briefbot_gateway_shards_connected", ())] == 1

    connections = len(fake.gateway_connections)
    fake.drop_gateway()
    down = wait_for_health(fake, door, 503)
    assert down["status"] == "unhealthy" and down["failed"] == ["gateway"]  # and nothing else
    assert down["checks"]["gateway"]["shards_connected"] == []
    assert all(down["checks"][name]["ok"] for name in ("scheduler", "database", "slot_lag"))
    assert door.metrics()[("briefbot_gateway_shards_connected", ())] == 0
    fake.wait_for(lambda: len(fake.gateway_connections) > connections and 6 in fake.gateway_connections[-1].ops,
                  timeout=30, what="the bot's RESUME")
    held = fake.gateway_connections[-1]
    assert door.health()[0] == 503  # still down while the gateway holds the RESUME

    fake.restore_gateway()
    back = wait_for_health(fake, door, 200)
    stop_bot(fake, bot)
    assert back["checks"]["gateway"]["shards_connected"] == [0]
    assert held.resumed and 2 not in held.ops  # the same session resumed, no new IDENTIFY
    assert "gateway shard 0 resumed" in bot.output()


def test_metrics_count_every_part_of_a_fan_out_exactly(fake, tmp_path, database_url):
    guild = fake.add_guild(name="Desk", channels=[f"news-{n}" for n in range(3)])
    channels = [guild.channel(f"news-{n}") for n in range(3)]
    users = [fake.add_user(username=f"reader{n}") for n in range(5)]
    now = datetime.now(UTC)
    seed(database_url, now=now, slot=minute_floor(now - timedelta(minutes=2)),
         channels=[(guild.id, channel) for channel in channels], users=users)
    errors = fake.inject("POST", r"^/channels/\d+/messages$", 502, times=2)  # retried by discord.py
    limited = fake.inject("POST", r"^/channels/\d+/messages$", 429, times=1, retry_after=0.2)
    bot, door = start_with_side_door(fake, tmp_path, database_url)
    fake.wait_for(lambda: all(len(fake.channel_messages(c)) >= 2 for c in channels)
                  and all(fake.dm_messages(u) for u in users), timeout=120, what="every digest")

    def done(kind: str) -> float:
        return door.metrics()[("briefbot_deliveries_total", (("kind", kind), ("outcome", "done")))]

    # Discord has the last part a moment before the bot has recorded it.
    fake.wait_for(lambda: done("user") == len(users) and done("channel") == len(channels), timeout=30,
                  what="the deliveries counted")
    metrics = door.metrics()
    stop_bot(fake, bot)

    per_channel = {len(fake.channel_messages(c)) for c in channels}
    per_user = {len(fake.dm_messages(u)) for u in users}
    assert len(per_channel) == 1 and len(per_user) == 1  # every target of a kind got the same digest
    channel_parts, user_parts = per_channel.pop(), per_user.pop()
    assert channel_parts == 2  # the sample briefing is two messages
    assert metrics[("briefbot_message_parts_sent_total", (("kind", "channel"),))] == len(channels) * channel_parts
    assert metrics[("briefbot_message_parts_sent_total", (("kind", "user"),))] == len(users) * user_parts
    assert metrics[("briefbot_deliveries_total", (("kind", "user"), ("outcome", "failed")))] == 0
    assert errors.hits == 2 and limited.hits == 1
    assert metrics[("briefbot_discord_server_errors_total", (("status", "502"),))] == 2
    assert sum(value for (name, _), value in metrics.items() if name == "briefbot_discord_rate_limited_total") == 1
    assert metrics[("briefbot_delivery_queue_depth", ())] == 0
    assert metrics[("briefbot_oldest_due_slot_lag_seconds", ())] == 0


def test_metrics_are_refused_outside_the_allow_list_and_healthz_is_not(fake, tmp_path):
    fake.add_guild(name="Desk", channels=["news"])
    database_url = f"sqlite:///{tmp_path / 'briefbot.db'}"
    bot, door = start_with_side_door(fake, tmp_path, database_url, METRICS_ALLOWED_NETWORKS="10.0.0.0/8")
    refused = door.get("/metrics")
    wait_for_health(fake, door, 200)
    stop_bot(fake, bot)
    assert refused.status_code == 403
    assert "briefbot_" not in refused.text
    assert "refused /metrics to 127.0.0.1" in bot.output()


def test_a_slot_held_up_by_discord_errors_makes_healthz_unhealthy_until_it_is_delivered(fake, tmp_path):
    """Discord answers 503 to every message: the bot runs but does not post, which is what /healthz is for."""
    guild = fake.add_guild(name="Desk", channels=["news"])
    channel = guild.channel("news")
    database_url = f"sqlite:///{tmp_path / 'briefbot.db'}"
    now = datetime.now(UTC)
    seed(database_url, now=now, slot=minute_floor(now - timedelta(minutes=3)), channels=[(guild.id, channel)])
    outage = fake.inject("POST", r"^/channels/\d+/messages$", 503, times=None)
    bot, door = start_with_side_door(fake, tmp_path, database_url, HEALTH_MAX_SLOT_LAG_MINUTES="1",
                                     DELIVERY_LEASE_SECONDS="6")
    stuck = wait_for_health(fake, door, 503, failed=["slot_lag"])  # the gateway is up, the briefing is not
    assert stuck["checks"]["slot_lag"]["lag_seconds"] > 60
    assert stuck["checks"]["slot_lag"]["max_lag_seconds"] == 60
    fake.wait_for(lambda: outage.hits >= 2, timeout=60, what="Discord's 503s")
    fake.clear_injections()
    fake.wait_for(lambda: len(fake.channel_messages(channel)) == 2, timeout=120, what="the briefing")
    back = wait_for_health(fake, door, 200)
    metrics = door.metrics()
    stop_bot(fake, bot)
    assert back["checks"]["slot_lag"] == {"ok": True, "oldest_due_slot": None, "lag_seconds": 0.0,
                                          "max_lag_seconds": 60}
    assert metrics[("briefbot_discord_server_errors_total", (("status", "503"),))] == outage.hits
    assert metrics[("briefbot_deliveries_total", (("kind", "channel"), ("outcome", "done")))] == 1


def test_a_taken_port_stops_the_start_with_one_line(fake, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bot = start_bot(fake, tmp_path, f"sqlite:///{tmp_path / 'briefbot.db'}", HTTP_PORT=str(port))
        status = bot.wait(timeout=120)
    output = bot.output()
    fake.unwatch(bot)
    assert status == 1  # a busy port may clear by itself: a supervisor is right to restart (briefbot doctor)
    assert "already in use by another program" in output and "briefbot: error:" in output
    assert "Traceback" not in output
    assert fake.gateway_connections == []  # it stopped before connecting to Discord
