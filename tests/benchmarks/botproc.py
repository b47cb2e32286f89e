"""The real bot (`python -m bot run`) as a subprocess against the in-process fake Discord, and its memory.

Started the way `tests/e2e/test_delivery.py` starts it: the fake's endpoints and a dummy token in
the environment, global commands (no `DISCORD_GUILD_ID`), the working directory a scratch one (so
no `.env` of the checkout is read).
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from tests.e2e.fake_discord import ClientProcess, FakeDiscord

TOKEN = "MTEx.benchmark-token.for-the-fake-discord"


def minute_floor(moment: datetime) -> datetime:
    """`moment` at the start of its minute (slots are whole minutes)."""
    return moment.replace(second=0, microsecond=0)


def start_bot(fake: FakeDiscord, workdir: Path, database_url: str, **settings: str) -> ClientProcess:
    """Launch the bot against `fake`; waits fail fast if it dies."""
    env = {**fake.env(TOKEN), "DATABASE_URL": database_url, "LOG_LEVEL": "INFO", "DISCORD_GUILD_ID": "",
           "DEFAULT_TIMEZONE": "UTC", "PYTHONUNBUFFERED": "1", **settings}
    bot = ClientProcess([sys.executable, "-m", "bot", "run"], env=env, cwd=workdir).start()
    fake.watch(bot)
    return bot


def stop_bot(fake: FakeDiscord, bot: ClientProcess) -> None:
    """Stop the bot on purpose (SIGTERM, as a deployment would)."""
    fake.unwatch(bot)
    if bot.returncode is None:
        bot.send_signal(signal.SIGTERM)
        bot.wait(timeout=30)
    bot.stop()


def memory_mb(pid: int) -> dict[str, float]:
    """The process's resident memory now (VmRSS) and at its peak so far (VmHWM), in MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024  # kB
    return found


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, bot: ClientProcess,
               interval: float = 0.01) -> float:
    """Poll `condition` (outside the fake's lock) until it holds; returns time.perf_counter() then."""
    deadline = time.monotonic() + timeout
    while not condition():
        if bot.returncode is not None:
            raise RuntimeError(f"the bot exited ({bot.returncode}) while waiting for {what}:\n{bot.output()[-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}:\n{bot.output()[-3000:]}")
        time.sleep(interval)
    return time.perf_counter()
