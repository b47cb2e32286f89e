"""Running deliveries on schedule: one APScheduler cron job per schedule (time, timezone, days).

The database is the source of truth: `start()` builds the jobs from it, and `sync_target` /
`unschedule` are called after every change a command makes. Targets that share a schedule share
its job (10,000 targets have a few hundred schedules; a job each made start-up add 10,000 jobs, a
second of work before the gateway connected). A cron job does not deliver by itself: it queues
(target, slot) for each of its targets that still exists, for a few workers, so a fan-out of
thousands of personal digests runs with bounded concurrency, paced by the publisher.

On start, unfinished deliveries are resumed, and a slot missed while the bot was down is delivered
if it is at most `grace` old (else skipped and logged); a slot before the target's creation is
never delivered. A delivery that failed transiently (Discord down), or whose process died, is
retried every half lease while its slot is less than a day old.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlmodel import Session, col, select

from digests.delivery import Deliverer
from digests.errors import DeliveryError
from digests.models import ChannelBriefing, Delivery, PersonalDigest, SavedSearch, Subscription, Target
from digests.scheduling import cron_trigger
from digests.store import session_scope
from digests.targets import AnyTarget

log = logging.getLogger(__name__)

Kind = Literal["channel", "user"]
# When a target is sent: (time of day, timezone, days); targets with the same one share a cron job.
Schedule = tuple[str, str, str]
_SLOT_JOB = "slot:"
WORKERS = 8
RETRY_HORIZON = timedelta(days=1)
# How far back to look for a target's latest slot: a week covers every `days` pattern.
_LOOKBACK = timedelta(days=8)
# Keys per select when a job's targets are read again (a job may have thousands; stores cap bound parameters).
_KEYS_PER_SELECT = 500


def stops_quietly(job: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """A scheduled job that a shutdown may cancel mid-run without APScheduler logging a traceback.

    Nothing is lost: a cancelled poll runs again at the next tick, a cancelled delivery resumes at
    the next start.
    """

    @functools.wraps(job)
    async def run(*args: object, **kwargs: object) -> None:
        try:
            await job(*args, **kwargs)
        except asyncio.CancelledError:
            log.info("%s interrupted by shutdown", job.__name__)

    return run


@dataclass(frozen=True)
class Due:
    """A slot to deliver: which target, and the slot's time."""

    kind: Kind
    key: int  # ChannelBriefing.id or PersonalDigest.user_id
    slot_at: datetime


def _follows_something() -> sa.ColumnElement[bool]:
    """A personal digest that follows a topic or has a saved search: it has something to send."""
    return sa.or_(sa.exists().where(col(Subscription.user_id) == col(PersonalDigest.user_id)),
                  sa.exists().where(col(SavedSearch.target_id) == col(PersonalDigest.id)))


def active_targets(session: Session) -> list[AnyTarget]:
    """Every target that should have a job: unpaused briefings, unpaused digests with topics or saved searches."""
    unpaused = col(Target.paused).is_(False)
    briefings = session.exec(select(ChannelBriefing).join(Target, col(Target.id) == col(ChannelBriefing.id))
                             .where(unpaused)).all()
    digests = session.exec(select(PersonalDigest).join(Target, col(Target.id) == col(PersonalDigest.id))
                           .where(unpaused, _follows_something())).all()
    return [*briefings, *digests]


@dataclass(frozen=True)
class Scheduled:
    """What start-up needs of an active target: its name in jobs, its schedule, its creation, and the
    id its deliveries are recorded under (the channel's or the user's). Read as plain rows: building
    10,000 ORM targets took half a second of every start."""

    kind: Kind
    key: int
    time_of_day: str
    timezone: str
    days: str
    created_at: datetime
    destination: int

    @property
    def schedule(self) -> Schedule:
        """Its schedule, as jobs are shared by (see `schedule_of`)."""
        return schedule_of(self)


