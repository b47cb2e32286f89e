"""P5 and P6: the running bot's peak memory and its start-up time, with a large store and many targets.

A copy of the cached story store (timestamps moved so its 48 h end now) gets `p5_targets` targets
with mixed topics, none due, so start-up registers every schedule and delivers nothing.

Run A measures start-up (P6): from launching the process to commands synced, "scheduled N
target(s)" logged and the gateway READY, whichever comes last. Then it answers `/stories` (topic,
free text, topic+query), `/topics` and `/digest preview` invocations through the fake.
Run B makes `p5_fanout` of the personal digests due a minute slot ago and restarts the bot, which
catches them up (a fan-out over the large store), then answers the same invocations.
P5 is the highest VmHWM (peak resident memory) of the bot process seen in either run.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.benchmarks import rawstore
from tests.benchmarks.botproc import memory_mb, minute_floor, start_bot, stop_bot, wait_until
from tests.benchmarks.context import Context
from tests.benchmarks.datasets import cached_story_store, copy_store, shift_times
from tests.benchmarks.fanout_bench import finished_deliveries
from tests.benchmarks.report import Figure
from tests.benchmarks.targets import SeededTargets, make_due, seed_targets
from tests.benchmarks.vocabulary import SEARCH_WORDS
from tests.e2e.fake_discord import FakeDiscord, FakeGuild

MEMORY_TARGET_MB = 250.0
STARTUP_TARGET_SECONDS = 3.0
TOPICS = ("economy", "defense", "technology", "Trade", "sports", "Immigration", "elections", "energy-climate")


@dataclass
class Prepared:
    """The bot's store and what is in it."""

    path: Path
    targets: SeededTargets
    prepare_seconds: float


def prepare(context: Context) -> Prepared:
    """Copy the cached store, move it to now, and add the targets (none due)."""
    sizes = context.sizes
    scratch = context.scratch("footprint")
    store = cached_story_store(sizes.p5_stories, days=sizes.p5_days, seed=context.seed,
                               log=context.log)
    started = time.perf_counter()
    path = copy_store(store, scratch / "bot.db")
    now = datetime.now(UTC)
    shift_times(path, int((now - store.anchor).total_seconds()))
    # Created in the future: no earlier slot is ever caught up, so start-up delivers nothing.
    targets = seed_targets(path, count=sizes.p5_targets, seed=context.seed, created_at=now + timedelta(hours=1),
                           last_delivered_at=now - timedelta(days=1))
    return Prepared(path, targets, time.perf_counter() - started)


def add_people(fake: FakeDiscord, users: list[int]) -> FakeGuild:
    """The guild the invocations come from, with these target users as members."""
    for user in users:
        fake.add_user(user_id=user, username=f"subscriber{user % 10_000}")
    return fake.add_guild(name="Bench", channels=["general"], members=users)


def invoke_some(fake: FakeDiscord, guild: FakeGuild, users: list[int], count: int) -> int:
    """`count` slash commands like a busy server's: /stories of each kind, /topics, /digest preview."""
    answered = 0
    words = itertools.cycle(SEARCH_WORDS)
    topics = itertools.cycle(TOPICS)
    people = itertools.cycle(users)
    for number in range(count):
        user = next(people)
        kind = number % 5
        if kind == 0:
            options: dict[str, object] = {"topic": next(topics)}
        elif kind == 1:
            options = {"topic": next(words), "hours": 48}
        elif kind == 2:
            options = {"topic": next(topics), "query": next(words), "limit": 10}
        if kind <= 2:
            result = fake.invoke("stories", options, guild_id=guild.id, user_id=user, timeout=30, settle=0.05)
        elif kind == 3:
            result = fake.invoke("topics", guild_id=guild.id, user_id=user, timeout=30, settle=0.05)
        else:
            result = fake.invoke("digest preview", guild_id=guild.id, user_id=user, timeout=30, settle=0.05)
        answered += bool(result.content)
    return answered


