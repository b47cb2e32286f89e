"""Opening the store: concurrent first starts (L11) and the SQLite file's permissions (L2)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from digests.store import create_engine, open_store

UPGRADERS = 4


# Each upgrader is a process of its own, as in production: Alembic's module state is not thread-safe.
_UPGRADER = """
import sys
from digests.store import create_engine, upgrade_database
engine = create_engine(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
upgrade_database(engine)
"""


def test_processes_starting_together_on_a_fresh_database_all_migrate_it(database_url):
    """Several processes upgrading an empty database at once all succeed (one used to die, L11)."""
    upgraders = [subprocess.Popen([sys.executable, "-c", _UPGRADER, database_url], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(UPGRADERS)]
    for upgrader in upgraders:  # every process has imported everything before any of them starts
        assert upgrader.stdout.readline().strip() == "ready"
    for upgrader in upgraders:
        upgrader.stdin.write("go\n")
        upgrader.stdin.flush()
    results = [(upgrader.wait(timeout=120), upgrader.stderr.read()[-2000:]) for upgrader in upgraders]
    for upgrader in upgraders:
        upgrader.stdin.close()
        upgrader.stdout.close()
        upgrader.stderr.close()
    assert results == [(0, "")] * UPGRADERS
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    finally:
        engine.dispose()
    assert versions == [ScriptDirectory(str(resources.files("digests") / "migrations")).get_current_head()]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_wal_files_are_readable_by_their_owner_only(tmp_path, taxonomy):
    path = tmp_path / "briefbot.db"
    old_umask = os.umask(0o022)
    try:
        engine = open_store(f"sqlite:///{path}", taxonomy)
        with engine.begin() as conn:  # the WAL files exist while a connection is open
            conn.execute(sa.text("SELECT 1"))
            modes = {file.name: _mode(file) for file in tmp_path.iterdir() if file.name.startswith("briefbot.db")}
        engine.dispose()
    finally:
        os.umask(old_umask)
    assert set(modes) >= {"briefbot.db", "briefbot.db-wal", "briefbot.db-shm"}
    assert modes == dict.fromkeys(modes, 0o600)


def test_an_existing_world_readable_sqlite_database_is_made_private(tmp_path, taxonomy):
    path = tmp_path / "old.db"
    open_store(f"sqlite:///{path}", taxonomy).dispose()
    path.chmod(0o644)
    open_store(f"sqlite:///{path}", taxonomy).dispose()
    assert _mode(path) == 0o600


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_sqlite_database_still_opens(url, taxonomy):
    open_store(url, taxonomy).dispose()
