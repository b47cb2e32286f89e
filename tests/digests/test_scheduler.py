"""The scheduler's decisions with an injected clock: latest slots, catch-up within grace, creation time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select

from digests.delivery import Deliverer
from digests.errors import DeliveryError
from digests.ingest.draft import StoryDraft
from digests.models import ChannelBriefing, Delivery, PersonalDigest
from digests.scheduler import (
    DeliveryScheduler,
    Due,
    active_targets,
    identity,
    is_active,
    latest_slot,
    scheduled_targets,
    stops_quietly,
)
from digests.store import add_stories, session_scope
from digests.targets import schedule_digest, set_paused, setup_briefing, subscribe

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)  # a Saturday


class Recorder:
    def __init__(self) -> None:
        self.sent = []

    async def send(self, destination, content, *, nonce, mention_role_id):
        self.sent.append(destination)
        return len(self.sent)


def make_briefing(session, taxonomy, channel_id: int, time_of_day: str, created_at: datetime, days="daily"):
    briefing, _ = setup_briefing(session=session, taxonomy=taxonomy, guild_id=1, channel_id=channel_id,
                                 time_of_day=time_of_day, timezone="UTC", topics=None, days=days,
                                 mention_role_id=None, quiet_day_notice=True, now=created_at)
    return briefing


def make_scheduler(engine, taxonomy, renderer, *, publisher=None, now: datetime = NOW, **options) -> DeliveryScheduler:
    """A scheduler delivering through `publisher` (a new Recorder if none), on a clock stopped at `now`."""
    deliverer = Deliverer(engine=engine, taxonomy=taxonomy, renderer=renderer, publisher=publisher or Recorder(),
                          clock=lambda: now)
    return DeliveryScheduler(engine=engine, deliverer=deliverer, clock=lambda: now, grace=timedelta(hours=2),
                             **options)


def test_latest_slot_respects_days():
    weekdays = ChannelBriefing(guild_id=1, channel_id=1, time_of_day="08:00", timezone="UTC", days="weekdays",
                               created_at=NOW)
    assert latest_slot(weekdays, NOW) == datetime(2026, 11, 27, 8, tzinfo=UTC)  # Friday
    daily = ChannelBriefing(guild_id=1, channel_id=1, time_of_day="09:30", timezone="UTC", days="daily",
                            created_at=NOW)
    assert latest_slot(daily, NOW) == NOW


def test_active_targets_leave_out_paused_ones_and_digests_without_topics(engine, taxonomy):
    with session_scope(engine) as session:
        make_briefing(session, taxonomy, 10, "08:00", NOW)
        paused = make_briefing(session, taxonomy, 11, "08:00", NOW)
        set_paused(paused, paused=True, reason="test")
        subscribe(session=session, taxonomy=taxonomy, user_id=5, topic="trade", default_timezone="UTC", now=NOW)
        schedule_digest(session=session, user_id=6, time_of_day="07:00", timezone="UTC", now=NOW)  # no topics
    with session_scope(engine) as session:
        active = active_targets(session)
        kinds = sorted(type(t).__name__ for t in active)
        every = [*session.exec(select(ChannelBriefing)).all(), *session.exec(select(PersonalDigest)).all()]
        assert [t for t in every if is_active(session, t)] == [t for t in every if t in active]
        # What start-up reads instead, without the ORM: the same targets, each with its schedule.
        rows = {(row.kind, row.key): row for row in scheduled_targets(session)}
        assert set(rows) == {identity(t) for t in active}
        for target in active:
            row = rows[identity(target)]
            assert (row.time_of_day, row.timezone, row.days, row.created_at) == (
                target.time_of_day, target.timezone, target.days, target.created_at)
            assert row.destination == (target.channel_id if row.kind == "channel" else target.user_id)
    assert kinds == ["ChannelBriefing", "PersonalDigest"]


async def test_catch_up_delivers_within_grace_and_never_before_creation(engine, taxonomy, renderer):
    # The clock is the real one here: APScheduler fires jobs by the real time, so with a fixed clock a
    # job whose daily time had just passed in real time (e.g. 06:00 when the tests ran at 06:20) fired
    # as well, delivering a slot the catch-up rightly skipped.
    now = datetime.now(UTC).replace(second=0, microsecond=0)

    def at(ago: timedelta) -> str:
        return (now - ago).strftime("%H:%M")

    with session_scope(engine) as session:
        make_briefing(session, taxonomy, 1, at(timedelta(minutes=30)), now - timedelta(days=2))  # deliver
        make_briefing(session, taxonomy, 2, at(timedelta(hours=3, minutes=30)), now - timedelta(days=2))  # too old
        make_briefing(session, taxonomy, 3, at(timedelta(minutes=15)), now - timedelta(minutes=5))  # before creation
    publisher = Recorder()
    scheduler = make_scheduler(engine, taxonomy, renderer, publisher=publisher, now=now)
    await scheduler.start()
    await scheduler.caught_up()
    jobs = {job.id for job in scheduler.scheduler.get_jobs()}
    runs = [scheduler.next_run("channel", key) for key in (1, 2, 3)]
    await scheduler.stop()
    with session_scope(engine) as session:
        delivered = session.exec(select(Delivery.target_id, Delivery.slot_at)).all()
    assert delivered == [(1, now - timedelta(minutes=30))]
    assert [d.id for d in publisher.sent] == [1]
    assert jobs == {f"slot:{at(ago)}|UTC|daily" for ago in (timedelta(minutes=30), timedelta(hours=3, minutes=30),
                                                            timedelta(minutes=15))} | {"retry-unfinished"}
    assert all(run is not None and run > now for run in runs)


async def test_a_job_cancelled_by_shutdown_ends_quietly():
    started = asyncio.Event()

    @stops_quietly
    async def job() -> None:
        started.set()
        await asyncio.sleep(60)

    task = asyncio.create_task(job())
    await started.wait()
    task.cancel()
    await task  # no CancelledError: APScheduler would log it as a crashed job
    assert task.done() and not task.cancelled()


async def test_an_unfinished_delivery_is_resumed_before_new_slots(engine, taxonomy, renderer):
    with session_scope(engine) as session:
        for channel_id in (1, 2, 3):
            make_briefing(session, taxonomy, channel_id, "09:00", NOW - timedelta(days=2))
        half_done = make_briefing(session, taxonomy, 4, "09:00", NOW - timedelta(days=2))
        session.flush()
        session.add(Delivery(target_kind="channel", target_id=4, slot_at=NOW - timedelta(minutes=30),
                             status="sending", parts='["part one", "part two"]', claimed_at=NOW,
                             lease_owner="a-dead-process", lease_until=NOW - timedelta(minutes=1)))
        half_done_key = half_done.id
    publisher = Recorder()
    scheduler = make_scheduler(engine, taxonomy, renderer, publisher=publisher, workers=0)
    for briefing_key in (1, 2, 3):  # three new slots are waiting when the unfinished one is found
        scheduler.enqueue(Due("channel", briefing_key, NOW - timedelta(minutes=30)))
    await scheduler.retry_unfinished()
    order = [scheduler.queue.get_nowait()[-1].key for _ in range(4)]
    assert order == [half_done_key, 1, 2, 3]


class FailingPublisher:
    """Discord down: every send fails for now."""

    async def send(self, destination, content, *, nonce, mention_role_id):
        raise DeliveryError("Discord unavailable", permanent=False)


async def test_the_oldest_due_slot_is_the_queued_postponed_or_unfired_one(engine, taxonomy, renderer, now):
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=now - timedelta(hours=2),
                    drafts=[StoryDraft(title="Tariffs on steel", source="Wire")])
        make_briefing(session, taxonomy, 1, "09:00", now - timedelta(days=2))
        make_briefing(session, taxonomy, 2, "09:00", now - timedelta(days=2))
    scheduler = make_scheduler(engine, taxonomy, renderer, publisher=FailingPublisher(), now=now, workers=0)
    assert scheduler.oldest_due_slot() is None and not scheduler.is_running()
    scheduler.enqueue(Due("channel", 2, now - timedelta(minutes=5)))
    scheduler.enqueue(Due("channel", 1, now - timedelta(minutes=40)))
    assert scheduler.oldest_due_slot() == now - timedelta(minutes=40)

    # A worker takes both: Discord fails them, so both stay due, out of the queue until the next retry.
    worker = asyncio.create_task(scheduler._work())
    await scheduler.queue.join()
    assert scheduler.queue.qsize() == 0 and scheduler.oldest_due_slot() == now - timedelta(minutes=40)
    # The retry scan finds them in the database (still `sending`), and once delivered they are due no more.
    await scheduler.retry_unfinished()
    assert scheduler.oldest_due_slot() == now - timedelta(minutes=40)
    scheduler.deliverer.publisher = Recorder()
    await scheduler.queue.join()
    worker.cancel()
    assert scheduler.oldest_due_slot() is None


async def test_a_cron_job_that_should_have_fired_counts_as_due_and_the_scheduler_reports_running(engine, taxonomy,
                                                                                                  renderer):
    now = datetime.now(UTC)
    scheduler = make_scheduler(engine, taxonomy, renderer, now=now, workers=2)
    await scheduler.start()
    assert scheduler.is_running()
    scheduler.scheduler.pause()  # jobs stop firing, as if the scheduler were stuck
    scheduler.scheduler.add_job(lambda: None, "date", run_date=now - timedelta(minutes=3), id="slot:09:00|UTC|daily")
    scheduler.scheduler.add_job(lambda: None, "date", run_date=now - timedelta(minutes=9), id="poll-feeds-late")
    oldest = scheduler.oldest_due_slot()
    await scheduler.stop()
    assert oldest == now - timedelta(minutes=3)  # a slot's job; other jobs are no slots
    assert not scheduler.is_running()


async def test_targets_of_one_schedule_share_its_job_and_each_gets_the_slot(engine, taxonomy, renderer):
    with session_scope(engine) as session:
        for channel_id in (1, 2, 3):
            make_briefing(session, taxonomy, channel_id, "09:00", NOW - timedelta(days=2))
        make_briefing(session, taxonomy, 4, "09:00", NOW - timedelta(days=2), days="sat,sun")
        make_briefing(session, taxonomy, 5, "10:00", NOW - timedelta(days=2))
        for user_id in (7, 8):
            subscribe(session=session, taxonomy=taxonomy, user_id=user_id, topic="trade", default_timezone="UTC",
                      now=NOW - timedelta(days=2))
            schedule_digest(session=session, user_id=user_id, time_of_day="09:00", timezone="UTC", now=NOW)
    scheduler = make_scheduler(engine, taxonomy, renderer, workers=0)
    with session_scope(engine) as session:
        for target in active_targets(session):
            scheduler._add_job(target, NOW)
    assert sorted(job.id for job in scheduler.scheduler.get_jobs()) == [
        "slot:09:00|UTC|daily", "slot:09:00|UTC|weekends", "slot:10:00|UTC|daily"]
    tomorrow_nine = NOW.replace(hour=9, minute=0) + timedelta(days=1)
    assert scheduler.next_run("user", 7) == scheduler.next_run("channel", 1) == tomorrow_nine

    # Meanwhile another process deletes briefing 2 and moves briefing 3 to 07:00: the firing job
    # queues the slot of every target still there, and follows the move.
    with session_scope(engine) as session:
        session.delete(session.get(ChannelBriefing, 2))
        session.get(ChannelBriefing, 3).time_of_day = "07:00"
    await scheduler._on_slot(("09:00", "UTC", "daily"))
    queued = sorted((due.kind, due.key, due.slot_at) for *_, due in
                    (scheduler.queue.get_nowait() for _ in range(scheduler.queue.qsize())))
    nine, seven = NOW.replace(hour=9, minute=0), NOW.replace(hour=7, minute=0)
    assert queued == [("channel", 1, nine), ("channel", 3, seven), ("user", 7, nine), ("user", 8, nine)]
    assert scheduler.next_run("channel", 2) is None
    assert scheduler.next_run("channel", 3) == seven + timedelta(days=1)

    # The last target of a schedule takes its job with it.
    scheduler.unschedule("channel", 5)
    assert "slot:10:00|UTC|daily" not in {job.id for job in scheduler.scheduler.get_jobs()}
    assert scheduler.next_run("channel", 1) is not None


async def test_a_firing_job_reads_its_targets_with_one_select_per_kind(engine, taxonomy, renderer):
    with session_scope(engine) as session:
        for channel_id in (1, 2, 3):
            make_briefing(session, taxonomy, channel_id, "09:00", NOW - timedelta(days=2))
        for user_id in (7, 8):
            subscribe(session=session, taxonomy=taxonomy, user_id=user_id, topic="trade", default_timezone="UTC",
                      now=NOW - timedelta(days=2))
            schedule_digest(session=session, user_id=user_id, time_of_day="09:00", timezone="UTC", now=NOW)
    scheduler = make_scheduler(engine, taxonomy, renderer, workers=0)
    with session_scope(engine) as session:
        targets = scheduled_targets(session)
    for target in targets:
        scheduler._join((target.kind, target.key), target.schedule, NOW)
    selects: list[str] = []

    def count(conn, cursor, statement, *_):
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        await scheduler._on_slot(("09:00", "UTC", "daily"))
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert len(selects) == 2  # the channel briefings, then the personal digests
    queued = sorted((due.kind, due.key) for *_, due in
                    (scheduler.queue.get_nowait() for _ in range(scheduler.queue.qsize())))
    assert queued == [("channel", 1), ("channel", 2), ("channel", 3), ("user", 7), ("user", 8)]
