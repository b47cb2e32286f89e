"""Delivering one digest to one target for one slot, exactly once.

The slot is claimed in the database before anything is sent: the unique (target, slot) row of
`Delivery` is the guard, and it stores the rendered parts, so a delivery resumed after a crash
sends the same messages. Each part Discord accepts is recorded with its message id; a resumed
delivery starts at the next unsent part (the transport's message nonce covers the part that was in
flight). The target's watermark advances to the slot only when every part is delivered, so no story
is lost.

Where the parts land is the target's `Placement`. In a forum (or media) channel the first part starts a
new post titled with the slot's date and the rest go into the post; the request is noted on the
delivery before it is made (`thread_requested_at`), so a delivery resumed after a crash first looks for
the post it may have made (`Publisher.find_post`) and reuses it. In a text channel a discussion thread
can be opened from the first part (Discord makes one thread per message, so opening it again finds
it). In an announcement channel every part can be crossposted once all are sent, each recorded.

The transport is a `Publisher`; `bot.posting` implements it for Discord, tests with a recorder.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from digests import archive
from digests.embeds import Embed
from digests.errors import DeliveryError
from digests.filters import SlotFilters, filter_set_of
from digests.message_parts import Part, content_of, dump_parts, embed_of, load_parts
from digests.models import ChannelBriefing, Delivery, DeliveryPart, Target, WebhookDigest
from digests.rendering import Renderer
from digests.selection import Digest, StoryPools, select_digest
from digests.store import session_scope
from digests.targets import (
    FORUM_KINDS,
    AnyTarget,
    SlotReaders,
    TargetChoices,
    choices_of,
    coverage_of,
    readers_of,
    set_paused,
)
from digests.telemetry import NO_TELEMETRY, DeliveryOutcome, Telemetry
from digests.timeutil import parse_timezone
from digests.topics import Taxonomy

log = logging.getLogger(__name__)

FINISHED = frozenset({"done", "failed", "empty"})
# How long a process holds an unfinished delivery without renewing it (it renews with every part).
LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Destination:
    """Whose digest it is (`kind`, `id`: a channel, a user's DMs, a webhook) and, for webhooks, the route.

    `webhook_url` holds the webhook's token, so it never appears in a repr or a log line. For a
    user, `dm_channel_id` is their DM channel when one was opened before.
    """

    kind: Literal["channel", "user", "webhook"]
    id: int
    webhook_url: str | None = field(default=None, repr=False)
    dm_channel_id: int | None = None
    guild_id: int | None = None  # a channel's guild: where a post made before a crash is looked for
    thread_id: int | None = None  # a thread of the channel that every part goes into (a webhook's)
    username: str | None = None  # a webhook's display name and avatar for these messages
    avatar_url: str | None = None


@dataclass(frozen=True)
class Placement:
    """How a digest's parts land: as messages in the channel unless one of these says otherwise.

    `forum_post`: the first part starts a new post, titled with the slot's date (and `title_name`),
    tagged `tag_id`; the rest go into it. `discussion_thread`: a thread is opened from the first part.
    `publish`: every part is crossposted to the servers following the announcement channel.
    """

    forum_post: bool = False
    discussion_thread: bool = False
    publish: bool = False
    tag_id: int | None = None
    title_name: str | None = None


class Publisher(Protocol):
    """Sends messages, starts posts and threads, crossposts; raises DeliveryError when Discord will not."""

    async def send(self, destination: Destination, content: str, *, nonce: str, mention_role_id: int | None,
                   thread_id: int | None = None, embed: Embed | None = None) -> int:
        """Post `content` (into `thread_id`, a thread of the destination, if given) with `embed` below it, if
        given; returns the message id.

        The same `nonce` twice must not post twice.
        """
        ...

    async def start_post(self, destination: Destination, *, title: str, content: str, tag_id: int | None,
                         mention_role_id: int | None, embed: Embed | None = None) -> int:
        """Start a forum post with `content` (and `embed`) as its first message; returns the post's (thread's) id.

        A forum post's first message has the post's id.
        """
        ...

    async def find_post(self, destination: Destination, *, title: str, since: datetime) -> int | None:
        """The id of a post titled `title` that this bot started in the destination at or after `since`, if any."""
        ...

    async def open_thread(self, destination: Destination, *, message_id: int, title: str) -> int:
        """Open a thread from a message (or find the one it has); returns the thread's id."""
        ...

    async def crosspost(self, destination: Destination, *, message_id: int) -> None:
        """Crosspost a message of an announcement channel (one already crossposted is fine)."""
        ...


