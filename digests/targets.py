"""Channel briefings, personal digests and topic subscriptions: creating, changing, finding them; and what
a slot's deliveries read of their targets (topics, guilds, saved searches, feeds) at once.

Every function validates what a user typed and raises InputError / NotFoundError with a message
that can be shown as it is.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from digests.archive import set_archive
from digests.collector import collector_paused
from digests.errors import InputError, NotFoundError
from digests.feed_routing import feeds_by_target
from digests.models import (
    DIGEST_STYLES,
    ChannelBriefing,
    MemberGuild,
    PersonalDigest,
    Subscription,
    Target,
    WebhookDigest,
)
from digests.saved_searches import add_saved_search, searches_by_target
from digests.scheduling import fires_at, next_slot, parse_days, period_at
from digests.selection import DAILY, Coverage, coverage
from digests.store import member_guilds
from digests.timeutil import parse_time_of_day, parse_timezone
from digests.topics import Taxonomy, Topic
from digests.webhook_identity import CLEAR, WebhookIdentity, parse_avatar_url, parse_thread_id, parse_username

T = TypeVar("T")

# A target as the code handles it: its kind's row, which carries its `Target` (see `digests.models.Target`).
AnyTarget = ChannelBriefing | PersonalDigest | WebhookDigest
DEFAULT_DIGEST_TIME = "08:00"
# A webhook digest has no schedule (`briefbot post` runs when cron says): it covers at most a week.
UNSCHEDULED_PERIOD = timedelta(days=7)
ALL = "all"
NO_WEBHOOK = CLEAR
# The kinds of channel a briefing can be set up in; in a forum or media channel each briefing is a new post.
CHANNEL_KINDS = ("text", "announcement", "forum", "media")
FORUM_KINDS = frozenset({"forum", "media"})
_WEBHOOK_URL_RE = re.compile(
    r"^https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api(?:/v\d+)?/webhooks/(\d{15,21})/([\w.-]{60,100})/?$"
)


def canonical_time(value: str) -> str:
    """`value` as HH:MM, or InputError."""
    return parse_time_of_day(value).strftime("%H:%M")


def canonical_timezone(value: str) -> str:
    """The IANA name of `value` (case-insensitive), or InputError."""
    return parse_timezone(value).key


def parse_style(value: str) -> str:
    """A digest style (`text` or `rich`), or InputError naming them."""
    style = value.strip().lower()
    if style not in DIGEST_STYLES:
        raise InputError(f"A digest's style is one of {', '.join(DIGEST_STYLES)} (not “{value[:40]}”).")
    return style


def resolve_topic(taxonomy: Taxonomy, value: str) -> Topic:
    """The topic named by slug or display name, or InputError."""
    topic = taxonomy.resolve(value or "")
    if topic is None:
        raise InputError(f"“{(value or '').strip()[:60]}” is not a topic. Use /topics to see them all.")
    return topic


def parse_topic_list(taxonomy: Taxonomy, value: str | None) -> list[str]:
    """Comma-separated topic slugs or names as slugs; empty (or `all`) means all topics."""
    names = [part.strip() for part in (value or "").split(",") if part.strip()]
    if names == [ALL]:
        return []
    return list(dict.fromkeys(resolve_topic(taxonomy, name).slug for name in names))


def parse_webhook_url(url: str) -> tuple[int, str]:
    """The webhook id and the URL of a Discord webhook URL, or InputError (which never repeats the token)."""
    match = _WEBHOOK_URL_RE.match((url or "").strip())
    if not match:
        raise InputError("That is not a Discord webhook URL (https://discord.com/api/webhooks/ID/TOKEN).")
    return int(match[1]), match[0].rstrip("/")


# Channel briefings ----------------------------------------------------------------------------


def setup_briefing(
    *,
    session: Session,
    taxonomy: Taxonomy,
    guild_id: int,
    channel_id: int,
    time_of_day: str,
    timezone: str,
    topics: str | None,
    days: str | None,
    mention_role_id: int | None,
    quiet_day_notice: bool | None,
    now: datetime,
    webhook_url: str | None = None,
    archive: str | None = None,
    placement: BriefingPlacement | None = None,
    webhook_username: str | None = None,
    webhook_avatar_url: str | None = None,
    webhook_thread: str | None = None,
    style: str | None = None,
) -> tuple[ChannelBriefing, bool]:
    """Create the channel's briefing, or update it; returns it and whether it is new.

    `webhook_url` None keeps the current route, `none` goes back to posting as the bot; the same for
    the webhook's name, avatar and thread. `archive` (`on`, `off`, `new-link`; None keeps it as it is)
    is its web archive: see `digests.archive`. `placement` says what kind of channel it is and how the
    briefing lands there (None: a text channel, as it was). `style` (`text` or `rich`; None keeps it) is how
    its digests look.
    """
    values = {
        "time_of_day": canonical_time(time_of_day),
        "timezone": canonical_timezone(timezone),
        "topics": ",".join(parse_topic_list(taxonomy, topics)),
        "days": parse_days(days),
    }
    briefing = session.exec(select(ChannelBriefing).where(col(ChannelBriefing.channel_id) == channel_id)).first()
    created = briefing is None
    if briefing is None:
        briefing = ChannelBriefing(guild_id=guild_id, channel_id=channel_id, created_at=now, **values)
    elif briefing.guild_id != guild_id:
        raise InputError("That channel belongs to another server.")
    else:
        for name, value in values.items():
            setattr(briefing, name, value)
    if mention_role_id is not None:
        briefing.mention_role_id = mention_role_id or None
    if quiet_day_notice is not None:
        briefing.quiet_day_notice = quiet_day_notice
    if webhook_url is not None:
        wants_bot = webhook_url.strip().lower() == NO_WEBHOOK
        briefing.webhook_url = None if wants_bot else parse_webhook_url(webhook_url)[1]
    if archive is not None:
        set_archive(briefing, archive)
    if style is not None:
        briefing.style = parse_style(style)
    briefing.webhook_username = _changed(webhook_username, parse_username, briefing.webhook_username)
    briefing.webhook_avatar_url = _changed(webhook_avatar_url, parse_avatar_url, briefing.webhook_avatar_url)
    briefing.webhook_thread_id = _changed(webhook_thread, parse_thread_id, briefing.webhook_thread_id)
    if placement is not None:
        _place(briefing, placement)
    session.add(briefing)
    session.flush()
    return briefing, created


@dataclass(frozen=True)
class BriefingPlacement:
    """What `/briefing setup` says about the channel and how the briefing lands there.

    `kind` is one of CHANNEL_KINDS; `tag_id` a forum tag (0 removes it, None keeps it) and
    `tag_required` whether the forum requires one; `open_thread` / `publish` None keep the setting.
    """

    kind: str = "text"
    tag_id: int | None = None
    tag_required: bool = False
    open_thread: bool | None = None
    publish: bool | None = None


def _place(briefing: ChannelBriefing, placement: BriefingPlacement) -> None:
    """Apply a placement, refusing options that do not fit the kind of channel."""
    forum = placement.kind in FORUM_KINDS
    if placement.tag_id and not forum:
        raise InputError("`tag:` is for forum and media channels: each briefing there is a post with that tag.")
    if placement.open_thread and forum:
        raise InputError("In a forum each briefing is a post already: `thread:` is for text channels.")
    if placement.publish and placement.kind != "announcement":
        raise InputError("`publish:` is for announcement channels, whose messages other servers can follow.")
    briefing.channel_kind = placement.kind
    if placement.tag_id is not None:
        briefing.forum_tag_id = placement.tag_id or None
    if not forum:
        briefing.forum_tag_id = None
    elif placement.tag_required and briefing.forum_tag_id is None:
        raise InputError("This forum requires a tag on every post: choose one with `tag:`.")
    if placement.open_thread is not None:
        briefing.open_thread = placement.open_thread
    if placement.publish is not None:
        briefing.publish = placement.publish
    if placement.kind != "announcement":
        briefing.publish = False


def _changed(value: str | None, parse: Callable[[str], T], current: T | None) -> T | None:
    """The new value of an optional setting: None keeps `current`, `none` clears it, anything else is parsed."""
    if value is None:
        return current
    return None if value.strip().lower() == CLEAR else parse(value)


def briefings_of(*, session: Session, guild_id: int) -> list[ChannelBriefing]:
    """The guild's briefings, in the order they were set up."""
    return list(session.exec(select(ChannelBriefing).where(col(ChannelBriefing.guild_id) == guild_id)
                             .order_by(col(ChannelBriefing.id))))


