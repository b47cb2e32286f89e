"""Alembic environment: migrations run on the connection `digests.store.upgrade_database` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlmodel import SQLModel

import digests.models  # noqa: F401  (registers the tables on SQLModel.metadata for autogenerate)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    """Run online, on the given connection or on one made from `sqlalchemy.url`."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(config.get_section(config.config_ini_section, {}), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
