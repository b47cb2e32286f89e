"""The real bot (`python -m bot run`) as a subprocess, talking to a fake Discord the tests own.

One bot per test module and store (starting one takes a second or two): a module's tests run on a
SQLite file, then again on a PostgreSQL schema.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import fresh_database, postgres_schema
from tests.e2e.fake_discord import ClientProcess, FakeDiscord, FakeGuild

DUMMY_TOKEN = "MTEx.dummy-token.for-the-fake-discord"
MANAGE_GUILD = 1 << 5
_RUNNING: list[ClientProcess] = []
BREAKING = "@everyone breaking: NATO summit moved to Greenland"


@dataclass
class World:
    """The fake Discord, its guild and people, and the running bot."""

    fake: FakeDiscord
    guild: FakeGuild
    manager: int
    member: int
    bot: ClientProcess
    database_url: str


def seed_stories(workdir: Path, env: dict[str, str]) -> None:
    """Ingest the bundled sample and a story whose title tries to ping everyone."""
    now = datetime.now(UTC).isoformat()
    (workdir / "extra.jsonl").write_text(
        json.dumps(
            {
                "title": BREAKING,
                "source": "Prank Wire",
                "published": now,
                "summary": "Allies meet on Arctic security.",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    for args in (["demo"], ["ingest", "extra.jsonl"]):
        result = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database shared by one module's tests, on each store."""
    with fresh_database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new PostgreSQL schema, for what only PostgreSQL can do (several processes on one store)."""
    with postgres_schema() as url:
        yield url


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Iterator[World]:
    workdir = tmp_path_factory.mktemp("bot")
    database_url = module_database_url
    base_env = {
        "DATABASE_URL": database_url,
        "DEFAULT_TIMEZONE": "Europe/Brussels",
        "LOG_LEVEL": "INFO",
        "DISCORD_GUILD_ID": "",
        "PYTHONUNBUFFERED": "1",
    }
    env = {**os.environ, **base_env}
    seed_stories(workdir, env)
    with FakeDiscord() as fake:
        manager = fake.add_user(username="manager")
        member = fake.add_user(username="reader")
        guild = fake.add_guild(
            name="Newsroom",
            channels=["general", "briefings", "locked"],
            roles=["Readers"],
            members=[manager, {"id": member, "roles": ["Readers"]}],
            owner_id=manager,
        )
        bot = ClientProcess(
            [sys.executable, "-m", "bot", "run"], env={**base_env, **fake.env(DUMMY_TOKEN)}, cwd=workdir
        ).start()
        fake.watch(bot)
        try:
            fake.wait_until_ready(timeout=60)
            fake.wait_for_commands(timeout=60)
            yield World(fake, guild, manager, member, bot, database_url)
        finally:
            bot.stop()
            assert DUMMY_TOKEN not in bot.output()


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now (for a bot's HTTP_PORT)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_bot(fake: FakeDiscord, workdir: Path, database_url: str, **settings: str) -> ClientProcess:
    """Start `briefbot run` against the fake (stopped at the end of the test whatever happens)."""
    env = {**fake.env(DUMMY_TOKEN), "DATABASE_URL": database_url, "LOG_LEVEL": "INFO", "DISCORD_GUILD_ID": "",
           "DEFAULT_TIMEZONE": "UTC", "PYTHONUNBUFFERED": "1", **settings}
    bot = ClientProcess([sys.executable, "-m", "bot", "run"], env=env, cwd=workdir).start()
    fake.watch(bot)
    _RUNNING.append(bot)
    return bot


def stop_bot(fake: FakeDiscord, bot: ClientProcess, sig: int = signal.SIGTERM) -> None:
    """Stop (or kill) a bot on purpose, so the fake does not take it for a crash."""
    fake.unwatch(bot)
    bot.send_signal(sig)
    bot.wait(timeout=20)
    bot.stop()


@pytest.fixture(autouse=True)
def _no_bot_outlives_its_test() -> Iterator[None]:
    """A test that fails half-way must not leave a bot process running into the next tests."""
    yield
    while _RUNNING:
        _RUNNING.pop().stop()