def pick_briefing(
    *, session: Session, guild_id: int, channel_id: int | None, current_channel_id: int | None
) -> ChannelBriefing:
    """The briefing of `channel_id`; without one, that of the current channel, else the guild's only one."""
    briefings = briefings_of(session=session, guild_id=guild_id)
    by_channel = {briefing.channel_id: briefing for briefing in briefings}
    if channel_id is not None:
        if channel_id not in by_channel:
            raise NotFoundError(f"<#{channel_id}> has no briefing. Set one up with /briefing setup.")
        return by_channel[channel_id]
    if current_channel_id in by_channel:
        return by_channel[current_channel_id]
    if len(briefings) == 1:
        return briefings[0]
    if not briefings:
        raise NotFoundError("This server has no briefing yet. Set one up with /briefing setup.")
    raise InputError("This server has several briefings: name the channel.")


def remove_briefing(*, session: Session, briefing: ChannelBriefing) -> None:
    """Delete a briefing (its past deliveries stay, as history)."""
    session.delete(briefing)


# Personal digests and subscriptions -----------------------------------------------------------


def personal_digest_of(*, session: Session, user_id: int) -> PersonalDigest | None:
    """The user's digest settings, if they ever subscribed or scheduled."""
    return session.exec(select(PersonalDigest).where(col(PersonalDigest.user_id) == user_id)).first()


