"""Reading the news: /stories and /topics."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.interactions import audience, client_of, send_parts, topic_autocomplete
from digests.selection import find_stories, topic_counts


@app_commands.command(name="stories", description="The newest stories on a topic, or matching words")
@app_commands.describe(
    topic="A topic, or words to search for",
    query="Words the stories must also contain",
    limit="How many stories (1-10, default 5)",
    hours="How far back to look, in hours (1-168, default 24)",
    share="Post the answer in the channel for everyone (default: only you see it)",
)
@app_commands.autocomplete(topic=topic_autocomplete)
async def stories(
    interaction: discord.Interaction,
    topic: app_commands.Range[str, 1, 100],
    query: app_commands.Range[str, 1, 200] | None = None,
    limit: app_commands.Range[int, 1, 10] = 5,
    hours: app_commands.Range[int, 1, 168] = 24,
    share: bool = False,
) -> None:
    client = client_of(interaction)
    services, now = client.services, client.clock()
    result = await client.db(lambda session: find_stories(
        session=session, taxonomy=services.taxonomy, topic=topic, query=query, hours=hours, limit=limit, now=now,
        guild_ids=audience(interaction),
    ))
    parts = services.renderer.story_list(result, tz=services.default_timezone, now=now)
    # "No stories" is never posted publicly, even when asked to share.
    await send_parts(interaction, parts, ephemeral=not (share and result.items))


@app_commands.command(name="topics", description="Every topic, with its stories of the last 24 hours")
async def topics(interaction: discord.Interaction) -> None:
    client = client_of(interaction)
    services, now = client.services, client.clock()
    counts = await client.db(lambda session: topic_counts(session=session, taxonomy=services.taxonomy, now=now,
                                                          guild_ids=audience(interaction)))
    await send_parts(interaction, services.renderer.topic_list(counts))


def register(tree: app_commands.CommandTree) -> None:
    """Add this module's commands."""
    tree.add_command(stories)
    tree.add_command(topics)
