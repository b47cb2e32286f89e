"""Delivering one digest to one target for one slot, exactly once.

The slot is claimed in the database before anything is sent: the unique (target, slot) row of
`Delivery` is the guard, and it stores the rendered parts, so a delivery resumed after a crash
sends the same messages. Each part Discord accepts is recorded with its message id; a resumed
delivery starts at the next unsent part (the transport's message nonce covers the part that was in
flight). The target's watermark advances to the slot only when every part is delivered, so no story
is lost.

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
from digests.errors import DeliveryError
from digests.models import ChannelBriefing, Delivery, DeliveryPart, WebhookDigest
from digests.rendering import Renderer
from digests.selection import Digest, StoryPools, select_digest
from digests.store import session_scope
from digests.targets import SlotReaders, Target, coverage_of, readers_of, set_paused
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


class Publisher(Protocol):
    """Sends one message; returns its message id or raises DeliveryError."""

    async def send(self, destination: Destination, content: str, *, nonce: str, mention_role_id: int | None) -> int:
        """Post `content`; the same `nonce` twice must not post twice."""
        ...


def destination_of(target: Target) -> Destination:
    """Where a target's digest goes."""
    if isinstance(target, ChannelBriefing):
        return Destination("channel", target.channel_id, target.webhook_url)
    if isinstance(target, WebhookDigest):
        return Destination("webhook", target.webhook_id, target.webhook_url)
    return Destination("user", target.user_id, dm_channel_id=target.dm_channel_id)


@dataclass(frozen=True)
class Composed:
    """A target's digest at some moment and its messages; `digest` is None when nothing was selected."""

    digest: Digest | None
    parts: list[str]


def compose(
    *, session: Session, taxonomy: Taxonomy, renderer: Renderer, target: Target, now: datetime,
    pools: StoryPools | None = None, readers: SlotReaders | None = None,
) -> Composed:
    """The target's digest if it were delivered at `now`, and its messages ([] when there is nothing to post).

    It covers what arrived since the target's last delivery, at most its schedule's period (see
    `digests.targets.coverage_of`). A channel sees public stories and its guild's; a user those of
    the guilds they were seen in; a webhook, public stories only. `pools` shares the selection, and
    `readers` the users' topics and guilds, with the other targets of a slot (`now` is then the slot).
    """
    tz = parse_timezone(target.timezone)
    covered = coverage_of(target, now)
    if isinstance(target, ChannelBriefing):
        digest = select_digest(session=session, taxonomy=taxonomy, topics=target.topic_slugs, since=None, now=now,
                               covered=covered, guild_ids=[target.guild_id], pools=pools)
        if digest.is_empty:
            quiet = renderer.render_parts("quiet_day.md.j2", now=now, tz=tz, covered=covered) \
                if target.quiet_day_notice else []
            return Composed(digest, quiet)
        return Composed(digest, renderer.briefing(digest, tz=tz, mention_role_id=target.mention_role_id,
                                                  covered=covered))
    if isinstance(target, WebhookDigest):
        digest = select_digest(session=session, taxonomy=taxonomy, topics=target.topic_slugs, since=None, now=now,
                               covered=covered, guild_ids=[], pools=pools)
        return Composed(digest, [] if digest.is_empty else renderer.briefing(digest, tz=tz, covered=covered))
    found = readers.get(session=session, taxonomy=taxonomy, user_id=target.user_id, slot_at=now) if readers \
        else readers_of(session=session, taxonomy=taxonomy, user_id=target.user_id)
    if not found.topics:
        return Composed(None, [])
    digest = select_digest(session=session, taxonomy=taxonomy, topics=[t.slug for t in found.topics], since=None,
                           now=now, covered=covered, guild_ids=found.guild_ids, pools=pools)
    return Composed(digest, [] if digest.is_empty else renderer.personal_digest(digest, tz=tz, topics=found.topics,
                                                                                covered=covered))


def render_target(
    *, session: Session, taxonomy: Taxonomy, renderer: Renderer, target: Target, now: datetime,
    pools: StoryPools | None = None, readers: SlotReaders | None = None,
) -> list[str]:
    """The messages of the target's digest if it were delivered at `now` ([] when there is nothing)."""
    return compose(session=session, taxonomy=taxonomy, renderer=renderer, target=target, now=now, pools=pools,
                   readers=readers).parts


@dataclass
class Claim:
    """A claimed delivery: its row, its parts, which of them Discord already has, and whether it is ours.

    `owned` is False when another process holds the lease on an unfinished delivery; `created` is
    True when this claim made the row, so an empty digest is counted once across processes.
    """

    delivery: Delivery
    parts: list[str]
    sent: set[int]
    owned: bool = True
    created: bool = False  # this claim made the row (it was not another worker's or process's)


