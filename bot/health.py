"""Is the bot doing its job? The checks behind /healthz, and the live figures /metrics shows.

Healthy means all four hold:

    gateway    every gateway shard of this process is connected (READY or RESUMED since it last dropped)
    scheduler  the cron jobs fire and every delivery worker is alive
    database   a query on a real table answers within DATABASE_TIMEOUT_SECONDS
    slot_lag   no due slot is older than HEALTH_MAX_SLOT_LAG_MINUTES without having been delivered

Everything but the database is read from memory. The database query runs on a worker thread, at
most one at a time, and a result is reused for a second: a flood of requests (or a database that
hangs) costs one thread and one connection, never the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa

log = logging.getLogger(__name__)

DATABASE_TIMEOUT_SECONDS = 5.0
DATABASE_RESULT_REUSE_SECONDS = 1.0


class Scheduler(Protocol):
    """What the checks read from `digests.scheduler.DeliveryScheduler`."""

    queue: asyncio.Queue[Any]

    def is_running(self) -> bool: ...

    def oldest_due_slot(self) -> datetime | None: ...


@dataclass(frozen=True)
class Shards:
    """The gateway shards this process runs (`expected`) and those connected now."""

    connected: frozenset[int]
    expected: frozenset[int]

    @property
    def all_connected(self) -> bool:
        """True once the shard count is known and every expected shard is connected."""
        return bool(self.expected) and self.expected <= self.connected


@dataclass(frozen=True)
class Check:
    """One check: its name, whether it passed, and the facts it looked at (JSON-ready)."""

    name: str
    ok: bool
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HealthReport:
    """Every check, in a fixed order."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """Healthy when every check passed."""
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict[str, Any]:
        """The /healthz body: the status, the names of the failed checks, and each check's facts."""
        return {
            "status": "ok" if self.ok else "unhealthy",
            "failed": [check.name for check in self.checks if not check.ok],
            "checks": {check.name: {"ok": check.ok, **check.facts} for check in self.checks},
        }


@dataclass(frozen=True)
class Vitals:
    """What can be read from memory at once: the gateway, the scheduler, the queue and the oldest due slot."""

    shards: Shards
    scheduler_running: bool
    queue_depth: int
    oldest_due_slot: datetime | None
    slot_lag: timedelta


class DatabaseProbe:
    """Asks the database a cheap question on a worker thread, one question at a time."""

    def __init__(self, engine: sa.Engine, *, timeout: float = DATABASE_TIMEOUT_SECONDS,
                 reuse: float = DATABASE_RESULT_REUSE_SECONDS, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.timeout = timeout
        self.reuse = reuse
        self.monotonic = monotonic
        self._pending: asyncio.Future[None] | None = None
        self._last: tuple[float, Check] | None = None

    async def check(self) -> Check:
        """Whether the database answered within the timeout (the error's type when it did not)."""
        if self._last is not None and self.monotonic() - self._last[0] < self.reuse:
            return self._last[1]
        if self._pending is None or self._pending.done():
            self._pending = asyncio.ensure_future(asyncio.to_thread(self._ask))
            # An answer that comes after the timeout is nobody's: take its error so asyncio does not log it.
            self._pending.add_done_callback(lambda done: done.cancelled() or done.exception())
        started = self.monotonic()
        try:
            await asyncio.wait_for(asyncio.shield(self._pending), self.timeout)
        except TimeoutError:
            result = Check("database", False, {"error": "timeout", "timeout_seconds": self.timeout})
        except Exception as error:  # the message may hold the URL (and its password): only the type is shown
            log.warning("health check: the database did not answer: %s", type(error).__name__)
            result = Check("database", False, {"error": type(error).__name__})
        else:
            elapsed = round(self.monotonic() - started, 4)
            result = Check("database", True, {"seconds": elapsed})
        self._last = (self.monotonic(), result)
        return result

    def _ask(self) -> None:
        # SELECT 1 alone would pass with SQLite's file gone or unreadable; this reads a real table.
        with self.engine.connect() as connection:
            connection.execute(sa.text("SELECT version_num FROM alembic_version")).first()

    async def aclose(self) -> None:
        """Wait for a question still running (its thread cannot be stopped) so the engine can be closed."""
        if self._pending is not None and not self._pending.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._pending), self.timeout)


class HealthMonitor:
    """Reads the bot's vitals and runs the checks of /healthz."""

    def __init__(self, *, shards: Callable[[], Shards], scheduler: Scheduler, database: DatabaseProbe,
                 clock: Callable[[], datetime], max_slot_lag: timedelta) -> None:
        self.shards = shards
        self.scheduler = scheduler
        self.database = database
        self.clock = clock
        self.max_slot_lag = max_slot_lag

    def vitals(self) -> Vitals:
        """The in-memory figures, read now."""
        oldest = self.scheduler.oldest_due_slot()
        lag = max(self.clock() - oldest, timedelta(0)) if oldest is not None else timedelta(0)
        return Vitals(shards=self.shards(), scheduler_running=self.scheduler.is_running(),
                      queue_depth=self.scheduler.queue.qsize(), oldest_due_slot=oldest, slot_lag=lag)

    async def report(self) -> HealthReport:
        """Every check; only the database one waits (at most its timeout)."""
        vitals = self.vitals()
        shards = vitals.shards
        gateway = Check("gateway", shards.all_connected, {"shards_connected": sorted(shards.connected),
                                                          "shards_expected": sorted(shards.expected)})
        scheduler = Check("scheduler", vitals.scheduler_running, {"queue_depth": vitals.queue_depth})
        lag = Check("slot_lag", vitals.slot_lag <= self.max_slot_lag, {
            "oldest_due_slot": vitals.oldest_due_slot.isoformat() if vitals.oldest_due_slot else None,
            "lag_seconds": round(vitals.slot_lag.total_seconds(), 1),
            "max_lag_seconds": int(self.max_slot_lag.total_seconds()),
        })
        database = await self.database.check()
        return HealthReport((gateway, scheduler, database, lag))
