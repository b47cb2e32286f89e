"""A server's own feeds: /feeds add|list|remove (managers only)."""

from __future__ import annotations

import discord
from discord import app_commands
from sqlmodel import Session

from bot.interactions import ManagerGroup, client_of, ranked_choices, reply, topic_autocomplete
from digests.feed_registry import add_feed, feeds_of, remove_feed
from digests.rendering import without_userinfo

feeds_group = ManagerGroup(name="feeds", description="News feeds of this server (their stories stay in this server)")
# Each add fetches the URL at once: without a cooldown, remove and add in a loop is a fetch per command.
ADD_PER_GUILD = 5
ADD_PER_SECONDS = 60.0


@feeds_group.command(name="add", description="Add an RSS, Atom or JSON feed for this server")
@app_commands.describe(url="The feed's http(s) URL", topic="Tag every story of this feed with a topic")
@app_commands.autocomplete(topic=topic_autocomplete)
@app_commands.checks.cooldown(ADD_PER_GUILD, ADD_PER_SECONDS, key=lambda interaction: interaction.guild_id)
async def add(
    interaction: discord.Interaction,
    url: app_commands.Range[str, 1, 2000],
    topic: app_commands.Range[str, 1, 100] | None = None,
) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    client = client_of(interaction)
    services, now = client.services, client.clock()

    def work(session: Session):
        feed, created = add_feed(session=session, taxonomy=services.taxonomy, url=url, guild_id=interaction.guild_id,
                                 topic=topic, added_by=interaction.user.id,
                                 allow_private=services.settings.allow_private_feeds, now=now)
        return feed, created, services.taxonomy.resolve(feed.topic_slug) if feed.topic_slug else None

    feed, created, chosen = await client.db(work)
    first = (await client.poller.poll([feed]))[0]  # the first fetch right away, so the manager sees it work
    await reply(interaction, "feed_added" if created else "feed_enabled", feed=feed, topic=chosen, first=first)


@feeds_group.command(name="list", description="This server's feeds and how they are doing")
async def list_feeds(interaction: discord.Interaction) -> None:
    client = client_of(interaction)
    feeds = await client.db(lambda session: feeds_of(session=session, guild_id=interaction.guild_id))
    await reply(interaction, "feed_list", feeds=feeds)


async def _guild_feeds(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    if interaction.guild_id is None or not interaction.permissions.manage_guild:
        return []
    client = client_of(interaction)
    feeds = await client.db(lambda session: feeds_of(session=session, guild_id=interaction.guild_id))
    labels = {f"#{feed.id} {without_userinfo(feed.url)}": str(feed.id) for feed in feeds}
    return ranked_choices(current, labels)


@feeds_group.command(name="remove", description="Remove one of this server's feeds")
@app_commands.describe(feed="The feed to remove")
@app_commands.autocomplete(feed=_guild_feeds)
async def remove(interaction: discord.Interaction, feed: app_commands.Range[str, 1, 2000]) -> None:
    client = client_of(interaction)
    removed = await client.db(lambda session: remove_feed(session=session, guild_id=interaction.guild_id, feed=feed))
    await reply(interaction, "feed_removed", feed=removed)


def register(tree: app_commands.CommandTree) -> None:
    """Add this module's commands."""
    tree.add_command(feeds_group)