def subscribed_topics(*, session: Session, taxonomy: Taxonomy, user_id: int) -> list[Topic]:
    """The user's topics, in taxonomy order."""
    slugs = set(session.exec(select(Subscription.topic_slug).where(col(Subscription.user_id) == user_id)))
    return _in_taxonomy_order(taxonomy, slugs)


def subscribe(
    *, session: Session, taxonomy: Taxonomy, user_id: int, topic: str, default_timezone: str, now: datetime
) -> tuple[Topic, PersonalDigest, bool]:
    """Add a topic to the user's digest; returns the topic, the digest and whether it was already there.

    The first subscription schedules the digest daily at 08:00 in `default_timezone`.
    """
    chosen = resolve_topic(taxonomy, topic)
    digest = _digest_for(session, user_id, default_timezone, now)
    already = session.get(Subscription, (user_id, chosen.slug)) is not None
    if not already:
        session.add(Subscription(user_id=user_id, topic_slug=chosen.slug, created_at=now))
    session.flush()
    return chosen, digest, already


def subscribe_query(
    *, session: Session, user_id: int, query: str, default_timezone: str, now: datetime
) -> tuple[str, PersonalDigest]:
    """Save a search in the user's digest (see `digests.saved_searches`); returns its words and the digest.

    The digest is made as `subscribe` makes it; a refused search leaves nothing behind.
    """
    digest = _digest_for(session, user_id, default_timezone, now)
    saved = add_saved_search(session=session, target_id=digest.id, query=query, now=now)
    return saved.query, digest


def _digest_for(session: Session, user_id: int, default_timezone: str, now: datetime) -> PersonalDigest:
    """The user's digest, made (daily at 08:00 in `default_timezone`) if they have none."""
    digest = personal_digest_of(session=session, user_id=user_id)
    if digest is None:
        digest = PersonalDigest(user_id=user_id, time_of_day=DEFAULT_DIGEST_TIME, timezone=default_timezone,
                                created_at=now)
        session.add(digest)
        session.flush()
    return digest


