"""A server's channel briefings: /briefing setup|show|preview|post-now|pause|resume|remove, their filter rules
(/briefing filter add|list|remove), saved searches (/briefing search add|list|remove) and feeds (/briefing feeds
add|list|remove); managers only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import discord
from discord import app_commands
from sqlmodel import Session

from bot.channels import (
    BriefingChannel,
    Needs,
    bot_lacks,
    channel_kind,
    forum_tag,
    member_lacks,
    requires_tag,
    tag_choices,
)
from bot.interactions import (
    FILTER_ACTION_CHOICES,
    FILTER_FIELD_CHOICES,
    FILTER_MATCH_CHOICES,
    STYLE_CHOICES,
    ManagerGroup,
    ManagerSubgroup,
    choice,
    client_of,
    filter_rule_labels,
    ranked_choices,
    reply,
    send_parts,
    timezone_autocomplete,
)
from digests.archive import archive_link, archive_path
from digests.delivery import last_delivery
from digests.errors import BriefbotError
from digests.feed_routing import feeds_of_target, limit_to_feed, routable_feeds, unlimit_feed
from digests.filters import add_filter, filters_of, remove_filter
from digests.models import FILTER_PATTERN_MAX, SAVED_SEARCH_MAX, ChannelBriefing, Delivery, Feed, TargetFilter
from digests.rendering import without_userinfo
from digests.saved_searches import add_saved_search, remove_saved_search, saved_searches_of
from digests.scheduling import next_slot
from digests.selection import Coverage
from digests.services import Services
from digests.targets import (
    NO_WEBHOOK,
    BriefingPlacement,
    briefings_of,
    next_coverage,
    pick_briefing,
    remove_briefing,
    set_paused,
    setup_briefing,
)
from digests.topics import Topic


@dataclass(frozen=True)
class BriefingRow:
    """A briefing as `/briefing show` lists it."""

    briefing: ChannelBriefing
    topics: list[Topic]
    next_at: datetime
    last: Delivery | None
    archive_url: str | None  # while the archive is on and the bot has a public address
    archive_path: str | None  # while the archive is on
    covered: Coverage
    searches: list[str]
    feeds: list[Feed]  # the feeds it is limited to (none: every feed)
    filters: list[TargetFilter]  # its include/exclude rules


def _row(session: Session, services: Services, briefing: ChannelBriefing, now: datetime) -> BriefingRow:
    return BriefingRow(
        briefing=briefing,
        topics=[topic for topic in services.taxonomy if topic.slug in briefing.topic_slugs],
        next_at=next_slot(time_of_day=briefing.time_of_day, timezone=briefing.timezone, days=briefing.days, after=now),
        last=last_delivery(session=session, target=briefing),
        archive_url=archive_link(briefing, services.settings.archive_base_url),
        archive_path=archive_path(briefing),
        covered=next_coverage(briefing, now),
        searches=_saved_words(session, briefing),
        feeds=feeds_of_target(session=session, target_id=briefing.id),
        filters=filters_of(session=session, target_id=briefing.id),
    )


def _saved_words(session: Session, briefing: ChannelBriefing) -> list[str]:
    return [saved.query for saved in saved_searches_of(session=session, target_id=briefing.id)]


briefing_group = ManagerGroup(name="briefing", description="Scheduled news briefings in this server's channels")

# A public bot's "manager" is anyone who made a server: without caps, one could make it schedule
# work without end or post digests as fast as Discord lets commands through.
MAX_BRIEFINGS_PER_GUILD = 25
POST_NOW_PER_GUILD = 5
POST_NOW_PER_SECONDS = 60.0

CHANNEL_HELP = "The briefing's channel (default: this channel, or the server's only briefing)"


async def _pick(interaction: discord.Interaction, channel: BriefingChannel | None) -> ChannelBriefing:
    return await client_of(interaction).db(
        lambda session: _chosen_briefing(session, interaction, channel.id if channel else None))


@briefing_group.command(name="setup", description="Post a daily briefing in a channel (updates an existing one)")
@app_commands.describe(
    channel="Where to post",
    time="24-hour time, e.g. 07:30",
    timezone="IANA timezone (default: the bot's default)",
    topics="Comma-separated topics, e.g. economy,trade (default: all)",
    days="daily (default), weekdays, weekends, or days like mon,wed,fri",
    mention="A role to mention in each briefing (default: none)",
    quiet_day="Post a short notice when there is no news (default: stay silent)",
    webhook="Post through this channel webhook's URL instead of as the bot (`none` to stop)",
    archive="Keep each briefing on a web page with feeds, at a secret link (default: off)",
    tag="Forum channels: the tag of each briefing's post (`none` for no tag)",
    thread="Text channels: open a discussion thread under each briefing",
    publish="Announcement channels: publish each briefing to the servers that follow the channel",
    webhook_name="With a webhook: the name its briefings are posted under (`none`: the webhook's own)",
    webhook_avatar="With a webhook: an http(s) image URL for its avatar (`none`: the webhook's own)",
    webhook_thread="With a webhook: the id of a thread of the channel to post into (`none`: the channel)",
    style="text (default): all in markdown; rich: the top story as an embed with its picture",
)
@app_commands.choices(archive=[
    app_commands.Choice(name="on", value="on"),
    app_commands.Choice(name="off (its pages stop working; on again brings them back)", value="off"),
    app_commands.Choice(name="on, with a new link (the old links stop working)", value="new-link"),
])
@app_commands.choices(style=STYLE_CHOICES)
@app_commands.autocomplete(timezone=timezone_autocomplete)
async def setup(
    interaction: discord.Interaction,
    channel: BriefingChannel,
    time: app_commands.Range[str, 1, 20],
    timezone: app_commands.Range[str, 1, 64] | None = None,
    topics: app_commands.Range[str, 1, 500] | None = None,
    days: app_commands.Range[str, 1, 60] | None = None,
    mention: discord.Role | None = None,
    quiet_day: bool | None = None,
    webhook: app_commands.Range[str, 1, 300] | None = None,
    archive: app_commands.Choice[str] | None = None,
    tag: app_commands.Range[str, 1, 100] | None = None,
    thread: bool | None = None,
    publish: bool | None = None,
    webhook_name: app_commands.Range[str, 1, 80] | None = None,
    webhook_avatar: app_commands.Range[str, 1, 2048] | None = None,
    webhook_thread: app_commands.Range[str, 1, 30] | None = None,
    style: app_commands.Choice[str] | None = None,
) -> None:
    refusal = _beyond_the_members_rights(interaction, channel, mention)
    if refusal is not None:
        await reply(interaction, refusal, channel=channel, role=mention)
        return
    client = client_of(interaction)
    services, now = client.services, client.clock()
    chosen_tag = forum_tag(channel, tag)  # InputError for a tag the forum does not have
    tag_id = chosen_tag.id if chosen_tag else (0 if tag else None)  # `tag:none` removes it
    placement = BriefingPlacement(kind=channel_kind(channel), tag_id=tag_id, tag_required=requires_tag(channel),
                                  open_thread=thread, publish=publish)

    def work(session: Session):
        if _at_the_cap(session, interaction.guild_id, channel.id):
            return None, False
        briefing, created = setup_briefing(
            session=session, taxonomy=services.taxonomy, guild_id=interaction.guild_id, channel_id=channel.id,
            time_of_day=time, timezone=timezone or services.settings.default_timezone, topics=topics, days=days,
            mention_role_id=mention.id if mention else None, quiet_day_notice=quiet_day, now=now,
            webhook_url=webhook, archive=archive.value if archive else None, placement=placement,
            webhook_username=webhook_name, webhook_avatar_url=webhook_avatar, webhook_thread=webhook_thread,
            style=style.value if style else None,
        )
        needs = Needs(kind=briefing.channel_kind, via_webhook=briefing.webhook_url is not None,
                      open_thread=briefing.open_thread, publish=briefing.publish,
                      tag=chosen_tag if tag else _stored_tag(channel, briefing.forum_tag_id),
                      rich=briefing.style == "rich")
        missing = member_lacks(interaction.namespace.channel.permissions, needs)
        if missing:
            session.rollback()
            return ("member", missing), False
        missing = bot_lacks(channel, needs)
        if missing:
            session.rollback()
            return ("bot", missing), False
        return _row(session, services, briefing, now), created

    row, created = await client.db(work)
    if row is None:
        await reply(interaction, "briefing_limit", limit=MAX_BRIEFINGS_PER_GUILD)
        return
    if isinstance(row, tuple):
        who, missing = row
        await reply(interaction, f"briefing_{who}_lacks", channel=channel, missing=missing)
        return
    await client.reschedule("channel", row.briefing.id)
    stored_tag = _stored_tag(channel, row.briefing.forum_tag_id)
    await reply(interaction, "briefing_saved", briefing=row.briefing, created=created, topics=row.topics,
                next_at=row.next_at, archive_url=row.archive_url, archive_path=row.archive_path,
                tag_name=stored_tag.name if stored_tag else None)


def _stored_tag(channel: BriefingChannel, tag_id: int | None) -> discord.ForumTag | None:
    return channel.get_tag(tag_id) if tag_id and isinstance(channel, discord.ForumChannel) else None


@setup.autocomplete("tag")
async def tag_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """The chosen forum's tags (none until a forum is chosen)."""
    picked = interaction.namespace.channel
    channel = interaction.guild.get_channel(picked.id) if picked is not None and interaction.guild else None
    choices = [choice(label, value) for label, value in tag_choices(channel, current)]
    if channel is not None and NO_WEBHOOK.startswith(current.strip().lower()):
        choices.append(choice("No tag", NO_WEBHOOK))
    return choices[:25]


