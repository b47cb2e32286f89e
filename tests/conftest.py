"""Shared fixtures: the built-in taxonomy, a fixed clock, and a real store on SQLite and PostgreSQL.

Store tests run once on a SQLite file and once on the machine's PostgreSQL (127.0.0.1:5432, trust
auth, database `test`), each PostgreSQL test in a schema of its own that is dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from digests.rendering import Renderer
from digests.store import open_store
from digests.topics import Taxonomy, load_taxonomy

POSTGRES_URL = os.environ.get("BRIEFBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def taxonomy() -> Taxonomy:
    """The built-in taxonomy with its keyword rules alone, so store and selection tests know each story's
    topics from its words; the semantic tagger has tests of its own (test_semantic, test_tagging_quality)."""
    return load_taxonomy(tagger="keywords")


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture
def now() -> datetime:
    return NOW


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A new, empty PostgreSQL schema for one test (dropped afterwards); yields its database URL."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def fresh_database(kind: str, directory: Path) -> Iterator[str]:
    """A new, empty database: a SQLite file in `directory` (kind "sqlite"), or a new PostgreSQL schema."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'briefbot.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test, on each store."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def engine(database_url: str, taxonomy: Taxonomy) -> Iterator[sa.Engine]:
    engine = open_store(database_url, taxonomy)
    yield engine
    engine.dispose()