def unsubscribe(*, session: Session, taxonomy: Taxonomy, user_id: int, topic: str) -> list[Topic]:
    """Remove a topic (or `all`) from the user's digest; returns the topics removed."""
    current = subscribed_topics(session=session, taxonomy=taxonomy, user_id=user_id)
    if (topic or "").strip().lower() == ALL:
        removing = current
    else:
        chosen = resolve_topic(taxonomy, topic)
        if chosen not in current:
            raise NotFoundError(f"You are not subscribed to {chosen.label}.")
        removing = [chosen]
    if removing:
        session.exec(sa.delete(Subscription).where(
            col(Subscription.user_id) == user_id,
            col(Subscription.topic_slug).in_([t.slug for t in removing]),
        ))
    return removing


def schedule_digest(
    *, session: Session, user_id: int, time_of_day: str, timezone: str, now: datetime, days: str | None = None
) -> PersonalDigest:
    """Set when the user's digest is sent; `days` None keeps its days (a new digest's: daily)."""
    digest = personal_digest_of(session=session, user_id=user_id)
    values = {"time_of_day": canonical_time(time_of_day), "timezone": canonical_timezone(timezone)}
    if days is not None:
        values["days"] = parse_days(days)
    if digest is None:
        digest = PersonalDigest(user_id=user_id, created_at=now, **values)
    else:
        for name, value in values.items():
            setattr(digest, name, value)
    session.add(digest)
    session.flush()
    return digest


def set_digest_style(*, session: Session, user_id: int, style: str) -> PersonalDigest:
    """Choose how the user's digest looks (`text` or `rich`)."""
    digest = require_personal_digest(session=session, user_id=user_id)
    digest.style = parse_style(style)
    session.add(digest)
    return digest


def require_personal_digest(*, session: Session, user_id: int) -> PersonalDigest:
    """The user's digest, or NotFoundError telling them how to start one."""
    digest = personal_digest_of(session=session, user_id=user_id)
    if digest is None:
        raise NotFoundError("You have no personal digest yet. Start one with /subscribe.")
    return digest


def remember_dm_channel(*, session: Session, user_id: int, channel_id: int | None) -> None:
    """Keep (or, with None, forget) the DM channel Discord opened with a user who has a digest."""
    session.execute(sa.update(PersonalDigest).where(col(PersonalDigest.user_id) == user_id)
                    .values(dm_channel_id=channel_id).execution_options(synchronize_session=False))


def upsert_webhook_digest(
    *, session: Session, taxonomy: Taxonomy, url: str, topics: str | None, timezone: str, now: datetime,
    identity: WebhookIdentity | None = None,
) -> WebhookDigest:
    """The digest of a webhook (created on first use), with these topics, timezone, name, avatar and thread."""
    webhook_id, clean_url = parse_webhook_url(url)
    digest = session.exec(select(WebhookDigest).where(col(WebhookDigest.webhook_id) == webhook_id)).first()
    if digest is None:
        digest = WebhookDigest(webhook_id=webhook_id, webhook_url=clean_url, timezone="UTC", created_at=now)
    digest.webhook_url = clean_url
    digest.topics = ",".join(parse_topic_list(taxonomy, topics))
    digest.timezone = canonical_timezone(timezone)
    identity = identity or WebhookIdentity()
    digest.username, digest.avatar_url = identity.username, identity.avatar_url
    digest.thread_id, digest.thread_name = identity.thread_id, identity.thread_name
    digest.paused, digest.pause_reason = False, None
    session.add(digest)
    session.flush()
    return digest


def period_of(target: AnyTarget, at: datetime) -> timedelta:
    """The target's period at `at` (see `digests.scheduling.period_at`).

    A webhook digest has no schedule: its period is the time since its last post (a day before the
    first), at most `UNSCHEDULED_PERIOD`, so a cron job that posts weekly gets a weekly digest.
    """
    if isinstance(target, WebhookDigest):
        if target.last_delivered_at is None:
            return DAILY
        return min(max(at - target.last_delivered_at, timedelta(0)), UNSCHEDULED_PERIOD)
    return period_at(time_of_day=target.time_of_day, timezone=target.timezone, days=target.days, at=at)