def _beyond_the_members_rights(interaction: discord.Interaction, channel: BriefingChannel,
                               mention: discord.Role | None) -> str | None:
    """The refusal to give when the bot would post or ping where the member could not, else None.

    The bot's own permissions are no measure: a manager must not use it as a deputy. The
    channel's permissions are the ones Discord computed for the member (roles, overwrites,
    timeouts) and sent with the interaction.
    """
    allowed = interaction.namespace.channel.permissions
    if not (allowed.view_channel and allowed.send_messages):
        return "briefing_channel_refused"
    if mention is not None and not mention.mentionable and not allowed.mention_everyone:
        return "briefing_mention_refused"
    return None


def _at_the_cap(session: Session, guild_id: int | None, channel_id: int) -> bool:
    """Whether setting up `channel_id` would add a briefing to a guild that has the most it may have."""
    existing = briefings_of(session=session, guild_id=guild_id)
    return len(existing) >= MAX_BRIEFINGS_PER_GUILD and all(b.channel_id != channel_id for b in existing)


@briefing_group.command(name="show", description="Show this server's briefings, or one channel's")
@app_commands.describe(channel="Only this channel's briefing")
async def show(interaction: discord.Interaction, channel: BriefingChannel | None = None) -> None:
    client = client_of(interaction)
    services, now = client.services, client.clock()

    def work(session: Session) -> list[BriefingRow]:
        if channel is not None:
            chosen = [pick_briefing(session=session, guild_id=interaction.guild_id, channel_id=channel.id,
                                    current_channel_id=None)]
        else:
            chosen = briefings_of(session=session, guild_id=interaction.guild_id)
        return [_row(session, services, briefing, now) for briefing in chosen]

    rows = await client.db(work)
    await reply(interaction, "briefing_list", rows=rows)