def destination_of(target: AnyTarget) -> Destination:
    """Where a target's digest goes."""
    if isinstance(target, ChannelBriefing):
        if target.webhook_url is None:
            return Destination("channel", target.channel_id, guild_id=target.guild_id)
        return Destination("channel", target.channel_id, target.webhook_url, guild_id=target.guild_id,
                           thread_id=target.webhook_thread_id, username=target.webhook_username,
                           avatar_url=target.webhook_avatar_url)
    if isinstance(target, WebhookDigest):
        return Destination("webhook", target.webhook_id, target.webhook_url, thread_id=target.thread_id,
                           username=target.username, avatar_url=target.avatar_url)
    return Destination("user", target.user_id, dm_channel_id=target.dm_channel_id)


def placement_of(target: AnyTarget) -> Placement:
    """Where a target's parts land (see `Placement`); a webhook bound to one thread always posts there."""
    if isinstance(target, ChannelBriefing):
        in_thread = target.webhook_url is not None and target.webhook_thread_id is not None
        forum = target.channel_kind in FORUM_KINDS
        return Placement(forum_post=forum and not in_thread,
                         discussion_thread=target.open_thread and not forum and not in_thread,
                         publish=target.publish and target.channel_kind == "announcement" and not in_thread,
                         tag_id=target.forum_tag_id if forum else None)
    if isinstance(target, WebhookDigest):
        return Placement(forum_post=target.thread_name is not None and target.thread_id is None,
                         title_name=target.thread_name)
    return Placement()



@dataclass(frozen=True)
class Composed:
    """A target's digest at some moment and its messages; `digest` is None when nothing was selected.

    `rules` is how many filter rules the target has (the digest says how many events they left out).
    """

    digest: Digest | None
    parts: list[Part]
    rules: int = 0


def compose(
    *, session: Session, taxonomy: Taxonomy, renderer: Renderer, target: AnyTarget, now: datetime,
    pools: StoryPools | None = None, readers: SlotReaders | None = None, filters: SlotFilters | None = None,
) -> Composed:
    """The target's digest if it were delivered at `now`, and its messages ([] when there is nothing to post).

    It covers what arrived since the target's last delivery, at most its schedule's period (see
    `digests.targets.coverage_of`), and holds what passes the target's filters. A channel sees public
    stories and its guild's; a user those of the guilds they were seen in; a webhook, public stories
    only. A briefing or a personal digest adds its saved searches' sections, and a briefing limited to
    feeds takes only their stories. `pools` shares the selection, `readers` the users' topics and
    guilds and the targets' saved searches and feeds, and `filters` the targets' filter rules, with the
    other targets of a slot (`now` is then the slot).
    """
    tz = parse_timezone(target.timezone)
    covered = coverage_of(target, now)
    rules = filters.get(session=session, target=target, slot_at=now) if filters \
        else filter_set_of(session=session, target_id=target.id)
    if isinstance(target, ChannelBriefing):
        chosen = _choices(session, target, now, readers)
        digest = select_digest(session=session, taxonomy=taxonomy, topics=target.topic_slugs, since=None, now=now,
                               covered=covered, guild_ids=[target.guild_id], pools=pools, searches=chosen.searches,
                               feed_ids=chosen.feed_ids, filters=rules)
        if digest.is_empty:
            quiet = renderer.render_parts("quiet_day.md.j2", now=now, tz=tz, covered=covered) \
                if target.quiet_day_notice else []
            return Composed(digest, quiet, len(rules))
        return Composed(digest, renderer.briefing(digest, tz=tz, mention_role_id=target.mention_role_id,
                                                  covered=covered, style=target.style), len(rules))
    if isinstance(target, WebhookDigest):
        digest = select_digest(session=session, taxonomy=taxonomy, topics=target.topic_slugs, since=None, now=now,
                               covered=covered, guild_ids=[], pools=pools, filters=rules)
        return Composed(digest, [] if digest.is_empty else renderer.briefing(digest, tz=tz, covered=covered),
                        len(rules))
    found = readers.get(session=session, taxonomy=taxonomy, user_id=target.user_id, slot_at=now) if readers \
        else readers_of(session=session, taxonomy=taxonomy, user_id=target.user_id)
    chosen = _choices(session, target, now, readers)
    if not found.topics and not chosen.searches:
        return Composed(None, [], len(rules))
    digest = select_digest(session=session, taxonomy=taxonomy, topics=[t.slug for t in found.topics], since=None,
                           now=now, covered=covered, guild_ids=found.guild_ids, pools=pools,
                           searches=chosen.searches, follows_topics=bool(found.topics), filters=rules)
    return Composed(digest, [] if digest.is_empty else renderer.personal_digest(
        digest, tz=tz, topics=found.topics, covered=covered, style=target.style, searches=chosen.searches),
        len(rules))


