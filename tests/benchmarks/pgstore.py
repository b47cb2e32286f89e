"""PostgreSQL copies of the benchmark stores, for P2 and P3 with `--store postgresql`.

A store is built in SQLite as for the default run (raw inserts; cached for P2) and its rows are
copied with COPY into a PostgreSQL schema made by the project's own migrations (`open_store`):
ingesting a million stories through the ORM would take far longer than what is measured. The
generated `story.search` tsvector is computed by PostgreSQL as the rows arrive, so it is not copied,
and the `topic` table is filled by `open_store` from the same taxonomy. As PostgreSQL's guide to
populating a database advises, the secondary indexes (the GIN index of `search` among them) are
dropped during the copy and re-created from their own definitions afterwards; then sequences are
moved past the copied ids and the tables vacuumed and analysed, as autovacuum leaves a deployment's.

The copy of a cached SQLite store is itself cached, in a schema named after the SQLite file and its
anchor (e.g. `bench_stories_1000000_d90_s20260101_g2_r2_1764338700`); `DROP SCHEMA … CASCADE` makes
the next run copy it again, and a rebuilt SQLite store or a new migration gets a fresh copy (stale
ones of the same size are dropped). A store that is not cached (P3's) is copied into a schema that
is dropped after use. Only schemas named `bench_*` are created or dropped.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import psycopg
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from psycopg import sql
from sqlmodel import SQLModel

import digests.models  # noqa: F401 - registers every table on SQLModel.metadata
from digests.store import open_store
from digests.topics import load_taxonomy
from tests.benchmarks.datasets import StoryStore

POSTGRES_URL = os.environ.get("BRIEFBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Filled by open_store from the taxonomy; alembic_version and SQLite's FTS tables are not models.
NOT_COPIED = frozenset({"topic"})


def schema_url(schema: str) -> str:
    """The SQLAlchemy URL of one schema (as `tests/conftest.py` makes them)."""
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def cached_copy(store: StoryStore, log: Callable[[str], None]) -> str:
    """The URL of the PostgreSQL copy of a cached SQLite store, copied first if need be.

    A copy made before the newest migration is made again rather than migrated in place: a
    migration may rewrite a million rows and leave them unanalysed, which the copy never does.
    """
    prefix = f"bench_{store.family}_".replace("-", "_")
    schema = f"bench_{store.path.stem}_{int(store.anchor.timestamp())}".replace("-", "_")
    with _connect() as admin:
        found = [name for (name,) in admin.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,))]
        if schema in found and _revision(admin, schema) == _head_revision():
            return schema_url(schema)
        for stale in found:  # an older copy, one of an older schema, or one whose copy was interrupted
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(stale)))
    building = f"{prefix}building"  # renamed once complete, so an interrupted copy is never taken for one
    copy_store(store.path, building, log)
    with _connect() as admin:
        admin.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(building), sql.Identifier(schema)))
    log(f"the copy is cached as schema {schema} for later runs")
    return schema_url(schema)


@contextmanager
def temporary_copy(path: Path, log: Callable[[str], None]) -> Iterator[str]:
    """A PostgreSQL copy of the SQLite store at `path` in a new schema, dropped afterwards; yields its URL."""
    schema = f"bench_tmp_{uuid.uuid4().hex[:12]}"
    try:
        copy_store(path, schema, log)
        yield schema_url(schema)
    finally:
        with _connect() as admin:
            admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def copy_store(path: Path, schema: str, log: Callable[[str], None]) -> None:
    """Create `schema`, migrate it with the project's code and copy every row of the SQLite store into it."""
    started = time.perf_counter()
    with _connect() as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    open_store(schema_url(schema), load_taxonomy()).dispose()
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        with _connect(schema) as target:
            tables = [name for name in _tables_in_order() if _has_rows(source, name)]
            log(f"copying {', '.join(tables)} of {path.name} into PostgreSQL schema {schema}")
            indexes = _drop_secondary_indexes(target, tables)
            for name in tables:
                _copy_table(source, target, name)
            target.execute("SET maintenance_work_mem = '1GB'")  # this session only: builds each index in memory
            for definition in indexes:
                target.execute(definition)
            _reset_sequences(target, tables)
            for name in tables:
                target.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(name)))
    finally:
        source.close()
    log(f"copied {path.name} into {schema} in {time.perf_counter() - started:.0f} s")


def _revision(connection: psycopg.Connection, schema: str) -> str | None:
    """The migration a schema is at (None if it has none)."""
    row = connection.execute(sql.SQL("SELECT version_num FROM {}.alembic_version").format(
        sql.Identifier(schema))).fetchone()
    return row[0] if row else None


def _head_revision() -> str | None:
    """The newest migration of the project's code."""
    return ScriptDirectory(str(resources.files("digests") / "migrations")).get_current_head()


def _connect(schema: str | None = None) -> psycopg.Connection:
    """A psycopg connection in autocommit (VACUUM needs it), in UTC: SQLite's times are naive UTC."""
    url = sa.make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    options = "-ctimezone=UTC" + (f" -csearch_path={schema}" if schema else "")
    return psycopg.connect(url, options=options, autocommit=True)


def _tables_in_order() -> list[str]:
    """The store's tables, each after those its foreign keys point to."""
    return [table.name for table in SQLModel.metadata.sorted_tables if table.name not in NOT_COPIED]


def _has_rows(source: sqlite3.Connection, table: str) -> bool:
    return source.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")').fetchone()[0] == 1  # noqa: S608 - a model's name


def _drop_secondary_indexes(target: psycopg.Connection, tables: list[str]) -> list[str]:
    """Drop the indexes of `tables` that back no constraint; returns their definitions, to re-create them."""
    rows = target.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class t ON t.oid = i.indrelid "
        "WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%s) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = t.oid)",
        (tables,)).fetchall()
    for name, _ in rows:
        target.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    return [definition for _, definition in rows]


def _copy_table(source: sqlite3.Connection, target: psycopg.Connection, table: str) -> None:
    """COPY every row of one table, in the columns both have that PostgreSQL does not generate.

    Values go as text: SQLite's timestamps are naive UTC (read as UTC, see `_connect`) and its
    booleans 0/1, both of which PostgreSQL's input functions accept.
    """
    writable = {row[0] for row in target.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s AND is_generated = 'NEVER'", (table,))}
    columns = [row[1] for row in source.execute(f'PRAGMA table_info("{table}")') if row[1] in writable]
    selected = ", ".join(f'"{column}"' for column in columns)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    with target.cursor() as cursor, cursor.copy(statement) as copy:
        for row in source.execute(f'SELECT {selected} FROM "{table}"'):  # noqa: S608 - names from the catalogs
            copy.write_row(row)


def _reset_sequences(target: psycopg.Connection, tables: list[str]) -> None:
    """Move each serial column's sequence past the copied ids, so rows added later get fresh ones."""
    serials = target.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = ANY(%s) AND column_default LIKE 'nextval(%%'", (tables,)).fetchall()
    for table, column in serials:
        target.execute(sql.SQL("SELECT setval(pg_get_serial_sequence(%s, %s), coalesce(max({}), 0) + 1, false) "
                               "FROM {}").format(sql.Identifier(column), sql.Identifier(table)), (table, column))