def scheduled_targets(session: Session) -> list[Scheduled]:
    """Every target that should have a job (the rule of `active_targets`), as `Scheduled` rows."""
    shared = (Target.time_of_day, Target.timezone, Target.days, Target.created_at)
    unpaused = col(Target.paused).is_(False)
    briefings = session.execute(sa.select(ChannelBriefing.id, *shared, ChannelBriefing.channel_id)
                                .join(Target, col(Target.id) == col(ChannelBriefing.id)).where(unpaused))
    digests = session.execute(sa.select(PersonalDigest.user_id, *shared, PersonalDigest.user_id)
                              .join(Target, col(Target.id) == col(PersonalDigest.id))
                              .where(unpaused, _follows_something()))
    return [*(Scheduled("channel", *row) for row in briefings), *(Scheduled("user", *row) for row in digests)]


def is_active(session: Session, target: AnyTarget) -> bool:
    """Whether one target should have a job (the rule of `active_targets`, for a single target)."""
    if target.paused:
        return False
    if isinstance(target, PersonalDigest):
        return bool(session.execute(sa.select(_follows_something()).where(col(PersonalDigest.id) == target.id)
                                    ).scalar_one_or_none())
    return True


def identity(target: AnyTarget) -> tuple[Kind, int]:
    """The (kind, key) that names a target in jobs and queues."""
    if isinstance(target, ChannelBriefing):
        return "channel", target.id or 0
    return "user", target.user_id


def load_target(session: Session, kind: Kind, key: int) -> AnyTarget | None:
    """The target named by (kind, key), if it still exists."""
    if kind == "channel":
        return session.get(ChannelBriefing, key)
    return session.exec(select(PersonalDigest).where(col(PersonalDigest.user_id) == key)).first()


def load_targets(session: Session, members: Iterable[tuple[Kind, int]]) -> dict[tuple[Kind, int], AnyTarget]:
    """The targets named by these (kind, key) that still exist: a select per kind (and per `_KEYS_PER_SELECT`)."""
    keys: dict[Kind, list[int]] = {"channel": [], "user": []}
    for kind, key in members:
        keys[kind].append(key)
    found: dict[tuple[Kind, int], AnyTarget] = {}
    for start in range(0, len(keys["channel"]), _KEYS_PER_SELECT):
        chunk = keys["channel"][start:start + _KEYS_PER_SELECT]
        for briefing in session.exec(select(ChannelBriefing).where(col(ChannelBriefing.id).in_(chunk))):
            found["channel", briefing.id or 0] = briefing
    for start in range(0, len(keys["user"]), _KEYS_PER_SELECT):
        chunk = keys["user"][start:start + _KEYS_PER_SELECT]
        for digest in session.exec(select(PersonalDigest).where(col(PersonalDigest.user_id).in_(chunk))):
            found["user", digest.user_id] = digest
    return found


def schedule_of(target: AnyTarget | Scheduled) -> Schedule:
    """The target's schedule, as jobs are shared by."""
    return target.time_of_day, target.timezone, target.days


def latest_slot(target: AnyTarget, now: datetime) -> datetime | None:
    """The target's most recent slot at or before `now`."""
    return _latest_slot(target.time_of_day, target.timezone, target.days, now)


@functools.lru_cache(maxsize=4096)
def _next_slot(time_of_day: str, timezone: str, days: str, now: datetime) -> datetime | None:
    """The first slot after `now`, memoised: at start-up thousands of jobs share a few hundred schedules."""
    return cron_trigger(time_of_day=time_of_day, timezone=timezone, days=days).get_next_fire_time(None, now)


@functools.lru_cache(maxsize=4096)
def _latest_slot(time_of_day: str, timezone: str, days: str, now: datetime) -> datetime | None:
    """Memoised: thousands of targets share a few hundred schedules."""
    trigger = cron_trigger(time_of_day=time_of_day, timezone=timezone, days=days)
    latest, fire = None, trigger.get_next_fire_time(None, now - _LOOKBACK)
    while fire is not None and fire <= now:
        latest, fire = fire, trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return latest


