"""Two bot processes on one PostgreSQL, each with one of two gateway shards: every digest of a slot
delivered once, a killed process's unfinished deliveries taken over by the other."""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tests.e2e.conftest import start_bot, stop_bot
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.seeding import seed
from tests.e2e.test_delivery import minute_floor

USERS = 1_000


def test_two_processes_deliver_each_digest_once_and_take_over_a_killed_one(tmp_path, postgres_url):
    with FakeDiscord(shards=2) as fake:
        users = [fake.add_user(username=f"reader{n}") for n in range(USERS)]
        now = datetime.now(UTC)
        seed(postgres_url, now=now, slot=minute_floor(now - timedelta(minutes=2)), users=users)
        fake.set_global_rate_limit(50)
        fake.set_request_delay(0.01, method="POST", path_regex=r"/messages$")
        # Each process gets half of Discord's global limit; short leases keep the takeover quick.
        settings = {"DISCORD_REQUESTS_PER_SECOND": "25", "DELIVERY_LEASE_SECONDS": "6", "SHARD_COUNT": "2"}
        first = start_bot(fake, tmp_path, postgres_url, SHARD_IDS="0", **settings)
        second = start_bot(fake, tmp_path, postgres_url, SHARD_IDS="1", **settings)

        def delivered() -> int:
            """DM channels that got a message (a resent in-flight part, deduplicated by its nonce, counts once)."""
            return len({r.path for r in fake.requests if r.status == 200 and r.path.endswith("/messages")})

        engine = sa.create_engine(postgres_url)

        def unfinished_of(pid: int) -> set[int]:
            with engine.connect() as conn:
                return set(conn.execute(sa.text("SELECT id FROM delivery WHERE status = 'sending' AND "
                                                "lease_owner LIKE :owner"), {"owner": f"%:{pid}:%"}).scalars())

        def finished(ids: set[int] | None = None) -> bool:
            query = "SELECT count(*) FROM delivery WHERE status = 'done'"
            with engine.connect() as conn:
                if ids is None:
                    return conn.execute(sa.text(query)).scalar_one() == USERS
                done = conn.execute(sa.text(query + " AND id IN :ids").bindparams(sa.bindparam("ids", expanding=True)),
                                    {"ids": list(ids)}).scalar_one()
            return done == len(ids)

        fake.wait_for(lambda: delivered() >= USERS // 3, timeout=120, what="a third of the digests")
        stop_bot(fake, first, signal.SIGKILL)
        killed_at = time.monotonic()
        orphaned = unfinished_of(first.pid)  # what the killed process had claimed and not finished
        fake.wait_for(lambda: finished(orphaned), timeout=60, what="the killed process's deliveries taken over")
        takeover = time.monotonic() - killed_at
        fake.wait_for(lambda: delivered() >= USERS, timeout=180, what="every digest")
        rest = time.monotonic() - killed_at
        fake.wait_for(finished, timeout=60, what="every delivery recorded as done")
        output = second.output()
        stop_bot(fake, second)

    per_user = Counter({user: len(fake.dm_messages(user)) for user in users})
    duplicates = sum(count - 1 for count in per_user.values() if count > 1)
    lost = sum(1 for count in per_user.values() if count == 0)
    limited = sum(1 for r in fake.requests if r.status == 429)
    resent = sum(1 for r in fake.requests if r.status == 200 and r.path.endswith("/messages")) - USERS
    print(f"\ntwo processes: targets={USERS} delivered={USERS - lost} duplicates={duplicates} lost={lost} "
          f"in-flight parts resent (dropped by nonce)={resent} 429s={limited} "
          f"orphaned_deliveries={len(orphaned)} taken_over_after={takeover:.1f}s rest_finished_after_kill={rest:.1f}s")
    assert duplicates == 0 and lost == 0
    assert orphaned  # the kill did leave deliveries half done
    assert "Traceback" not in output
    with engine.connect() as conn:
        owners = conn.execute(sa.text("SELECT lease_owner, count(*) FROM delivery GROUP BY lease_owner")).all()
    engine.dispose()
    assert len(owners) == 2  # both processes delivered a share of the slot
    assert sum(count for _, count in owners) == USERS
