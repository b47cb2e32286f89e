"""DiscordPublisher's DM channels, against a stand-in for discord.py's client (the edge of the world)."""

from __future__ import annotations

from types import SimpleNamespace

import discord

from bot.pacing import Pacer
from bot.posting import DiscordPublisher
from digests.delivery import Destination

STALE, OPENED, USER = 111, 222, 7


class Client:
    """Just the calls DiscordPublisher makes: open a DM, and a channel to send into."""

    def __init__(self, known_channels: set[int]) -> None:
        self.known_channels = known_channels
        self.requests: list[str] = []

    async def create_dm(self, user: discord.abc.Snowflake) -> SimpleNamespace:
        self.requests.append(f"open DM {user.id}")
        self.known_channels.add(OPENED)
        return SimpleNamespace(id=OPENED)

    def get_partial_messageable(self, channel_id: int, *, type: discord.ChannelType | None = None):
        return Channel(self, channel_id)


class Channel:
    def __init__(self, client: Client, channel_id: int) -> None:
        self.client, self.id = client, channel_id

    async def send(self, content: str, **_options) -> SimpleNamespace:
        self.client.requests.append(f"send {self.id}")
        if self.id not in self.client.known_channels:
            raise discord.NotFound(SimpleNamespace(status=404, reason="Not Found"),
                                   {"code": 10003, "message": "Unknown Channel"})
        return SimpleNamespace(id=len(self.client.requests))


async def test_a_stale_stored_dm_channel_is_replaced_once_for_every_part_of_the_digest():
    client = Client(known_channels=set())
    stored: list[tuple[int, int | None]] = []

    async def remember(user_id: int, channel_id: int | None) -> None:
        stored.append((user_id, channel_id))

    publisher = DiscordPublisher(client, Pacer(), on_dm_channel=remember)
    destination = Destination("user", USER, dm_channel_id=STALE)  # as stored, for every part
    for index in range(3):
        await publisher.send(destination, f"part {index}", nonce=f"n{index}", mention_role_id=None)
    assert client.requests == [f"send {STALE}", f"open DM {USER}", f"send {OPENED}", f"send {OPENED}",
                               f"send {OPENED}"]
    assert stored == [(USER, None), (USER, OPENED)]


async def test_a_stored_dm_channel_costs_no_request_to_open():
    client = Client(known_channels={OPENED})
    publisher = DiscordPublisher(client, Pacer())
    await publisher.send(Destination("user", USER, dm_channel_id=OPENED), "hello", nonce="n", mention_role_id=None)
    assert client.requests == [f"send {OPENED}"]