def coverage_of(target: AnyTarget, at: datetime) -> Coverage:
    """What the target's digest at `at` covers, from its watermark and its schedule's period."""
    return coverage(since=target.last_delivered_at, now=at, period=period_of(target, at))


def next_coverage(target: ChannelBriefing | PersonalDigest, now: datetime) -> Coverage:
    """What the target's next scheduled digest will cover, as things stand at `now`."""
    slot = next_slot(time_of_day=target.time_of_day, timezone=target.timezone, days=target.days, after=now)
    return coverage_of(target, slot)


@dataclass(frozen=True)
class Readers:
    """Who reads a personal digest: its user's topics (taxonomy order) and the guilds whose stories they see."""

    topics: list[Topic]
    guild_ids: list[int]


def readers_of(*, session: Session, taxonomy: Taxonomy, user_id: int) -> Readers:
    """The user's topics and guilds, read now."""
    return Readers(subscribed_topics(session=session, taxonomy=taxonomy, user_id=user_id),
                   member_guilds(session=session, user_id=user_id))


@dataclass(frozen=True)
class TargetChoices:
    """What a target chose besides its topics: its saved searches (their words, oldest first) and the feeds
    it is limited to (none: every feed)."""

    searches: tuple[str, ...] = ()
    feed_ids: frozenset[int] = frozenset()


def choices_of(*, session: Session, target_id: int) -> TargetChoices:
    """The target's saved searches and feeds, read now."""
    return _choices(session, [target_id]).get(target_id, TargetChoices())


def _choices(session: Session, target_ids: list[int] | sa.Select) -> dict[int, TargetChoices]:
    """The choices of these targets (a list, or a SELECT of their ids) that chose anything."""
    searches = searches_by_target(session=session, target_ids=target_ids)
    feeds = feeds_by_target(session=session, target_ids=target_ids)
    return {target_id: TargetChoices(tuple(searches.get(target_id, ())), feeds.get(target_id, frozenset()))
            for target_id in searches.keys() | feeds.keys()}


class SlotReaders:
    """The topics and guilds of every personal digest due at a slot, and the saved searches and feeds of every
    target due then, read once for the slot's deliveries.

    Like the story pools (`digests.selection.StoryPools`), this is a snapshot: taken when the first
    delivery of the slot asks, it serves the slot's thousands of digests with a few queries instead
    of several each. A change a user makes after their slot began counts from their next slot. A
    target the snapshot does not know (its schedule changed since) is read on its own. The latest
    `slots` slots are kept (thread-safe: the deliverer's workers share it).
    """

    def __init__(self, slots: int = 4) -> None:
        self._slots: OrderedDict[datetime, Future[dict[int, Readers]]] = OrderedDict()
        self._choices: OrderedDict[datetime, Future[_DueChoices]] = OrderedDict()
        self._size = slots
        self._lock = threading.Lock()

    def get(self, *, session: Session, taxonomy: Taxonomy, user_id: int, slot_at: datetime) -> Readers:
        """The readers of the user's digest at `slot_at`."""
        found = self._snapshot(self._slots, slot_at, lambda: _readers_due_at(session, taxonomy, slot_at)).get(user_id)
        return found if found is not None else readers_of(session=session, taxonomy=taxonomy, user_id=user_id)

    def choices(self, *, session: Session, target_id: int, slot_at: datetime) -> TargetChoices:
        """The saved searches and feeds of the target's digest at `slot_at`."""
        due = self._snapshot(self._choices, slot_at, lambda: _choices_due_at(session, slot_at))
        if target_id not in due.targets:
            return choices_of(session=session, target_id=target_id)
        return due.chosen.get(target_id, TargetChoices())

    def _snapshot(self, kept: OrderedDict[datetime, Future[T]], slot_at: datetime, build: Callable[[], T]) -> T:
        """The snapshot of `slot_at` in `kept`, built by the first worker to ask (the others wait for it)."""
        with self._lock:
            building = kept.get(slot_at)
            mine = building is None
            if building is None:
                building = kept[slot_at] = Future()
                while len(kept) > self._size:
                    kept.popitem(last=False)
        if mine:
            try:
                with collector_paused():  # thousands of rows, kept for the slot: see digests.collector
                    building.set_result(build())
            except BaseException as error:
                with self._lock:
                    kept.pop(slot_at, None)
                building.set_exception(error)
        return building.result()


