"""P4: a fan-out of personal digests through the real bot to the fake Discord, held to 50 requests/s.

Users are seeded with `tests/e2e/seeding.py` (the bundled sample's stories; every user follows
immigration) with a slot two minutes ago, so the bot delivers every digest as a missed slot when it
starts. The fake enforces Discord's global limit and answers real 429s beyond it. The wait polls
the bot's database (finished deliveries), never the fake, so no predicate holds the fake's lock
while requests arrive; the figures come from the fake's request log afterwards.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.benchmarks import rawstore
from tests.benchmarks.botproc import memory_mb, minute_floor, start_bot, stop_bot, wait_until
from tests.benchmarks.context import Context
from tests.benchmarks.report import Figure
from tests.e2e.fake_discord import FakeDiscord, RecordedRequest
from tests.e2e.seeding import seed

RATE = 50
_MESSAGE_RE = re.compile(r"^/channels/\d+/messages$")
_DM_OPEN = "/users/@me/channels"


def finished_deliveries(path: Path) -> int:
    """How many deliveries the bot has finished (done, failed or empty)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return connection.execute("SELECT count(*) FROM delivery WHERE status != 'sending'").fetchone()[0]
    except sqlite3.OperationalError:  # the bot has not created the table yet, or holds a lock
        return 0
    finally:
        connection.close()


def parts_per_user(path: Path) -> dict[int, int]:
    """The number of message parts of each user's delivery."""
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("SELECT target_id, parts FROM delivery WHERE target_kind = 'user'").fetchall()
    finally:
        connection.close()
    return {int(user): len(json.loads(parts)) for user, parts in rows}


def peak_per_second(times: Sequence[float]) -> int:
    """The most requests in any sliding one-second window."""
    ordered, peak, start = sorted(times), 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= 1.0:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


def is_fan_out(request: RecordedRequest) -> bool:
    """A request the delivery makes: opening a DM or posting a message."""
    return request.method == "POST" and (request.path == _DM_OPEN or bool(_MESSAGE_RE.match(request.path)))


def run_p4(context: Context) -> list[Figure]:
    """Time, requests per digest, lost/duplicated digests and 429s of one fan-out."""
    count = context.sizes.p4_digests
    scratch = context.scratch("p4")
    path = scratch / "fanout.db"
    with FakeDiscord() as fake:
        users = [fake.add_user(username=f"reader{n}") for n in range(count)]
        now = datetime.now(UTC)
        context.log(f"P4: seeding {count:,} personal digests due at the last minute slot")
        seed(rawstore.database_url(path), now=now, slot=minute_floor(now - timedelta(minutes=2)), users=users)
        fake.set_global_rate_limit(RATE)
        bot = start_bot(fake, scratch, rawstore.database_url(path))
        try:
            context.log(f"P4: bot started; waiting for {count:,} deliveries at ≤ {RATE} requests/s")
            wait_until(lambda: finished_deliveries(path) >= count, timeout=count * 3 * 2 / RATE + 120,
                       what=f"{count} deliveries", bot=bot, interval=0.5)
            memory = memory_mb(bot.pid or 0)
        finally:
            stop_bot(fake, bot)
        recorded = fake.requests_matching("*", "")
        delivered = {user: fake.dm_messages(user) for user in users}
    return _figures(count, recorded, delivered, parts_per_user(path), memory)


def _figures(count: int, recorded: list[RecordedRequest], delivered: dict[int, list[dict]],
             parts: dict[int, int], memory: dict[str, float]) -> list[Figure]:
    fan_out = sorted((r for r in recorded if is_fan_out(r)), key=lambda r: r.time)
    paced = [r.time for r in recorded if not r.path.startswith(("/interactions/", "/webhooks/"))]
    seconds = fan_out[-1].time - fan_out[0].time
    ideal = len(fan_out) / RATE
    messages = sum(1 for r in fan_out if r.path != _DM_OPEN and r.status == 200)
    dm_opens = sum(1 for r in fan_out if r.path == _DM_OPEN and r.status == 200)
    limited = sum(1 for r in recorded if r.status == 429)
    expected = sum(parts.values())
    lost = sum(1 for user in delivered if len(delivered[user]) < parts.get(user, 1))
    duplicated = sum(1 for user, messages in delivered.items()
                     if len(messages) > parts.get(user, 1) or max(Counter(m.get("nonce") for m in messages).values(),
                                                                 default=0) > 1)
    details = {"digests": count, "fan_out_requests": len(fan_out), "message_posts_ok": messages,
               "dm_opens_ok": dm_opens, "parts_expected": expected, "seconds": round(seconds, 2),
               "ideal_seconds": round(ideal, 2), "peak_requests_in_1s": peak_per_second(paced),
               "responses_429": limited, "lost": lost, "duplicated": duplicated,
               "deliveries_recorded": len(parts), "bot_rss_mb": memory}
    share = limited / max(1, len(recorded))
    return [
        Figure("P4.time", f"fan-out of {count:,} digests at {RATE}/s: time vs requests ÷ {RATE}",
               f"{seconds:.1f} s = {seconds / ideal:.2f} × ideal ({len(fan_out):,} req → {ideal:.1f} s)",
               "≤ 1.1 × ideal", seconds <= 1.1 * ideal, seconds / ideal, "× ideal", details),
        Figure("P4.requests", "requests per digest (messages = parts; one DM open per new user)",
               f"{len(fan_out) / count:.2f} req/digest: {messages / count:.2f} msg ({expected / count:.2f} parts)"
               f" + {dm_opens / count:.2f} DM open", "= parts (+1 DM open first time)",
               messages == expected and dm_opens <= count, len(fan_out) / count, "requests/digest", details),
        Figure("P4.exactly-once", "digests lost / duplicated", f"{lost} lost, {duplicated} duplicated",
               "0 lost, 0 duplicated", lost == 0 and duplicated == 0 and len(parts) == count, lost + duplicated,
               "digests", details),
        Figure("P4.429", "429 responses", f"{limited} ({share:.2%} of {len(recorded):,} requests)", "≤ 1 %",
               share <= 0.01, share, "share", details),
    ]