@briefing_group.command(name="preview", description="See the briefing as it would be posted now")
@app_commands.describe(channel=CHANNEL_HELP)
async def preview(interaction: discord.Interaction, channel: BriefingChannel | None = None) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    client = client_of(interaction)
    composed = await client.deliverer.preview(await _pick(interaction, channel))
    filtered = composed.digest.filtered if composed.digest else 0
    if composed.parts:
        await send_parts(interaction, composed.parts)
        if composed.rules:
            await reply(interaction, "filter_note", rules=composed.rules, filtered=filtered, command="briefing")
    else:
        await reply(interaction, "nothing_to_preview", what="this briefing", rules=composed.rules, filtered=filtered,
                    command="briefing")


@briefing_group.command(name="post-now", description="Post the briefing now (the next one holds only newer stories)")
@app_commands.describe(channel=CHANNEL_HELP)
@app_commands.checks.cooldown(POST_NOW_PER_GUILD, POST_NOW_PER_SECONDS, key=lambda interaction: interaction.guild_id)
async def post_now(interaction: discord.Interaction, channel: BriefingChannel | None = None) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    client = client_of(interaction)
    briefing = await _pick(interaction, channel)
    report = await client.deliverer.deliver(briefing, slot_at=client.clock())
    await client.reschedule("channel", briefing.id)  # a permanent error paused it
    await reply(interaction, "briefing_posted", briefing=briefing, report=report)


