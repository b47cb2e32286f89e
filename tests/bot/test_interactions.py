"""Which guild an interaction speaks for: the one that installed the bot, never a user install's server."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.interactions import audience, installed_guild


def interaction(guild_id, owners: dict[int, int]) -> SimpleNamespace:
    """The three things `installed_guild` reads of a `discord.Interaction`, as discord.py derives them from
    `guild_id` and `authorizing_integration_owners`."""
    user_id = 42
    return SimpleNamespace(
        guild_id=guild_id,
        is_guild_integration=lambda: guild_id is not None and owners.get(0) == guild_id,
        is_user_integration=lambda: owners.get(1) == user_id,
    )


@pytest.mark.parametrize(
    ("guild_id", "owners", "expected"),
    [
        (7, {0: 7}, 7),  # a server that installed the bot
        (7, {0: 7, 1: 42}, 7),  # installed by both the server and the user
        (7, {1: 42}, None),  # the user's own install, used in a server that did not install the bot
        (None, {0: 0}, None),  # the bot's DM
        (None, {1: 42}, None),  # a group DM, through the user's install
        (7, {}, 7),  # a payload without authorizing_integration_owners: the guild's, as before
    ],
)
def test_only_a_server_that_installed_the_bot_shows_its_own_stories(guild_id, owners, expected):
    found = interaction(guild_id, owners)
    assert installed_guild(found) == expected
    assert audience(found) == ([] if expected is None else [expected])