def _choices(session: Session, target: AnyTarget, now: datetime, readers: SlotReaders | None) -> TargetChoices:
    """The target's saved searches and feeds: from the slot's snapshot, or read now."""
    if readers is not None:
        return readers.choices(session=session, target_id=target.id, slot_at=now)
    return choices_of(session=session, target_id=target.id)


def render_target(
    *, session: Session, taxonomy: Taxonomy, renderer: Renderer, target: AnyTarget, now: datetime,
    pools: StoryPools | None = None, readers: SlotReaders | None = None, filters: SlotFilters | None = None,
) -> list[Part]:
    """The messages of the target's digest if it were delivered at `now` ([] when there is nothing)."""
    return compose(session=session, taxonomy=taxonomy, renderer=renderer, target=target, now=now, pools=pools,
                   readers=readers, filters=filters).parts


@dataclass
class Claim:
    """A claimed delivery: its row, its parts, which of them Discord already has, and whether it is ours.

    `owned` is False when another process holds the lease on an unfinished delivery; `created` is
    True when this claim made the row, so an empty digest is counted once across processes.
    """

    delivery: Delivery
    parts: list[Part]
    sent: dict[int, int]  # part index -> message id
    owned: bool = True
    created: bool = False  # this claim made the row (it was not another worker's or process's)
    published: set[int] = field(default_factory=set)


def claim(
    *,
    session: Session,
    taxonomy: Taxonomy,
    renderer: Renderer,
    target: AnyTarget,
    slot_at: datetime,
    now: datetime,
    owner: str = "",
    lease: timedelta = LEASE,
    pools: StoryPools | None = None,
    readers: SlotReaders | None = None,
    filters: SlotFilters | None = None,
) -> Claim:
    """Claim (target, slot) for `owner`, rendering its digest; or take over an unfinished one to resume it.

    The digest is the one of the slot's moment, whenever the claim happens: what was ingested by
    `slot_at` and after the previous slot delivered, so targets of one slot share their selection
    (`pools`, `readers`, `filters`) and a late delivery leaves what arrived since to the next slot.

    An unfinished delivery is taken over only when its lease has expired, is `owner`'s own, or was
    held by a process of this host that is gone (a restart after a crash resumes at once): the
    conditional UPDATE is the lock, so two processes never both send its parts.
    """
    destination = destination_of(target)
    existing = _find(session, destination, slot_at)
    if existing is None:
        # The watermark as stored now: a command may have posted (`/briefing post-now`) since the target
        # was loaded, and then that digest already holds this slot's stories.
        set_committed_value(target.target, "last_delivered_at", _stored_watermark(session, target))
        passed = target.last_delivered_at is not None and target.last_delivered_at >= slot_at
        composed = Composed(None, []) if passed else compose(session=session, taxonomy=taxonomy, renderer=renderer,
                                                             target=target, now=slot_at, pools=pools, readers=readers,
                                                             filters=filters)
        parts = composed.parts
        delivery = Delivery(target_kind=destination.kind, target_id=destination.id, slot_at=slot_at,
                            status="sending" if parts else "empty", parts=dump_parts(parts), claimed_at=now,
                            lease_owner=owner, lease_until=now + lease)
        try:
            with session.begin_nested():
                session.add(delivery)
        except sa.exc.IntegrityError:  # another worker claimed it between our look and our insert
            existing = _find(session, destination, slot_at)
        else:
            if not parts:
                _advance_watermark(session, target, slot_at)
            elif isinstance(target, ChannelBriefing) and target.archive and composed.digest is not None:
                # In the claim's transaction: the delivery and its archive entry are written together.
                archive.record(session=session, briefing=target, delivery=delivery, digest=composed.digest)
            return Claim(delivery, parts, {}, created=True)
    owned = existing.status in FINISHED or _take_lease(session, existing, owner=owner, now=now, lease=lease)
    rows = session.exec(select(DeliveryPart).where(col(DeliveryPart.delivery_id) == existing.id)).all()
    return Claim(existing, load_parts(existing.parts), {row.part_index: row.message_id for row in rows}, owned,
                 published={row.part_index for row in rows if row.published})