async def _set_paused(interaction: discord.Interaction, channel: BriefingChannel | None, paused: bool) -> None:
    client = client_of(interaction)

    def work(session: Session) -> ChannelBriefing:
        briefing = _chosen_briefing(session, interaction, channel.id if channel else None)
        set_paused(briefing, paused=paused, reason=f"paused by {interaction.user.name}" if paused else None)
        session.add(briefing)
        return briefing

    briefing = await client.db(work)
    await client.reschedule("channel", briefing.id)
    await reply(interaction, "briefing_paused", briefing=briefing, paused=paused)


@briefing_group.command(name="pause", description="Stop posting the briefing until resumed")
@app_commands.describe(channel=CHANNEL_HELP)
async def pause(interaction: discord.Interaction, channel: BriefingChannel | None = None) -> None:
    await _set_paused(interaction, channel, True)


@briefing_group.command(name="resume", description="Post the briefing again (also after a permission problem)")
@app_commands.describe(channel=CHANNEL_HELP)
async def resume(interaction: discord.Interaction, channel: BriefingChannel | None = None) -> None:
    await _set_paused(interaction, channel, False)


@briefing_group.command(name="remove", description="Stop and delete a channel's briefing")
@app_commands.describe(channel="The briefing's channel")
async def remove(interaction: discord.Interaction, channel: BriefingChannel) -> None:
    client = client_of(interaction)

    def work(session: Session) -> ChannelBriefing:
        briefing = pick_briefing(session=session, guild_id=interaction.guild_id, channel_id=channel.id,
                                 current_channel_id=None)
        remove_briefing(session=session, briefing=briefing)
        return briefing

    briefing = await client.db(work)
    client.scheduler.unschedule("channel", briefing.id)
    await reply(interaction, "briefing_removed", briefing=briefing)


# Saved searches and feeds of a briefing ---------------------------------------------------------

search_group = ManagerSubgroup(name="search", description="Saved searches of a briefing: a section of matching stories",
                               parent=briefing_group)
feeds_subgroup = ManagerSubgroup(name="feeds", description="Limit a briefing to the stories of chosen feeds",
                                 parent=briefing_group)


def _chosen_briefing(session: Session, interaction: discord.Interaction, channel_id: int | None) -> ChannelBriefing:
    return pick_briefing(session=session, guild_id=interaction.guild_id, channel_id=channel_id,
                         current_channel_id=interaction.channel_id)


async def _briefing_being_chosen(interaction: discord.Interaction, list_of) -> dict[str, str]:
    """For an autocomplete: `list_of(session, briefing)` for the briefing the command names so far ({} if none)."""
    if interaction.guild_id is None or not interaction.permissions.manage_guild:
        return {}
    picked = interaction.namespace.channel

    def work(session: Session) -> dict[str, str]:
        try:
            briefing = _chosen_briefing(session, interaction, picked.id if picked is not None else None)
        except BriefbotError:
            return {}
        return list_of(session, briefing)

    return await client_of(interaction).db(work)


@search_group.command(name="add", description="Add a section of the new stories matching these words to a briefing")
@app_commands.describe(query="Words to search for, as in /stories", channel=CHANNEL_HELP)
async def search_add(interaction: discord.Interaction, query: app_commands.Range[str, 1, SAVED_SEARCH_MAX],
                     channel: BriefingChannel | None = None) -> None:
    client = client_of(interaction)
    now = client.clock()

    def work(session: Session):
        briefing = _chosen_briefing(session, interaction, channel.id if channel else None)
        saved = add_saved_search(session=session, target_id=briefing.id, query=query, now=now)
        return briefing, saved.query, _saved_words(session, briefing)

    briefing, words, searches = await client.db(work)
    await reply(interaction, "briefing_searches", briefing=briefing, searches=searches, added=words)


