"""A user's personal digest: /subscribe, /unsubscribe, /subscriptions and /digest (its filters too)."""

from __future__ import annotations

import discord
from discord import app_commands
from sqlmodel import Session

from bot.interactions import (
    FILTER_ACTION_CHOICES,
    FILTER_FIELD_CHOICES,
    FILTER_MATCH_CHOICES,
    STYLE_CHOICES,
    client_of,
    filter_rule_labels,
    ranked_choices,
    reply,
    send_parts,
    timezone_autocomplete,
    topic_autocomplete,
)
from digests.delivery import last_delivery
from digests.errors import Refusal
from digests.filters import add_filter, filters_of, remove_filter
from digests.models import FILTER_PATTERN_MAX, SAVED_SEARCH_MAX, PersonalDigest
from digests.saved_searches import remove_saved_search, saved_searches_of
from digests.scheduling import next_slot
from digests.targets import (
    ALL,
    next_coverage,
    personal_digest_of,
    require_personal_digest,
    schedule_digest,
    set_digest_style,
    set_paused,
    subscribe,
    subscribe_query,
    subscribed_topics,
    unsubscribe,
)


def _next_at(digest: PersonalDigest, now):
    return next_slot(time_of_day=digest.time_of_day, timezone=digest.timezone, days=digest.days, after=now)


def _saved_words(session: Session, digest: PersonalDigest | None) -> list[str]:
    return [saved.query for saved in saved_searches_of(session=session, target_id=digest.id)] if digest else []


@app_commands.command(name="subscribe",
                      description="Add a topic, or words to search for, to your personal digest, sent to you by DM")
@app_commands.describe(topic="The topic to follow",
                       query="Words to search for: your digest gets a section of the new stories that match them")
@app_commands.autocomplete(topic=topic_autocomplete)
async def subscribe_command(interaction: discord.Interaction, topic: app_commands.Range[str, 1, 100] | None = None,
                            query: app_commands.Range[str, 1, SAVED_SEARCH_MAX] | None = None) -> None:
    if topic is None and query is None:
        raise Refusal("subscribe_what")
    client = client_of(interaction)
    services, now = client.services, client.clock()
    user_id, zone = interaction.user.id, services.settings.default_timezone

    def work(session: Session):
        digest = personal_digest_of(session=session, user_id=user_id)
        first = not subscribed_topics(session=session, taxonomy=services.taxonomy, user_id=user_id) \
            and not _saved_words(session, digest)
        chosen = already = words = None
        if topic is not None:
            chosen, digest, already = subscribe(session=session, taxonomy=services.taxonomy, user_id=user_id,
                                                topic=topic, default_timezone=zone, now=now)
        if query is not None:
            words, digest = subscribe_query(session=session, user_id=user_id, query=query, default_timezone=zone,
                                            now=now)
        return chosen, words, digest, already, first  # `first`: the digest followed nothing before

    chosen, words, digest, already, first = await client.db(work)
    await client.reschedule("user", interaction.user.id)
    await reply(interaction, "subscribed", topic=chosen, query=words, digest=digest, already=already, first=first,
                next_at=_next_at(digest, now))