@dataclass(frozen=True)
class _DueChoices:
    """The targets due at a slot, and the choices of those that chose anything."""

    targets: frozenset[int]
    chosen: dict[int, TargetChoices]


def _choices_due_at(session: Session, slot_at: datetime) -> _DueChoices:
    """The saved searches and feeds of every unpaused briefing and personal digest with a slot at `slot_at`."""
    unpaused = (col(Target.kind).in_(("channel", "user")), col(Target.paused).is_(False))
    due = _schedules_due(session, unpaused, slot_at)
    if not due:
        return _DueChoices(frozenset(), {})
    targets = sa.select(Target.id).where(
        *unpaused, sa.tuple_(col(Target.time_of_day), col(Target.timezone), col(Target.days)).in_(due))
    return _DueChoices(frozenset(session.execute(targets).scalars()), _choices(session, targets))


def _schedules_due(session: Session, conditions: tuple, slot_at: datetime) -> list[tuple[str, str, str]]:
    """The schedules (time, zone, days) of the targets meeting `conditions` that have a slot at `slot_at`."""
    schedules = session.execute(
        sa.select(Target.time_of_day, Target.timezone, Target.days).distinct().where(*conditions)).all()
    return [(time_of_day, zone, days) for time_of_day, zone, days in schedules
            if fires_at(time_of_day=time_of_day, timezone=zone, days=days, slot_at=slot_at)]


def _readers_due_at(session: Session, taxonomy: Taxonomy, slot_at: datetime) -> dict[int, Readers]:
    """The readers of every unpaused personal digest with a slot at `slot_at`."""
    unpaused = (col(Target.kind) == "user", col(Target.paused).is_(False))
    due = _schedules_due(session, unpaused, slot_at)
    if not due:
        return {}
    users = sa.select(PersonalDigest.user_id).join(Target, col(Target.id) == col(PersonalDigest.id)).where(
        *unpaused, sa.tuple_(col(Target.time_of_day), col(Target.timezone), col(Target.days)).in_(due))
    slugs: dict[int, set[str]] = {user_id: set() for user_id in session.execute(users).scalars()}
    for user_id, slug in session.execute(sa.select(Subscription.user_id, Subscription.topic_slug)
                                         .where(col(Subscription.user_id).in_(users))):
        slugs[user_id].add(slug)
    guilds: dict[int, list[int]] = {}
    for user_id, guild_id in session.execute(sa.select(MemberGuild.user_id, MemberGuild.guild_id)
                                             .where(col(MemberGuild.user_id).in_(users))):
        guilds.setdefault(user_id, []).append(guild_id)
    ordered: dict[frozenset[str], list[Topic]] = {}  # thousands of users follow a few hundred topic sets
    readers = {}
    for user_id, followed in slugs.items():
        key = frozenset(followed)
        if key not in ordered:
            ordered[key] = _in_taxonomy_order(taxonomy, key)
        readers[user_id] = Readers(ordered[key], guilds.get(user_id, []))
    return readers


def _in_taxonomy_order(taxonomy: Taxonomy, slugs: Sequence[str] | set[str]) -> list[Topic]:
    return [topic for topic in taxonomy if topic.slug in slugs]


def set_paused(target: AnyTarget, *, paused: bool, reason: str | None = None) -> None:
    """Pause (with the reason shown to users) or resume a briefing or a digest."""
    target.paused = paused
    target.pause_reason = reason[:300] if paused and reason else None
