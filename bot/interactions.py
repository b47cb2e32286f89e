"""Helpers every command uses: replying in Discord-sized parts, the manager check, autocompletes."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.embeds import discord_embeds
from bot.posting import NO_MENTIONS
from digests.message_parts import Part, content_of, embed_of
from digests.models import TargetFilter
from digests.timeutil import timezone_names

if TYPE_CHECKING:
    from bot.client import BriefbotClient

MAX_CHOICES = 25
CHOICE_NAME_MAX = 100
# The `style` option of /briefing setup and /digest style (digests.models.DIGEST_STYLES).
STYLE_CHOICES = [
    app_commands.Choice(name="text: the whole digest in markdown", value="text"),
    app_commands.Choice(name="rich: the top story as an embed, with its picture", value="rich"),
]
# The options of /briefing filter add and /digest filter add (digests.filters: ACTIONS, KINDS, FIELDS).
FILTER_ACTION_CHOICES = [
    app_commands.Choice(name="exclude: leave out the stories it matches (default)", value="exclude"),
    app_commands.Choice(name="include: keep only stories that match an include rule", value="include"),
]
FILTER_MATCH_CHOICES = [
    app_commands.Choice(name="words: a word or phrase, whole words, any case or accents (default)", value="word"),
    app_commands.Choice(name="regex: an RE2 regular expression, any case", value="regex"),
]
FILTER_FIELD_CHOICES = [
    app_commands.Choice(name="any: title, summary or source (default)", value="any"),
    app_commands.Choice(name="title", value="title"),
    app_commands.Choice(name="summary", value="summary"),
    app_commands.Choice(name="source: the outlet", value="source"),
]


class NotManager(app_commands.CheckFailure):
    """The member lacks Manage Server."""


def client_of(interaction: discord.Interaction) -> BriefbotClient:
    """The bot that received the interaction."""
    return interaction.client  # type: ignore[return-value]


# Where an interaction's deferred response was filled in (`Interaction.extras`), so it is filled only once.
_ORIGINAL_SENT = "briefbot_original_sent"


async def send_parts(interaction: discord.Interaction, parts: list[Part], *, ephemeral: bool = True) -> None:
    """Answer with each part as a message (with its embed, a rich digest's top story): the first as the
    response, the rest as followups.

    After a defer, the first part edits the deferred ("thinking") response in place (PATCH
    `@original`), as Discord documents, rather than relying on a first followup to replace it; its
    visibility was fixed by the defer.
    """
    for index, part in enumerate(parts or ["…"]):
        content = content_of(part) or None
        embeds = discord_embeds(embed_of(part))
        if index == 0 and not interaction.response.is_done():
            await interaction.response.send_message(content, embeds=embeds, ephemeral=ephemeral,
                                                    allowed_mentions=NO_MENTIONS)
        elif index == 0 and _awaits_original(interaction):
            await interaction.edit_original_response(content=content, embeds=embeds, allowed_mentions=NO_MENTIONS)
            interaction.extras[_ORIGINAL_SENT] = True
        else:
            await interaction.followup.send(content, embeds=embeds, ephemeral=ephemeral,
                                            allowed_mentions=NO_MENTIONS)


async def send_file(interaction: discord.Interaction, content: str, *, filename: str, data: bytes) -> None:
    """Answer ephemerally with one message carrying a file (multipart): the response, the deferred one or a followup."""
    file = discord.File(io.BytesIO(data), filename=filename)
    if not interaction.response.is_done():
        await interaction.response.send_message(content, file=file, ephemeral=True, allowed_mentions=NO_MENTIONS)
    elif _awaits_original(interaction):
        await interaction.edit_original_response(content=content, attachments=[file], allowed_mentions=NO_MENTIONS)
        interaction.extras[_ORIGINAL_SENT] = True
    else:
        await interaction.followup.send(content, file=file, ephemeral=True, allowed_mentions=NO_MENTIONS)


def _awaits_original(interaction: discord.Interaction) -> bool:
    """Whether the response was deferred and its message is still the "thinking" placeholder."""
    deferred = interaction.response.type == discord.InteractionResponseType.deferred_channel_message
    return deferred and not interaction.extras.get(_ORIGINAL_SENT, False)


async def reply(interaction: discord.Interaction, name: str, **context: object) -> None:
    """Answer ephemerally with the reply macro `name` of the templates."""
    await send_parts(interaction, client_of(interaction).services.renderer.reply(name, **context))


def installed_guild(interaction: discord.Interaction) -> int | None:
    """The guild the command was used in, if that guild installed the bot; else None.

    In DMs, group DMs and a server that only the user installed the app for (user install),
    there is no guild of the bot's: its feeds and stories are that guild's, not the user's. An
    interaction without `authorizing_integration_owners` (older payloads) counts as the guild's.
    """
    if interaction.guild_id is None:
        return None
    user_install_only = interaction.is_user_integration() and not interaction.is_guild_integration()
    return None if user_install_only else interaction.guild_id


def audience(interaction: discord.Interaction) -> list[int]:
    """The guilds whose own stories this answer may show: the current guild when it installed the bot, else none."""
    guild_id = installed_guild(interaction)
    return [] if guild_id is None else [guild_id]


def require_manager(interaction: discord.Interaction) -> bool:
    """Check Manage Server in code: `default_member_permissions` is only a hint Discord's clients apply."""
    if installed_guild(interaction) is None:
        raise app_commands.NoPrivateMessage()
    if not interaction.permissions.manage_guild:
        raise NotManager()
    return True


# Personal commands: in servers, in DMs with the bot and, for users who installed the app, anywhere.
EVERYWHERE = app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=True)
ANY_INSTALL = app_commands.AppInstallationType(guild=True, user=True)
# Manager commands: in the servers that installed the bot, only.
SERVERS = app_commands.AppCommandContext(guild=True, dm_channel=False, private_channel=False)
SERVER_INSTALL = app_commands.AppInstallationType(guild=True, user=False)


class ManagerGroup(app_commands.Group):
    """A server-only group for members with Manage Server.

    Server-only through `contexts` (guild) and `integration_types` (guild install), not the
    deprecated `dm_permission`. Discord hides it from others (`default_member_permissions`), but
    that is only a hint its clients apply, so `interaction_check` enforces it for every subcommand.
    """

    def __init__(self, *, name: str, description: str) -> None:
        super().__init__(name=name, description=description, allowed_contexts=SERVERS,
                         allowed_installs=SERVER_INSTALL, default_permissions=discord.Permissions(manage_guild=True))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return require_manager(interaction)


class ManagerSubgroup(app_commands.Group):
    """A group inside a ManagerGroup (`/briefing filter`, `/briefing search`): discord.py runs the check of a
    command's own group only, not its grandparent's, so this one checks Manage Server again."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return require_manager(interaction)


def filter_rule_labels(rules: list[TargetFilter]) -> dict[str, str]:
    """A target's filter rules as autocomplete offers them (to `ranked_choices`): label -> the rule's number."""
    return {f"#{rule.id} {rule.action} {rule.kind} “{rule.pattern}” in {rule.field}": str(rule.id) for rule in rules}


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