async def _your_topics(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    client = client_of(interaction)
    topics = await client.db(lambda session: subscribed_topics(
        session=session, taxonomy=client.services.taxonomy, user_id=interaction.user.id))
    labels = {topic.label: topic.slug for topic in topics}
    labels["all (every topic)"] = ALL
    return ranked_choices(current, labels)


async def _your_searches(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    client = client_of(interaction)
    words = await client.db(lambda session: _saved_words(
        session, personal_digest_of(session=session, user_id=interaction.user.id)))
    return ranked_choices(current, {f"🔎 {query}": query for query in words})


@app_commands.command(name="unsubscribe", description="Remove a topic (or all), or a saved search, from your digest")
@app_commands.describe(topic="One of your topics, or “all”", query="One of your saved searches")
@app_commands.autocomplete(topic=_your_topics, query=_your_searches)
async def unsubscribe_command(interaction: discord.Interaction, topic: app_commands.Range[str, 1, 100] | None = None,
                              query: app_commands.Range[str, 1, SAVED_SEARCH_MAX] | None = None) -> None:
    if topic is None and query is None:
        raise Refusal("unsubscribe_what")
    client = client_of(interaction)
    taxonomy, user_id = client.services.taxonomy, interaction.user.id

    def work(session: Session):
        removed = unsubscribe(session=session, taxonomy=taxonomy, user_id=user_id, topic=topic) if topic else []
        digest = personal_digest_of(session=session, user_id=user_id)
        if query is not None and digest is None:
            raise Refusal("saved_search_unknown", query=query, searches=[])
        words = remove_saved_search(session=session, target_id=digest.id, query=query).query if query else None
        return removed, words, subscribed_topics(session=session, taxonomy=taxonomy, user_id=user_id), \
            _saved_words(session, digest)

    removed, words, remaining, searches = await client.db(work)
    await client.reschedule("user", interaction.user.id)
    await reply(interaction, "unsubscribed", removed=removed, remaining=remaining, query=words, searches=searches)


@app_commands.command(name="subscriptions", description="Your topics, delivery time, timezone and next delivery")
async def subscriptions_command(interaction: discord.Interaction) -> None:
    client = client_of(interaction)
    taxonomy, now = client.services.taxonomy, client.clock()

    def work(session: Session):
        topics = subscribed_topics(session=session, taxonomy=taxonomy, user_id=interaction.user.id)
        digest = personal_digest_of(session=session, user_id=interaction.user.id)
        last = last_delivery(session=session, target=digest) if digest else None
        rules = filters_of(session=session, target_id=digest.id) if digest else []
        return topics, _saved_words(session, digest), digest, last, rules

    topics, searches, digest, last, rules = await client.db(work)
    await reply(interaction, "subscriptions", digest=digest, topics=topics, searches=searches, rules=rules,
                next_at=_next_at(digest, now) if digest else None, last=last,
                covered=next_coverage(digest, now) if digest else None)


digest_group = app_commands.Group(name="digest", description="Your personal digest, sent by DM")


@digest_group.command(name="schedule", description="Choose when your digest is sent")
@app_commands.describe(time="24-hour time, e.g. 07:30", timezone="Your timezone, e.g. Europe/Brussels",
                       days="daily, weekdays, weekends, or days like mon,wed,fri (mon alone: a weekly digest)")
@app_commands.autocomplete(timezone=timezone_autocomplete)
async def digest_schedule(
    interaction: discord.Interaction, time: app_commands.Range[str, 1, 20], timezone: app_commands.Range[str, 1, 64],
    days: app_commands.Range[str, 1, 60] | None = None,
) -> None:
    client = client_of(interaction)
    taxonomy, now = client.services.taxonomy, client.clock()

    def work(session: Session):
        digest = schedule_digest(session=session, user_id=interaction.user.id, time_of_day=time, timezone=timezone,
                                 now=now, days=days)
        return digest, bool(subscribed_topics(session=session, taxonomy=taxonomy, user_id=interaction.user.id)
                            or _saved_words(session, digest))

    digest, has_topics = await client.db(work)
    await client.reschedule("user", interaction.user.id)
    await reply(interaction, "digest_scheduled", digest=digest, next_at=_next_at(digest, now), has_topics=has_topics)


@digest_group.command(name="preview", description="See your digest as it would be sent now")
async def digest_preview(interaction: discord.Interaction) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    client = client_of(interaction)
    digest = await client.db(lambda session: require_personal_digest(session=session, user_id=interaction.user.id))
    composed = await client.deliverer.preview(digest)
    filtered = composed.digest.filtered if composed.digest else 0
    if composed.parts:
        await send_parts(interaction, composed.parts)
        if composed.rules:
            await reply(interaction, "filter_note", rules=composed.rules, filtered=filtered, command="digest")
    else:
        await reply(interaction, "nothing_to_preview", what="your topics", rules=composed.rules, filtered=filtered,
                    command="digest")


@digest_group.command(name="style", description="Choose how your digest looks: all text, or the top story as an embed")
@app_commands.describe(style="text: all in markdown (default); rich: the top story as an embed with its picture")
@app_commands.choices(style=STYLE_CHOICES)
async def digest_style(interaction: discord.Interaction, style: app_commands.Choice[str]) -> None:
    client = client_of(interaction)
    digest = await client.db(lambda session: set_digest_style(session=session, user_id=interaction.user.id,
                                                              style=style.value))
    await reply(interaction, "digest_style", digest=digest)


async def _set_digest_paused(interaction: discord.Interaction, paused: bool) -> None:
    client = client_of(interaction)

    def work(session: Session) -> None:
        digest = require_personal_digest(session=session, user_id=interaction.user.id)
        set_paused(digest, paused=paused, reason="paused by you" if paused else None)
        session.add(digest)

    await client.db(work)
    await client.reschedule("user", interaction.user.id)
    await reply(interaction, "digest_paused", paused=paused)


@digest_group.command(name="pause", description="Stop sending your digest until you resume it")
async def digest_pause(interaction: discord.Interaction) -> None:
    await _set_digest_paused(interaction, True)


@digest_group.command(name="resume", description="Send your digest again (also after your DMs were closed)")
async def digest_resume(interaction: discord.Interaction) -> None:
    await _set_digest_paused(interaction, False)


digest_filter_group = app_commands.Group(name="filter", parent=digest_group,
                                         description="Leave out, or keep only, the stories matching words or a regex")


@digest_filter_group.command(name="add", description="Add a filter rule to your digest")
@app_commands.describe(
    pattern="Words or a phrase; with match:regex, an RE2 regular expression",
    action="exclude (default): leave out what it matches; include: keep only what an include rule matches",
    match="words (default): whole words, any case or accents; regex: an RE2 regular expression",
    field="Where to look: any (default), title, summary or source",
)
@app_commands.choices(action=FILTER_ACTION_CHOICES, match=FILTER_MATCH_CHOICES, field=FILTER_FIELD_CHOICES)
async def digest_filter_add(
    interaction: discord.Interaction,
    pattern: app_commands.Range[str, 1, FILTER_PATTERN_MAX],
    action: app_commands.Choice[str] | None = None,
    match: app_commands.Choice[str] | None = None,
    field: app_commands.Choice[str] | None = None,
) -> None:
    client = client_of(interaction)
    now = client.clock()

    def work(session: Session):
        digest = require_personal_digest(session=session, user_id=interaction.user.id)
        return add_filter(session=session, target_id=digest.id, action=action.value if action else "exclude",
                          kind=match.value if match else "word", field=field.value if field else "any",
                          pattern=pattern, now=now)

    rule, created = await client.db(work)
    await reply(interaction, "filter_added", rule=rule, created=created, briefing=None, command="digest")


@digest_filter_group.command(name="list", description="Show your digest's filter rules")
async def digest_filter_list(interaction: discord.Interaction) -> None:
    client = client_of(interaction)

    def work(session: Session):
        digest = personal_digest_of(session=session, user_id=interaction.user.id)
        return filters_of(session=session, target_id=digest.id) if digest else []

    rules = await client.db(work)
    await reply(interaction, "filter_list", rules=rules, briefing=None, command="digest")


async def _your_rules(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    client = client_of(interaction)

    def work(session: Session):
        digest = personal_digest_of(session=session, user_id=interaction.user.id)
        return filters_of(session=session, target_id=digest.id) if digest else []

    return ranked_choices(current, filter_rule_labels(await client.db(work)))


@digest_filter_group.command(name="remove", description="Remove one of your digest's filter rules")
@app_commands.describe(rule="The rule to remove")
@app_commands.autocomplete(rule=_your_rules)
async def digest_filter_remove(interaction: discord.Interaction, rule: app_commands.Range[str, 1, 20]) -> None:
    client = client_of(interaction)

    def work(session: Session):
        digest = require_personal_digest(session=session, user_id=interaction.user.id)
        return remove_filter(session=session, target_id=digest.id, rule=rule)

    removed = await client.db(work)
    await reply(interaction, "filter_removed", rule=removed, briefing=None, command="digest")


def register(tree: app_commands.CommandTree) -> None:
    """Add this module's commands."""
    for command in (subscribe_command, unsubscribe_command, subscriptions_command, digest_group):
        tree.add_command(command)
