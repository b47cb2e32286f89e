"""The checks behind /healthz: the database probe on real SQLite files, and how the checks combine."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.health import DatabaseProbe, HealthMonitor, Shards

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


@pytest.fixture
def plain_sqlite(tmp_path):
    """A SQLite file with Alembic's table, in rollback-journal mode, where a writer's exclusive lock stops readers."""
    path = tmp_path / "plain.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num TEXT)")
        connection.execute("INSERT INTO alembic_version VALUES ('0012')")
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 3})
    queries: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: queries.append(args[2]))
    yield path, engine, queries
    engine.dispose()


async def test_the_probe_answers_on_a_real_store(engine):
    check = await DatabaseProbe(engine).check()
    assert check.name == "database" and check.ok and check.facts["seconds"] >= 0


async def test_a_locked_database_times_out_with_one_query_however_many_ask(plain_sqlite):
    path, engine, queries = plain_sqlite
    probe = DatabaseProbe(engine, timeout=0.3, reuse=0)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        checks = await asyncio.gather(*(probe.check() for _ in range(5)))
        assert [c.facts for c in checks] == [{"error": "timeout", "timeout_seconds": 0.3}] * 5
        assert not any(c.ok for c in checks)
        assert sum("alembic_version" in q for q in queries) == 1  # one question in flight, shared
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    await probe.aclose()  # the stuck question ends once the lock is gone
    assert (await probe.check()).ok


async def test_a_database_error_shows_its_type_only(tmp_path):
    secret_url = f"sqlite:///{tmp_path / 'missing-dir' / 'hunter2.db'}"
    probe = DatabaseProbe(sa.create_engine(secret_url))
    check = await probe.check()
    assert not check.ok and check.facts == {"error": "OperationalError"}
    assert "hunter2" not in repr(check)


async def test_a_result_is_reused_for_a_moment(plain_sqlite):
    _, engine, queries = plain_sqlite
    clock = [0.0]
    probe = DatabaseProbe(engine, reuse=1.0, monotonic=lambda: clock[0])
    for moment in (0.0, 0.5, 1.5):
        clock[0] = moment
        assert (await probe.check()).ok
    assert sum("alembic_version" in q for q in queries) == 2  # half a second later, the answer was reused


class StubScheduler:
    def __init__(self, *, running=True, oldest=None, waiting=0):
        self.running, self.oldest = running, oldest
        self.queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(waiting):
            self.queue.put_nowait(n)

    def is_running(self):
        return self.running

    def oldest_due_slot(self):
        return self.oldest


class StubProbe:
    def __init__(self, ok=True):
        self.ok = ok

    async def check(self):
        from bot.health import Check

        return Check("database", self.ok, {} if self.ok else {"error": "timeout"})


def monitor(*, connected=(0, 1), expected=(0, 1), scheduler=None, database_ok=True, max_lag=timedelta(minutes=30)):
    return HealthMonitor(shards=lambda: Shards(frozenset(connected), frozenset(expected)),
                         scheduler=scheduler or StubScheduler(), database=StubProbe(database_ok),
                         clock=lambda: NOW, max_slot_lag=max_lag)


async def test_healthy_only_when_every_check_passes():
    report = await monitor(scheduler=StubScheduler(oldest=NOW - timedelta(minutes=29), waiting=3)).report()
    assert report.ok
    body = report.as_json()
    assert body["status"] == "ok" and body["failed"] == []
    assert body["checks"]["slot_lag"] == {"ok": True, "oldest_due_slot": "2026-11-28T07:31:00+00:00",
                                          "lag_seconds": 1740.0, "max_lag_seconds": 1800}
    assert body["checks"]["scheduler"] == {"ok": True, "queue_depth": 3}


@pytest.mark.parametrize(
    ("options", "failed"),
    [
        ({"connected": (0,)}, ["gateway"]),
        ({"connected": (), "expected": ()}, ["gateway"]),  # the shard count is not known yet: still starting
        ({"scheduler": StubScheduler(running=False)}, ["scheduler"]),
        ({"database_ok": False}, ["database"]),
        ({"scheduler": StubScheduler(oldest=NOW - timedelta(minutes=31))}, ["slot_lag"]),
        ({"connected": (1,), "database_ok": False}, ["gateway", "database"]),
    ],
)
async def test_each_failed_check_is_named(options, failed):
    report = await monitor(**options).report()
    assert not report.ok
    assert report.as_json()["status"] == "unhealthy" and report.as_json()["failed"] == failed


def test_a_slot_due_in_the_future_is_no_lag():
    vitals = monitor(scheduler=StubScheduler(oldest=NOW + timedelta(seconds=5))).vitals()
    assert vitals.slot_lag == timedelta(0)
