"""Helpers every command uses: replying in Discord-sized parts, the manager check, autocompletes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.posting import NO_MENTIONS
from digests.timeutil import timezone_names

if TYPE_CHECKING:
    from bot.client import BriefbotClient

MAX_CHOICES = 25
CHOICE_NAME_MAX = 100


class NotManager(app_commands.CheckFailure):
    """The member lacks Manage Server."""


def client_of(interaction: discord.Interaction) -> BriefbotClient:
    """The bot that received the interaction."""
    return interaction.client  # type: ignore[return-value]


async def send_parts(interaction: discord.Interaction, parts: list[str], *, ephemeral: bool = True) -> None:
    """Answer with each part as a message: the first as the response (or the deferred one), the rest as followups."""
    for index, content in enumerate(parts or ["…"]):
        if index == 0 and not interaction.response.is_done():
            await interaction.response.send_message(content, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.followup.send(content, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS)


async def reply(interaction: discord.Interaction, name: str, **context: object) -> None:
    """Answer ephemerally with the reply macro `name` of the templates."""
    await send_parts(interaction, client_of(interaction).services.renderer.reply(name, **context))


def audience(interaction: discord.Interaction) -> list[int]:
    """The guilds whose own stories this answer may show: the current guild, none in DMs."""
    return [interaction.guild_id] if interaction.guild_id is not None else []


def require_manager(interaction: discord.Interaction) -> bool:
    """Check Manage Server in code: `default_member_permissions` is only a hint Discord's clients apply."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    if not interaction.permissions.manage_guild:
        raise NotManager()
    return True


class ManagerGroup(app_commands.Group):
    """A server-only group for members with Manage Server.

    Discord hides it from others (`default_member_permissions`), but that is only a hint its
    clients apply, so `interaction_check` enforces it for every subcommand.
    """

    def __init__(self, *, name: str, description: str) -> None:
        super().__init__(name=name, description=description, guild_only=True,
                         default_permissions=discord.Permissions(manage_guild=True))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return require_manager(interaction)


def choice(name: str, value: str) -> app_commands.Choice[str]:
    """A choice whose name fits Discord's 100 characters."""
    return app_commands.Choice(name=name if len(name) <= CHOICE_NAME_MAX else name[: CHOICE_NAME_MAX - 1] + "…",
                               value=value[:CHOICE_NAME_MAX])


def rank_matches(current: str, names: list[str]) -> list[str]:
    """Names starting with `current` first, then containing it (case-insensitive), at most 25."""
    needle = current.strip().lower()
    starts = [name for name in names if name.lower().startswith(needle)]
    contains = [name for name in names if needle in name.lower() and name not in starts]
    return (starts + contains)[:MAX_CHOICES]


def ranked_choices(current: str, labels: dict[str, str]) -> list[app_commands.Choice[str]]:
    """Choices (shown label → value) whose label matches what was typed, best matches first."""
    return [choice(label, labels[label]) for label in rank_matches(current, list(labels))]


async def topic_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Topics whose slug or name match what was typed; if none, offer the text as a search."""
    taxonomy = client_of(interaction).services.taxonomy
    labels = {f"{topic.emoji} {topic.name} ({topic.slug})".strip(): topic.slug for topic in taxonomy}
    matches = ranked_choices(current, labels)
    if current.strip() and not matches:
        matches.append(choice(f"Search stories for “{current.strip()}”", current.strip()))
    return matches[:MAX_CHOICES]


async def timezone_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """IANA zones matching what was typed (prefix first, then substring)."""
    return [choice(name, name) for name in rank_matches(current.replace(" ", "_"), timezone_names())]