@search_group.command(name="list", description="A briefing's saved searches")
@app_commands.describe(channel=CHANNEL_HELP)
async def search_list(interaction: discord.Interaction, channel: BriefingChannel | None = None) -> None:
    def work(session: Session):
        briefing = _chosen_briefing(session, interaction, channel.id if channel else None)
        return briefing, _saved_words(session, briefing)

    briefing, searches = await client_of(interaction).db(work)
    await reply(interaction, "briefing_searches", briefing=briefing, searches=searches)


async def _briefing_searches(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    labels = await _briefing_being_chosen(
        interaction, lambda session, briefing: {f"🔎 {words}": words for words in _saved_words(session, briefing)})
    return ranked_choices(current, labels)


@search_group.command(name="remove", description="Remove a saved search from a briefing")
@app_commands.describe(query="One of the briefing's saved searches", channel=CHANNEL_HELP)
@app_commands.autocomplete(query=_briefing_searches)
async def search_remove(interaction: discord.Interaction, query: app_commands.Range[str, 1, SAVED_SEARCH_MAX],
                        channel: BriefingChannel | None = None) -> None:
    def work(session: Session):
        briefing = _chosen_briefing(session, interaction, channel.id if channel else None)
        removed = remove_saved_search(session=session, target_id=briefing.id, query=query)
        return briefing, removed.query, _saved_words(session, briefing)

    briefing, words, searches = await client_of(interaction).db(work)
    await reply(interaction, "briefing_searches", briefing=briefing, searches=searches, removed=words)


def feed_label(feed: Feed) -> str:
    """A feed as autocomplete offers it: its id, its title or URL, and whether it is every server's."""
    name = feed.title or without_userinfo(feed.url)
    return f"#{feed.id} {name}" + (" (all servers)" if feed.guild_id is None else "")


async def _feeds_to_add(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    def choosable(session: Session, briefing: ChannelBriefing) -> dict[str, str]:
        chosen = {feed.id for feed in feeds_of_target(session=session, target_id=briefing.id)}
        return {feed_label(feed): str(feed.id) for feed in routable_feeds(session=session, guild_id=briefing.guild_id)
                if feed.id not in chosen}

    return ranked_choices(current, await _briefing_being_chosen(interaction, choosable))


async def _feeds_to_remove(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    labels = await _briefing_being_chosen(interaction, lambda session, briefing: {
        feed_label(feed): str(feed.id) for feed in feeds_of_target(session=session, target_id=briefing.id)})
    return ranked_choices(current, labels)


@feeds_subgroup.command(name="add", description="Limit a briefing to the stories of chosen feeds: add one")
@app_commands.describe(feed="A feed of this server, or of all servers", channel=CHANNEL_HELP)
@app_commands.autocomplete(feed=_feeds_to_add)
async def feeds_add(interaction: discord.Interaction, feed: app_commands.Range[str, 1, 2000],
                    channel: BriefingChannel | None = None) -> None:
    def work(session: Session):
        briefing = _chosen_briefing(session, interaction, channel.id if channel else None)
        added = limit_to_feed(session=session, briefing=briefing, feed=feed)
        return briefing, added, feeds_of_target(session=session, target_id=briefing.id)

    briefing, added, feeds = await client_of(interaction).db(work)
    await reply(interaction, "briefing_feeds", briefing=briefing, feeds=feeds, added=added)


@feeds_subgroup.command(name="list", description="The feeds a briefing is limited to")
@app_commands.describe(channel=CHANNEL_HELP)
async def feeds_list(interaction: discord.Interaction, channel: BriefingChannel | None = None) -> None:
    def work(session: Session):
        briefing = _chosen_briefing(session, interaction, channel.id if channel else None)
        return briefing, feeds_of_target(session=session, target_id=briefing.id)

    briefing, feeds = await client_of(interaction).db(work)
    await reply(interaction, "briefing_feeds", briefing=briefing, feeds=feeds)


@feeds_subgroup.command(name="remove", description="Take a feed out of a briefing's feeds")
@app_commands.describe(feed="One of the briefing's feeds", channel=CHANNEL_HELP)
@app_commands.autocomplete(feed=_feeds_to_remove)
async def feeds_remove(interaction: discord.Interaction, feed: app_commands.Range[str, 1, 2000],
                       channel: BriefingChannel | None = None) -> None:
    def work(session: Session):
        briefing = _chosen_briefing(session, interaction, channel.id if channel else None)
        removed, left = unlimit_feed(session=session, briefing=briefing, feed=feed)
        return briefing, removed, left

    briefing, removed, feeds = await client_of(interaction).db(work)
    await reply(interaction, "briefing_feeds", briefing=briefing, feeds=feeds, removed=removed)


filter_group = ManagerSubgroup(name="filter", parent=briefing_group,
                               description="Leave out, or keep only, the stories matching words or a regex")


@filter_group.command(name="add", description="Add a filter rule to a briefing")
@app_commands.describe(
    pattern="Words or a phrase; with match:regex, an RE2 regular expression",
    action="exclude (default): leave out what it matches; include: keep only what an include rule matches",
    match="words (default): whole words, any case or accents; regex: an RE2 regular expression",
    field="Where to look: any (default), title, summary or source",
    channel=CHANNEL_HELP,
)
@app_commands.choices(action=FILTER_ACTION_CHOICES, match=FILTER_MATCH_CHOICES, field=FILTER_FIELD_CHOICES)
async def filter_add(
    interaction: discord.Interaction,
    pattern: app_commands.Range[str, 1, FILTER_PATTERN_MAX],
    action: app_commands.Choice[str] | None = None,
    match: app_commands.Choice[str] | None = None,
    field: app_commands.Choice[str] | None = None,
    channel: BriefingChannel | None = None,
) -> None:
    client = client_of(interaction)
    now = client.clock()

    def work(session: Session):
        briefing = _chosen_briefing(session, interaction, channel.id if channel else None)
        rule, created = add_filter(session=session, target_id=briefing.id, action=action.value if action else "exclude",
                                   kind=match.value if match else "word", field=field.value if field else "any",
                                   pattern=pattern, now=now)
        return briefing, rule, created

    briefing, rule, created = await client.db(work)
    await reply(interaction, "filter_added", rule=rule, created=created, briefing=briefing, command="briefing")


@filter_group.command(name="list", description="Show a briefing's filter rules")
@app_commands.describe(channel=CHANNEL_HELP)
async def filter_list(interaction: discord.Interaction, channel: BriefingChannel | None = None) -> None:
    client = client_of(interaction)

    def work(session: Session):
        briefing = _chosen_briefing(session, interaction, channel.id if channel else None)
        return briefing, filters_of(session=session, target_id=briefing.id)

    briefing, rules = await client.db(work)
    await reply(interaction, "filter_list", rules=rules, briefing=briefing, command="briefing")


async def _briefing_rules(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """The rules of the briefing the command names (its `channel`, else this channel's, else the only one)."""
    labels = await _briefing_being_chosen(
        interaction, lambda session, briefing: filter_rule_labels(filters_of(session=session, target_id=briefing.id)))
    return ranked_choices(current, labels)


@filter_group.command(name="remove", description="Remove one of a briefing's filter rules")
@app_commands.describe(rule="The rule to remove", channel=CHANNEL_HELP)
@app_commands.autocomplete(rule=_briefing_rules)
async def filter_remove(interaction: discord.Interaction, rule: app_commands.Range[str, 1, 20],
                        channel: BriefingChannel | None = None) -> None:
    client = client_of(interaction)

    def work(session: Session):
        briefing = _chosen_briefing(session, interaction, channel.id if channel else None)
        return briefing, remove_filter(session=session, target_id=briefing.id, rule=rule)

    briefing, removed = await client.db(work)
    await reply(interaction, "filter_removed", rule=removed, briefing=briefing, command="briefing")


def register(tree: app_commands.CommandTree) -> None:
    """Add this module's commands."""
    tree.add_command(briefing_group)
