"""A server's own feeds: /feeds add|list|remove|import|export (managers only)."""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from sqlmodel import Session

from bot.channels import BriefingChannel
from bot.interactions import ManagerGroup, client_of, ranked_choices, reply, send_file, send_parts, topic_autocomplete
from digests.errors import InputError, SourceError
from digests.feed_import import exported_feeds, import_feeds
from digests.feed_registry import add_feed, feeds_of, find_feed, remove_feed
from digests.feed_routing import briefings_limited_to, check_room_for_a_feed, limit_to_feed
from digests.ingest.fetch import fetch_feed
from digests.opml import MAX_OPML_BYTES, MAX_OPML_TEXT, MAX_OUTLINES, read_opml, write_opml
from digests.rendering import without_userinfo
from digests.targets import pick_briefing

feeds_group = ManagerGroup(name="feeds", description="News feeds of this server (their stories stay in this server)")
# Each add fetches the URL at once: without a cooldown, remove and add in a loop is a fetch per command.
ADD_PER_GUILD = 5
ADD_PER_SECONDS = 60.0
# An import checks up to 100 addresses (DNS lookups) and writes up to 25 feeds: 3 a minute leaves room to retry.
IMPORT_PER_GUILD = 3
IMPORT_PER_SECONDS = 60.0
ATTACHMENT_DEADLINE_SECONDS = 30.0


@feeds_group.command(name="add", description="Add an RSS, Atom or JSON feed for this server")
@app_commands.describe(url="The feed's http(s) URL", topic="Tag every story of this feed with a topic",
                       briefing="A briefing's channel: that briefing takes this feed's stories, and its other feeds'")
@app_commands.autocomplete(topic=topic_autocomplete)
@app_commands.checks.cooldown(ADD_PER_GUILD, ADD_PER_SECONDS, key=lambda interaction: interaction.guild_id)
async def add(
    interaction: discord.Interaction,
    url: app_commands.Range[str, 1, 2000],
    topic: app_commands.Range[str, 1, 100] | None = None,
    briefing: BriefingChannel | None = None,
) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    client = client_of(interaction)
    services, now = client.services, client.clock()

    def work(session: Session):
        # The briefing is checked before the feed is written: a refusal (no briefing there, one with the most
        # feeds it may have) leaves nothing behind.
        routed = pick_briefing(session=session, guild_id=interaction.guild_id, channel_id=briefing.id,
                               current_channel_id=None) if briefing is not None else None
        routes = check_room_for_a_feed(session=session, briefing=routed) if routed else []
        feed, created = add_feed(session=session, taxonomy=services.taxonomy, url=url, guild_id=interaction.guild_id,
                                 topic=topic, added_by=interaction.user.id,
                                 allow_private=services.settings.allow_private_feeds, now=now)
        if routed is not None and all(known.id != feed.id for known in routes):  # a feed enabled again may be there
            routes = [*routes, limit_to_feed(session=session, briefing=routed, feed=feed)]
        return feed, created, services.taxonomy.resolve(feed.topic_slug) if feed.topic_slug else None, routed, routes

    feed, created, chosen, routed, routes = await client.db(work)
    first = (await client.poller.poll([feed]))[0]  # the first fetch right away, so the manager sees it work
    await reply(interaction, "feed_added" if created else "feed_enabled", feed=feed, topic=chosen, first=first,
                briefing=routed, briefing_feeds=routes)


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

    def work(session: Session):
        found = find_feed(session=session, guild_id=interaction.guild_id, feed=feed)
        limited = briefings_limited_to(session=session, feed_id=found.id)  # read before the removal unlinks them
        return remove_feed(session=session, guild_id=interaction.guild_id, feed=str(found.id)), limited

    removed, limited = await client.db(work)
    await reply(interaction, "feed_removed", feed=removed, limited=limited)


@feeds_group.command(name="import", description="Add the feeds of an OPML file (a feed reader's export)")
@app_commands.describe(file=f"An OPML file of at most {MAX_OPML_TEXT}, as feed readers export their subscriptions")
@app_commands.checks.cooldown(IMPORT_PER_GUILD, IMPORT_PER_SECONDS, key=lambda interaction: interaction.guild_id)
async def import_opml(interaction: discord.Interaction, file: discord.Attachment) -> None:
    if file.size > MAX_OPML_BYTES:  # refused on Discord's word, before a byte is downloaded
        raise InputError(f"That file is {file.size:,} bytes; an OPML file may be at most {MAX_OPML_TEXT}.")
    await interaction.response.defer(ephemeral=True, thinking=True)
    client = client_of(interaction)
    services = client.services
    try:  # capped as it streams too: the size above is what Discord says, this is what arrives
        fetched = await fetch_feed(client.poller.client, file.url, max_bytes=MAX_OPML_BYTES,
                                   deadline=ATTACHMENT_DEADLINE_SECONDS)
    except SourceError as error:
        raise InputError(f"The file could not be downloaded from Discord ({error}).") from None
    subscriptions = await asyncio.to_thread(read_opml, fetched.body or b"")
    report = await asyncio.to_thread(
        import_feeds, engine=services.engine, taxonomy=services.taxonomy, subscriptions=subscriptions,
        guild_id=interaction.guild_id, added_by=interaction.user.id,
        allow_private=services.settings.allow_private_feeds, now=client.clock())
    renderer = services.renderer
    parts = renderer.reply("feed_import", report=report, detailed=True, max_outlines=MAX_OUTLINES)
    if len(parts) == 1:
        await send_parts(interaction, parts)
        return
    summary = renderer.reply("feed_import", report=report, detailed=False, max_outlines=MAX_OUTLINES)[0]
    full = renderer.render("feed_import_report.txt.j2", report=report, source=file.filename,
                           max_outlines=MAX_OUTLINES)
    await send_file(interaction, summary, filename="feeds-import-report.txt", data=full.encode() + b"\n")


@feeds_group.command(name="export", description="This server's feeds as an OPML file, for a feed reader")
async def export_opml(interaction: discord.Interaction) -> None:
    client = client_of(interaction)
    feeds = await asyncio.to_thread(exported_feeds, engine=client.services.engine, guild_id=interaction.guild_id)
    if not feeds:
        await reply(interaction, "feeds_export_empty")
        return
    server = interaction.guild.name if interaction.guild is not None else str(interaction.guild_id)
    document = write_opml(feeds, title=f"{server}: feeds (Briefbot)", now=client.clock())
    content = client.services.renderer.reply("feed_export", count=len(feeds))[0]
    await send_file(interaction, content, filename="briefbot-feeds.opml", data=document)


def register(tree: app_commands.CommandTree) -> None:
    """Add this module's commands."""
    tree.add_command(feeds_group)