def process_name() -> str:
    """This process, as a lease owner: host, pid and a random tag (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _owner_is_gone(owner: str | None) -> bool:
    """True when `owner` was a process on this host that no longer runs (it crashed or was killed)."""
    host, _, rest = (owner or "").partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, but another user's
        return False
    return False


def _take_lease(session: Session, delivery: Delivery, *, owner: str, now: datetime, lease: timedelta) -> bool:
    """Take the lease of an unfinished delivery if it is ours, expired, or held by a dead local process."""
    free = [col(Delivery.lease_owner) == owner, col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now]
    if _owner_is_gone(delivery.lease_owner):
        free.append(col(Delivery.lease_owner) == delivery.lease_owner)
    taken = session.execute(
        sa.update(Delivery)
        .where(col(Delivery.id) == delivery.id, col(Delivery.status) == "sending", sa.or_(*free))
        .values(lease_owner=owner, lease_until=now + lease)
        .execution_options(synchronize_session=False)
    ).rowcount
    return taken == 1


def _find(session: Session, destination: Destination, slot_at: datetime) -> Delivery | None:
    return session.exec(select(Delivery).where(
        col(Delivery.target_kind) == destination.kind,
        col(Delivery.target_id) == destination.id,
        col(Delivery.slot_at) == slot_at,
    )).first()


def _stored_watermark(session: Session, target: AnyTarget) -> datetime | None:
    return session.execute(sa.select(Target.last_delivered_at).where(col(Target.id) == target.id)).scalar_one_or_none()


def _advance_watermark(session: Session, target: AnyTarget, slot_at: datetime) -> None:
    """Move the target's watermark forward to `slot_at`, never back: a later slot or a post-now may be past it."""
    watermark = col(Target.last_delivered_at)
    session.execute(sa.update(Target)
                    .where(col(Target.id) == target.id, sa.or_(watermark.is_(None), watermark < slot_at))
                    .values(last_delivered_at=slot_at).execution_options(synchronize_session=False))


@dataclass(frozen=True)
class DeliveryReport:
    """What happened to one delivery."""

    status: str
    parts_sent: int
    parts_total: int
    message_ids: tuple[int, ...]
    error: str | None = None