class DeliveryScheduler:
    """Cron jobs per target, a queue of due slots, and the workers that deliver them."""

    def __init__(self, *, engine: sa.Engine, deliverer: Deliverer, clock: Callable[[], datetime],
                 grace: timedelta, workers: int = WORKERS) -> None:
        self.engine = engine
        self.deliverer = deliverer
        self.clock = clock
        self.grace = grace
        # (0: an unfinished delivery to resume, 1: a new slot; arrival order; the slot). Resumes go
        # first: their targets already got part of a digest, or were a dead process's.
        self.queue: asyncio.PriorityQueue[tuple[int, int, Due]] = asyncio.PriorityQueue()
        self._arrivals = itertools.count()
        self.scheduler = AsyncIOScheduler(job_defaults={"coalesce": True, "max_instances": 1,
                                                        "misfire_grace_time": int(grace.total_seconds()) or 1})
        self._workers: list[asyncio.Task[None]] = []
        self._catch_up: asyncio.Task[None] | None = None
        self._worker_count = workers
        # Slots queued or being delivered; and slots known to be unfinished but not queued (a delivery
        # postponed until the next retry, or one another process holds), for `oldest_due_slot`.
        self._queued: set[tuple[Kind, int, datetime]] = set()
        self._unfinished: set[tuple[Kind, int, datetime]] = set()
        # The targets of each schedule's job, and the schedule each target is in.
        self._members: dict[Schedule, set[tuple[Kind, int]]] = {}
        self._schedule_of: dict[tuple[Kind, int], Schedule] = {}

    async def start(self) -> None:
        """Build every job from the database, catch up, and start the workers (inside the running loop)."""
        targets = await asyncio.to_thread(self._load_active)
        now = self.clock()
        for target in targets:
            self._join((target.kind, target.key), target.schedule, now)
        # Every half lease: a dead process's deliveries are taken over within one and a half leases.
        self.scheduler.add_job(self.retry_unfinished, IntervalTrigger(seconds=self.deliverer.lease.total_seconds() / 2),
                               id="retry-unfinished", replace_existing=True)
        self.scheduler.start()
        self._workers = [asyncio.create_task(self._work(), name=f"delivery-worker-{n}")
                         for n in range(self._worker_count)]
        log.info("scheduled %d target(s)", len(targets))
        # Catching up runs beside the start-up, so the gateway connects without waiting for it.
        self._catch_up = asyncio.create_task(self._start_catching_up(targets), name="catch-up")

    async def caught_up(self) -> None:
        """Wait until the start-up's catch-up has queued what it found (and the queue is drained)."""
        if self._catch_up is not None:
            await self._catch_up
        await self.queue.join()

    @stops_quietly
    async def _start_catching_up(self, targets: list[Scheduled]) -> None:
        await self.retry_unfinished()
        await self.catch_up(targets)

    async def stop(self) -> None:
        """Stop the cron jobs and the workers; a delivery cut short resumes at the next start."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._catch_up is not None:
            self._catch_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._catch_up
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    def _load_active(self) -> list[Scheduled]:
        with session_scope(self.engine) as session:
            return scheduled_targets(session)

    def _add_job(self, target: AnyTarget, now: datetime) -> None:
        """Put the target in its schedule's job (see `_join`)."""
        self._join(identity(target), schedule_of(target), now)

    def _join(self, member: tuple[Kind, int], schedule: Schedule, now: datetime) -> None:
        """Put a target in its schedule's job, adding the job if it is the schedule's first target.

        The job's first run is computed here, memoised (see `_next_slot`).
        """
        if self._schedule_of.get(member) == schedule:
            return
        self.unschedule(*member)
        self._schedule_of[member] = schedule
        members = self._members.setdefault(schedule, set())
        if not members:
            trigger = cron_trigger(time_of_day=schedule[0], timezone=schedule[1], days=schedule[2])
            self.scheduler.add_job(self._on_slot, trigger, args=(schedule,), id=_SLOT_JOB + "|".join(schedule),
                                   replace_existing=True, next_run_time=_next_slot(*schedule, now))
        members.add(member)

    async def sync_target(self, kind: Kind, key: int) -> None:
        """Re-read one target after a change and add, replace or remove its job."""

        def load() -> AnyTarget | None:
            with session_scope(self.engine) as session:
                target = load_target(session, kind, key)
                return target if target is not None and is_active(session, target) else None

        target = await asyncio.to_thread(load)
        if target is None:
            self.unschedule(kind, key)
        else:
            self._add_job(target, self.clock())

    def every(self, seconds: float, job: Callable[[], Awaitable[None]], *, name: str) -> None:
        """Also run `job` every `seconds`, starting now (e.g. the feed poller)."""
        self.scheduler.add_job(job, IntervalTrigger(seconds=seconds), id=name, replace_existing=True,
                               next_run_time=self.clock())

    def unschedule(self, kind: Kind, key: int) -> None:
        """Take a target out of its schedule's job, removing the job with its last target."""
        schedule = self._schedule_of.pop((kind, key), None)
        if schedule is None:
            return
        members = self._members[schedule]
        members.discard((kind, key))
        if not members:
            del self._members[schedule]
            with contextlib.suppress(LookupError):
                self.scheduler.remove_job(_SLOT_JOB + "|".join(schedule))

    def next_run(self, kind: Kind, key: int) -> datetime | None:
        """When the target's job fires next, if it is scheduled."""
        schedule = self._schedule_of.get((kind, key))
        job = self.scheduler.get_job(_SLOT_JOB + "|".join(schedule)) if schedule else None
        return job.next_run_time if job else None

    @stops_quietly
    async def _on_slot(self, schedule: Schedule) -> None:
        """A schedule's job fired: queue the latest slot of each of its targets that still exists.

        The targets are read again, in one session and a select per kind: another process may have
        changed or removed one since (its schedule is then followed from now on, as `sync_target` would).
        """
        members = sorted(self._members.get(schedule, ()))

        def load() -> dict[tuple[Kind, int], AnyTarget]:
            with session_scope(self.engine) as session:
                return load_targets(session, members)

        found = await asyncio.to_thread(load)
        now = self.clock()
        for kind, key in members:
            target = found.get((kind, key))
            if target is None:
                self.unschedule(kind, key)
                continue
            if schedule_of(target) != schedule:
                self._add_job(target, now)
            slot_at = latest_slot(target, now)
            if slot_at is not None:
                self.enqueue(Due(kind, key, slot_at))

    def enqueue(self, due: Due, *, resume: bool = False) -> None:
        """Queue a slot unless it is already waiting; a `resume` goes before every new slot."""
        marker = (due.kind, due.key, due.slot_at)
        if marker not in self._queued:
            self._queued.add(marker)
            self.queue.put_nowait((0 if resume else 1, next(self._arrivals), due))

    async def catch_up(self, targets: list[Scheduled]) -> None:
        """Queue each target's latest missed slot if it is within the grace window; log the rest."""
        now = self.clock()
        missed = await asyncio.to_thread(self._missed_slots, targets, now)
        skipped = 0
        for target, slot_at in missed:
            kind, key = target.kind, target.key
            if now - slot_at <= self.grace:
                log.info("catching up %s %s for slot %s", kind, key, slot_at.isoformat())
                self.enqueue(Due(kind, key, slot_at))
            else:
                skipped += 1
                log.debug("skipping %s %s slot %s", kind, key, slot_at.isoformat())
        if skipped:  # one line, not one per target: after a long outage that could be thousands
            log.warning("skipped %d slot(s) missed by more than CATCHUP_GRACE_MINUTES (%s); LOG_LEVEL=DEBUG lists them",
                        skipped, self.grace)

    def _missed_slots(self, targets: list[Scheduled], now: datetime) -> list[tuple[Scheduled, datetime]]:
        with session_scope(self.engine) as session:
            delivered = set(session.execute(sa.select(Delivery.target_kind, Delivery.target_id, Delivery.slot_at)
                                            .where(col(Delivery.slot_at) >= now - _LOOKBACK)).all())
        missed = []
        for target in targets:
            slot_at = _latest_slot(*target.schedule, now)
            if slot_at is None or slot_at < target.created_at:
                continue
            if (target.kind, target.destination, slot_at) not in delivered:
                missed.append((target, slot_at))
        return missed

    @stops_quietly
    async def retry_unfinished(self) -> None:
        """Queue every delivery still `sending` (a crash, or Discord down) whose slot is recent."""
        def unfinished() -> list[Due]:
            with session_scope(self.engine) as session:
                rows = session.exec(select(Delivery).where(
                    col(Delivery.status) == "sending", col(Delivery.slot_at) >= self.clock() - RETRY_HORIZON)).all()
                found = []
                for row in rows:
                    if row.target_kind == "channel":
                        briefing = session.exec(select(ChannelBriefing).where(
                            col(ChannelBriefing.channel_id) == row.target_id)).first()
                        if briefing is not None:
                            found.append(Due("channel", briefing.id or 0, row.slot_at))
                    else:
                        found.append(Due("user", row.target_id, row.slot_at))
                return found

        found = await asyncio.to_thread(unfinished)
        self._unfinished = {(due.kind, due.key, due.slot_at) for due in found}
        for due in found:
            self.enqueue(due, resume=True)

    def is_running(self) -> bool:
        """Whether cron jobs fire and every delivery worker is alive."""
        return self.scheduler.running and bool(self._workers) and not any(worker.done() for worker in self._workers)

    def oldest_due_slot(self) -> datetime | None:
        """The earliest slot that is due and not delivered yet, as far as this process knows; None if none.

        That is the oldest of: the slots queued or being delivered, the unfinished deliveries the
        last retry scan found (every process's) and those postponed since, and a cron job that
        should have fired by now but has not (a stuck scheduler). In memory only: /healthz and
        /metrics ask often.
        """
        now = self.clock()
        slots = [slot_at for *_, slot_at in self._queued | self._unfinished]
        slots += [job.next_run_time for job in self.scheduler.get_jobs()
                  if job.id.startswith(_SLOT_JOB) and job.next_run_time is not None
                  and job.next_run_time <= now]
        return min(slots, default=None)

    async def _work(self) -> None:
        while True:
            *_, due = await self.queue.get()
            marker = (due.kind, due.key, due.slot_at)
            try:
                status = await self._deliver(due)
            except DeliveryError as error:
                self._unfinished.add(marker)
                log.warning("delivery to %s %s for %s postponed: %s", due.kind, due.key, due.slot_at.isoformat(),
                            error.reason)
            except Exception:
                self._unfinished.add(marker)
                log.exception("delivery to %s %s for %s failed", due.kind, due.key, due.slot_at.isoformat())
            else:
                if status != "sending":  # "sending": another process holds it, and it is still due
                    self._unfinished.discard(marker)
            finally:
                self._queued.discard(marker)
                self.queue.task_done()

    async def _deliver(self, due: Due) -> str | None:
        """Deliver a due slot; returns the delivery's status (None: the target is gone or paused)."""
        def load() -> AnyTarget | None:
            with session_scope(self.engine) as session:
                return load_target(session, due.kind, due.key)

        target = await asyncio.to_thread(load)
        if target is None or target.paused:
            log.info("%s %s was removed or paused before its slot %s", due.kind, due.key, due.slot_at.isoformat())
            return None
        report = await self.deliverer.deliver(target, slot_at=due.slot_at)
        if report.status == "failed":  # a permanent error paused the target
            self.unschedule(due.kind, due.key)
        return report.status
