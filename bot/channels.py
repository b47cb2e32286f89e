"""What kind of channel a briefing is set up in, its forum tags, and what the bot and the member may do there.

`/briefing setup` checks these before saving anything, so a briefing never starts out unable to post:
the bot's permissions come from the gateway's cache of the guild (roles and channel overwrites), the
member's from the permissions Discord computed for them and sent with the interaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from digests.errors import InputError
from digests.targets import FORUM_KINDS
from digests.webhook_identity import CLEAR

BriefingChannel = discord.TextChannel | discord.ForumChannel
_KINDS = {
    discord.ChannelType.text: "text",
    discord.ChannelType.news: "announcement",
    discord.ChannelType.forum: "forum",
    discord.ChannelType.media: "media",
}
# How Discord's client names each permission, for the refusal to show.
_NAMES = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages (Create Posts in a forum)",
    "send_messages_in_threads": "Send Messages in Threads",
    "create_public_threads": "Create Public Threads",
    "manage_messages": "Manage Messages",
    "manage_threads": "Manage Threads",
    "embed_links": "Embed Links",
}


def channel_kind(channel: BriefingChannel) -> str:
    """`text`, `announcement`, `forum` or `media`."""
    return _KINDS.get(channel.type, "text")


def forum_tag(channel: BriefingChannel, value: str | None) -> discord.ForumTag | None:
    """The forum tag named by `value` (its id, as autocomplete gives it, or its name), or None for none/absent.

    InputError when the channel has no such tag, naming the tags it has.
    """
    if value is None or value.strip().lower() == CLEAR:
        return None
    if not isinstance(channel, discord.ForumChannel):
        raise InputError("`tag:` is for forum and media channels: each briefing there is a post with that tag.")
    wanted = value.strip()
    for tag in channel.available_tags:
        if wanted == str(tag.id) or wanted.casefold() == tag.name.casefold():
            return tag
    names = ", ".join(tag.name for tag in channel.available_tags) or "none"
    raise InputError(f"{channel.mention} has no tag “{wanted[:50]}”. Its tags: {names[:1500]}.")


def tag_choices(channel: object, current: str) -> list[tuple[str, str]]:
    """(label, value) of the forum's tags matching what was typed, for autocomplete."""
    if not isinstance(channel, discord.ForumChannel):
        return []
    needle = current.strip().casefold()
    return [(f"{tag.emoji} {tag.name}".strip() if tag.emoji else tag.name, str(tag.id))
            for tag in channel.available_tags if needle in tag.name.casefold()]


@dataclass(frozen=True)
class Needs:
    """What `/briefing setup` asked for, as far as permissions go."""

    kind: str
    via_webhook: bool
    open_thread: bool
    publish: bool
    tag: discord.ForumTag | None
    rich: bool = False  # the top story is an embed, which Discord hides without Embed Links


def bot_lacks(channel: BriefingChannel, needs: Needs) -> list[str]:
    """The permissions this briefing needs the bot to have in `channel` and it lacks (as Discord names them)."""
    me = channel.guild.me
    if me is None:
        return []
    allowed = channel.permissions_for(me)
    wanted = ["view_channel"]
    if not needs.via_webhook:
        wanted.append("send_messages")
        if needs.kind in FORUM_KINDS:
            wanted.append("send_messages_in_threads")  # the parts after the first go into the post
        if needs.open_thread:
            wanted.append("create_public_threads")
        if needs.rich:
            wanted.append("embed_links")
    if needs.publish and needs.via_webhook:
        wanted.append("manage_messages")  # crossposting messages that are not the bot's own
    if needs.tag is not None and needs.tag.moderated and not needs.via_webhook:
        wanted.append("manage_threads")
    return [_NAMES[name] for name in wanted if not getattr(allowed, name)]


def member_lacks(allowed: discord.Permissions, needs: Needs) -> list[str]:
    """What the member could not do themselves in the channel beyond posting (the bot is nobody's deputy)."""
    wanted = []
    if needs.open_thread:
        wanted.append("create_public_threads")
    if needs.tag is not None and needs.tag.moderated:
        wanted.append("manage_threads")
    return [_NAMES[name] for name in wanted if not getattr(allowed, name)]


def requires_tag(channel: BriefingChannel) -> bool:
    """Whether the forum requires a tag on every post."""
    return isinstance(channel, discord.ForumChannel) and channel.flags.require_tag