def deliveries_made(path: Path) -> int:
    """Every delivery row of the store (slots that fired during the run included)."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT count(*) FROM delivery").fetchone()[0]
    finally:
        connection.close()


def run_start_up(context: Context, prepared: Prepared) -> tuple[dict[str, float], dict[str, object]]:
    """Run A: start-up milestones (seconds from launch) and memory after start-up and invocations."""
    count = len(prepared.targets.users) + len(prepared.targets.channels)
    people = prepared.targets.users[:5]
    with FakeDiscord() as fake:
        guild = add_people(fake, people)
        context.log(f"P6: starting the bot on {prepared.path.name} with {count:,} targets")
        launched = time.perf_counter()
        bot = start_bot(fake, prepared.path.parent, rawstore.database_url(prepared.path))
        try:
            synced = wait_until(lambda: bool(fake.commands()), timeout=120, what="command sync", bot=bot)
            scheduled = wait_until(lambda: f"scheduled {count} target(s)" in bot.output(), timeout=120,
                                   what="the schedule log line", bot=bot)
            fake.wait_until_ready(timeout=120)
            ready = time.perf_counter()
            milestones = {"commands_synced": synced - launched, "scheduled": scheduled - launched,
                          "ready": ready - launched}
            milestones["total"] = max(milestones.values())
            memory: dict[str, object] = {"after_start_up": memory_mb(bot.pid or 0)}
            context.log(f"P5: {context.sizes.p5_invocations} slash commands through the fake")
            answered = invoke_some(fake, guild, people, context.sizes.p5_invocations)
            memory["after_invocations"] = memory_mb(bot.pid or 0)
            memory["answered"] = answered
        finally:
            stop_bot(fake, bot)
    return milestones, memory


def run_fan_out(context: Context, prepared: Prepared) -> dict[str, object]:
    """Run B: a restart that catches up `p5_fanout` due digests, then invocations; memory at each step."""
    due = prepared.targets.users[: context.sizes.p5_fanout]
    now = datetime.now(UTC)
    make_due(prepared.path, due, slot=minute_floor(now - timedelta(minutes=1)), since=now - timedelta(days=1))
    before = deliveries_made(prepared.path)
    with FakeDiscord() as fake:
        guild = add_people(fake, due[:5])
        bot = start_bot(fake, prepared.path.parent, rawstore.database_url(prepared.path))
        try:
            fake.wait_until_ready(timeout=120)
            memory: dict[str, object] = {"after_start_up": memory_mb(bot.pid or 0)}
            context.log(f"P5: waiting for the bot to deliver {len(due)} digests over the large store")
            wait_until(lambda: finished_deliveries(prepared.path) >= before + len(due), timeout=len(due) + 120,
                       what=f"{len(due)} deliveries", bot=bot, interval=0.5)
            memory["after_fan_out"] = memory_mb(bot.pid or 0)
            memory["answered"] = invoke_some(fake, guild, due[:5], context.sizes.p5_invocations)
            memory["after_invocations"] = memory_mb(bot.pid or 0)
        finally:
            stop_bot(fake, bot)
    memory["deliveries"] = deliveries_made(prepared.path) - before
    return memory


def run_p5_p6(context: Context) -> list[Figure]:
    """Start-up time (P6) and peak memory (P5) of the bot on a large store with many targets."""
    sizes = context.sizes
    prepared = prepare(context)
    milestones, first = run_start_up(context, prepared)
    second = run_fan_out(context, prepared)
    peaks = {f"A.{k}": v["VmHWM"] for k, v in first.items() if isinstance(v, dict)}
    peaks |= {f"B.{k}": v["VmHWM"] for k, v in second.items() if isinstance(v, dict)}
    peak = max(peaks.values())
    startup = milestones["total"]
    common = {"stories": sizes.p5_stories, "targets": sizes.p5_targets, "prepare_seconds":
              round(prepared.prepare_seconds, 1)}
    return [
        Figure("P5", f"peak RSS of the bot: {sizes.p5_stories:,} stories, {sizes.p5_targets:,} targets, "
               f"{sizes.p5_fanout} digests + {sizes.p5_invocations} commands",
               f"{peak:.0f} MB (after start-up {peaks['A.after_start_up']:.0f} MB)", f"≤ {MEMORY_TARGET_MB:g} MB",
               peak <= MEMORY_TARGET_MB, peak, "MB", {**common, "run_a": first, "run_b": second, "peaks": peaks}),
        Figure("P6", f"start-up to ready with {sizes.p5_targets:,} schedules (process start → synced + READY)",
               f"{startup:.2f} s (synced {milestones['commands_synced']:.2f}, scheduled {milestones['scheduled']:.2f},"
               f" READY {milestones['ready']:.2f})", f"≤ {STARTUP_TARGET_SECONDS:g} s",
               startup <= STARTUP_TARGET_SECONDS, startup, "s",
               {**common, **{k: round(v, 3) for k, v in milestones.items()}}),
    ]