def claim(
    *,
    session: Session,
    taxonomy: Taxonomy,
    renderer: Renderer,
    target: Target,
    slot_at: datetime,
    now: datetime,
    owner: str = "",
    lease: timedelta = LEASE,
    pools: StoryPools | None = None,
    readers: SlotReaders | None = None,
) -> Claim:
    """Claim (target, slot) for `owner`, rendering its digest; or take over an unfinished one to resume it.

    The digest is the one of the slot's moment, whenever the claim happens: what was ingested by
    `slot_at` and after the previous slot delivered, so targets of one slot share their selection
    (`pools`) and a late delivery leaves what arrived since to the next slot.

    An unfinished delivery is taken over only when its lease has expired, is `owner`'s own, or was
    held by a process of this host that is gone (a restart after a crash resumes at once): the
    conditional UPDATE is the lock, so two processes never both send its parts.
    """
    destination = destination_of(target)
    existing = _find(session, destination, slot_at)
    if existing is None:
        # The watermark as stored now: a command may have posted (`/briefing post-now`) since the target
        # was loaded, and then that digest already holds this slot's stories.
        set_committed_value(target, "last_delivered_at", _stored_watermark(session, target))
        passed = target.last_delivered_at is not None and target.last_delivered_at >= slot_at
        composed = Composed(None, []) if passed else compose(session=session, taxonomy=taxonomy, renderer=renderer,
                                                             target=target, now=slot_at, pools=pools, readers=readers)
        parts = composed.parts
        delivery = Delivery(target_kind=destination.kind, target_id=destination.id, slot_at=slot_at,
                            status="sending" if parts else "empty", parts=json.dumps(parts), claimed_at=now,
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
            return Claim(delivery, parts, set(), created=True)
    owned = existing.status in FINISHED or _take_lease(session, existing, owner=owner, now=now, lease=lease)
    sent = set(session.exec(select(DeliveryPart.part_index).where(col(DeliveryPart.delivery_id) == existing.id)))
    return Claim(existing, json.loads(existing.parts), sent, owned)


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


def _is_target(target: Target) -> sa.ColumnElement[bool]:
    key = sa.inspect(type(target)).primary_key[0]
    return key == getattr(target, key.key)


def _stored_watermark(session: Session, target: Target) -> datetime | None:
    return session.execute(sa.select(type(target).last_delivered_at).where(_is_target(target))).scalar_one_or_none()


def _advance_watermark(session: Session, target: Target, slot_at: datetime) -> None:
    """Move the target's watermark forward to `slot_at`, never back: a later slot or a post-now may be past it."""
    watermark = col(type(target).last_delivered_at)
    session.execute(sa.update(type(target)).where(_is_target(target), sa.or_(watermark.is_(None), watermark < slot_at))
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
        self.engine = engine
        self.taxonomy = taxonomy
        self.renderer = renderer
        self.publisher = publisher
        self.clock = clock

    async def deliver(self, target: Target, *, slot_at: datetime) -> DeliveryReport:
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

    async def _deliver(self, target: Target, slot_at: datetime) -> tuple[DeliveryReport, DeliveryOutcome | None]:
        """The delivery, and how it ended here (None: it was finished before, or another process holds it)."""
        claimed = await asyncio.to_thread(self._claim, target, slot_at)
        delivery = claimed.delivery
        if delivery.status in FINISHED or not claimed.owned:
            outcome: DeliveryOutcome | None = "empty" if claimed.created and delivery.status == "empty" else None
            return await asyncio.to_thread(self._report, delivery.id), outcome
        destination = destination_of(target)
        mention = target.mention_role_id if isinstance(target, ChannelBriefing) else None
        for index, content in enumerate(claimed.parts):
            if index in claimed.sent:
                continue
            try:
                message_id = await self.publisher.send(
                    destination, content, nonce=f"bb{delivery.id}p{index}", mention_role_id=mention
                )
            except DeliveryError as error:
                if not error.permanent:
                    raise
                await asyncio.to_thread(self._fail, delivery.id, target, error.reason)
                log.warning("delivery %s to %s %s failed: %s", delivery.id, destination.kind, destination.id,
                            error.reason)
                return await asyncio.to_thread(self._report, delivery.id), "failed"
            await asyncio.to_thread(self._record_part, delivery.id, index, message_id)
            self.telemetry.part_sent(destination.kind)
        await asyncio.to_thread(self._finish, delivery.id, target)
        report = await asyncio.to_thread(self._report, delivery.id)
        log.info("delivered %s to %s %s for slot %s: %d part(s)", delivery.id, destination.kind, destination.id,
                 slot_at.isoformat(), report.parts_sent)
        return report, "done"

    async def preview(self, target: Target) -> list[str]:
        """The messages the target would get now, without claiming anything."""
        return await asyncio.to_thread(self._preview, target)

    def _preview(self, target: Target) -> list[str]:
        with session_scope(self.engine) as session:
            session.add(target)
            return render_target(session=session, taxonomy=self.taxonomy, renderer=self.renderer, target=target,
                                 now=self.clock())

    def _claim(self, target: Target, slot_at: datetime) -> Claim:
        with session_scope(self.engine) as session:
            session.add(target)
            return claim(session=session, taxonomy=self.taxonomy, renderer=self.renderer, target=target,
                         slot_at=slot_at, now=self.clock(), owner=self.owner, lease=self.lease, pools=self.pools,
                         readers=self.readers)

    def _record_part(self, delivery_id: int, index: int, message_id: int) -> None:
        """Record an accepted part and renew the lease for the next one."""
        with session_scope(self.engine) as session:
            session.add(DeliveryPart(delivery_id=delivery_id, part_index=index, message_id=message_id,
                                     sent_at=self.clock()))
            session.execute(sa.update(Delivery).where(col(Delivery.id) == delivery_id)
                            .values(lease_until=self.clock() + self.lease)
                            .execution_options(synchronize_session=False))

    def _finish(self, delivery_id: int, target: Target) -> None:
        with session_scope(self.engine) as session:
            delivery = session.get(Delivery, delivery_id)
            delivery.status, delivery.finished_at = "done", self.clock()
            _advance_watermark(session, target, delivery.slot_at)

    def _fail(self, delivery_id: int, target: Target, reason: str) -> None:
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


def last_delivery(*, session: Session, target: Target) -> Delivery | None:
    """The target's most recent delivery, for `/briefing show` and `/subscriptions`."""
    destination = destination_of(target)
    return session.exec(select(Delivery).where(
        col(Delivery.target_kind) == destination.kind, col(Delivery.target_id) == destination.id,
    ).order_by(col(Delivery.slot_at).desc())).first()