class Deliverer:
    """Runs deliveries: database steps in a worker thread, sends on the event loop."""

    def __init__(self, *, engine: sa.Engine, taxonomy: Taxonomy, renderer: Renderer, publisher: Publisher,
                 clock: Callable[[], datetime], owner: str | None = None, lease: timedelta = LEASE,
                 telemetry: Telemetry = NO_TELEMETRY) -> None:
        self.owner = owner or process_name()
        self.telemetry = telemetry
        self.lease = lease
        self.pools = StoryPools()
        self.readers = SlotReaders()
        self.filters = SlotFilters()
        self.engine = engine
        self.taxonomy = taxonomy
        self.renderer = renderer
        self.publisher = publisher
        self.clock = clock

    async def deliver(self, target: AnyTarget, *, slot_at: datetime) -> DeliveryReport:
        """Deliver (or resume) the target's digest for `slot_at`; a transient DeliveryError leaves it to a retry."""
        kind = destination_of(target).kind
        try:
            report, outcome = await self._deliver(target, slot_at)
        except DeliveryError:  # only transient ones get out of `_deliver`
            self.telemetry.delivery_ended(kind, "postponed")
            raise
        except Exception:
            self.telemetry.delivery_ended(kind, "error")
            raise
        if outcome is not None:
            self.telemetry.delivery_ended(kind, outcome)
        return report

    async def _deliver(self, target: AnyTarget, slot_at: datetime) -> tuple[DeliveryReport, DeliveryOutcome | None]:
        """The delivery, and how it ended here (None: it was finished before, or another process holds it)."""
        claimed = await asyncio.to_thread(self._claim, target, slot_at)
        delivery = claimed.delivery
        if delivery.status in FINISHED or not claimed.owned:
            outcome: DeliveryOutcome | None = "empty" if claimed.created and delivery.status == "empty" else None
            return await asyncio.to_thread(self._report, delivery.id), outcome
        destination = destination_of(target)
        try:
            await self._send_parts(target, claimed, destination)
            if placement_of(target).publish:
                await self._publish_parts(claimed, destination)
        except DeliveryError as error:
            if not error.permanent:
                raise
            await asyncio.to_thread(self._fail, delivery.id, target, error.reason)
            log.warning("delivery %s to %s %s failed: %s", delivery.id, destination.kind, destination.id,
                        error.reason)
            return await asyncio.to_thread(self._report, delivery.id), "failed"
        await asyncio.to_thread(self._finish, delivery.id, target)
        report = await asyncio.to_thread(self._report, delivery.id)
        log.info("delivered %s to %s %s for slot %s: %d part(s)", delivery.id, destination.kind, destination.id,
                 slot_at.isoformat(), report.parts_sent)
        return report, "done"

    async def _send_parts(self, target: AnyTarget, claimed: Claim, destination: Destination) -> None:
        """Send the parts not sent yet, starting the post or opening the thread the placement asks for."""
        delivery, sent = claimed.delivery, claimed.sent
        placement = placement_of(target)
        mention = target.mention_role_id if isinstance(target, ChannelBriefing) else None
        title = ""  # rendered only for a post or a thread: a fan-out of plain messages skips the template
        if placement.forum_post or placement.discussion_thread:
            title = self.renderer.thread_title(slot_at=delivery.slot_at, tz=parse_timezone(target.timezone),
                                               name=placement.title_name)
        thread_id = delivery.thread_id
        for index, part in enumerate(claimed.parts):
            # A publisher that never posts in threads or embeds needs no such argument.
            embed = {"embed": embed_of(part)} if embed_of(part) else {}
            if index not in sent and index == 0 and placement.forum_post:
                thread_id = sent[0] = await self._start_post(delivery, destination, placement, title, part, mention)
                self.telemetry.part_sent(destination.kind)
            elif index not in sent:
                into = thread_id if placement.forum_post else destination.thread_id
                where = {"thread_id": into} if into else {}
                sent[index] = await self.publisher.send(destination, content_of(part), nonce=f"bb{delivery.id}p{index}",
                                                        mention_role_id=mention, **where, **embed)
                await asyncio.to_thread(self._record_part, delivery.id, index, sent[index])
                self.telemetry.part_sent(destination.kind)
            if index == 0 and placement.discussion_thread and thread_id is None:
                thread_id = await self.publisher.open_thread(destination, message_id=sent[0], title=title)
                await asyncio.to_thread(self._record_thread, delivery.id, thread_id)

    async def _start_post(self, delivery: Delivery, destination: Destination, placement: Placement, title: str,
                          part: Part, mention: int | None) -> int:
        """Start the delivery's forum post with its first part, or find the one a crashed run started."""
        thread_id = None
        if delivery.thread_requested_at is not None:
            thread_id = await self.publisher.find_post(destination, title=title, since=delivery.thread_requested_at)
            if thread_id is not None:
                log.info("delivery %s resumes in post %s, started before a restart", delivery.id, thread_id)
        if thread_id is None:
            delivery.thread_requested_at = self.clock()
            await asyncio.to_thread(self._note_thread_request, delivery.id, delivery.thread_requested_at)
            embed = {"embed": embed_of(part)} if embed_of(part) else {}
            thread_id = await self.publisher.start_post(destination, title=title, content=content_of(part),
                                                        tag_id=placement.tag_id, mention_role_id=mention, **embed)
        await asyncio.to_thread(self._record_part, delivery.id, 0, thread_id, thread_id=thread_id)
        return thread_id

    async def _publish_parts(self, claimed: Claim, destination: Destination) -> None:
        """Crosspost every sent part not crossposted yet, recording each."""
        for index, message_id in sorted(claimed.sent.items()):
            if index not in claimed.published:
                await self.publisher.crosspost(destination, message_id=message_id)
                await asyncio.to_thread(self._record_published, claimed.delivery.id, index)
                claimed.published.add(index)

    async def preview(self, target: AnyTarget) -> Composed:
        """The digest and messages the target would get now, without claiming anything."""
        return await asyncio.to_thread(self._preview, target)

    def _preview(self, target: AnyTarget) -> Composed:
        with session_scope(self.engine) as session:
            session.add(target)
            return compose(session=session, taxonomy=self.taxonomy, renderer=self.renderer, target=target,
                           now=self.clock())

    def _claim(self, target: AnyTarget, slot_at: datetime) -> Claim:
        with session_scope(self.engine) as session:
            session.add(target)
            return claim(session=session, taxonomy=self.taxonomy, renderer=self.renderer, target=target,
                         slot_at=slot_at, now=self.clock(), owner=self.owner, lease=self.lease, pools=self.pools,
                         readers=self.readers, filters=self.filters)

    def _record_part(self, delivery_id: int, index: int, message_id: int, *, thread_id: int | None = None) -> None:
        """Record an accepted part (and the post it started) and renew the lease for the next one."""
        with session_scope(self.engine) as session:
            session.add(DeliveryPart(delivery_id=delivery_id, part_index=index, message_id=message_id,
                                     sent_at=self.clock()))
            values: dict[str, object] = {"lease_until": self.clock() + self.lease}
            if thread_id is not None:
                values["thread_id"] = thread_id
            self._update_delivery(session, delivery_id, **values)

    def _note_thread_request(self, delivery_id: int, requested_at: datetime) -> None:
        """Note that a post is about to be asked for: a run resumed after a crash looks for it first."""
        with session_scope(self.engine) as session:
            self._update_delivery(session, delivery_id, thread_requested_at=requested_at)

    def _record_thread(self, delivery_id: int, thread_id: int) -> None:
        with session_scope(self.engine) as session:
            self._update_delivery(session, delivery_id, thread_id=thread_id, lease_until=self.clock() + self.lease)

    def _record_published(self, delivery_id: int, index: int) -> None:
        with session_scope(self.engine) as session:
            session.execute(sa.update(DeliveryPart).where(col(DeliveryPart.delivery_id) == delivery_id,
                                                          col(DeliveryPart.part_index) == index)
                            .values(published=True).execution_options(synchronize_session=False))
            self._update_delivery(session, delivery_id, lease_until=self.clock() + self.lease)

    @staticmethod
    def _update_delivery(session: Session, delivery_id: int, **values: object) -> None:
        session.execute(sa.update(Delivery).where(col(Delivery.id) == delivery_id).values(**values)
                        .execution_options(synchronize_session=False))

    def _finish(self, delivery_id: int, target: AnyTarget) -> None:
        with session_scope(self.engine) as session:
            delivery = session.get(Delivery, delivery_id)
            delivery.status, delivery.finished_at = "done", self.clock()
            _advance_watermark(session, target, delivery.slot_at)

    def _fail(self, delivery_id: int, target: AnyTarget, reason: str) -> None:
        with session_scope(self.engine) as session:
            delivery = session.get(Delivery, delivery_id)
            delivery.status, delivery.finished_at, delivery.error = "failed", self.clock(), reason[:500]
            session.add(target)
            set_paused(target, paused=True, reason=reason)

    def _report(self, delivery_id: int) -> DeliveryReport:
        with session_scope(self.engine) as session:
            delivery = session.get(Delivery, delivery_id)
            ids = session.exec(select(DeliveryPart.message_id).where(col(DeliveryPart.delivery_id) == delivery_id)
                               .order_by(col(DeliveryPart.part_index))).all()
            return DeliveryReport(status=delivery.status, parts_sent=len(ids),
                                  parts_total=len(json.loads(delivery.parts)), message_ids=tuple(ids),
                                  error=delivery.error)


def last_delivery(*, session: Session, target: AnyTarget) -> Delivery | None:
    """The target's most recent delivery, for `/briefing show` and `/subscriptions`."""
    destination = destination_of(target)
    return session.exec(select(Delivery).where(
        col(Delivery.target_kind) == destination.kind, col(Delivery.target_id) == destination.id,
    ).order_by(col(Delivery.slot_at).desc())).first()


def unfinished_slot(*, session: Session, target: AnyTarget, now: datetime, horizon: timedelta = timedelta(days=1)
                    ) -> datetime | None:
    """The slot of the target's latest delivery still `sending` within `horizon`: a run cut short, to resume."""
    destination = destination_of(target)
    return session.exec(select(Delivery.slot_at).where(
        col(Delivery.target_kind) == destination.kind, col(Delivery.target_id) == destination.id,
        col(Delivery.status) == "sending", col(Delivery.slot_at) >= now - horizon,
    ).order_by(col(Delivery.slot_at).desc())).first()
