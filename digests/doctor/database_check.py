"""The database: reachable (fast, with a short connect timeout), at the migration head, schedules usable.

Only reads: a SQLite file is opened read-only and never created, nothing is migrated. The URL is
shown with its password masked, and the password is scrubbed from any driver message.
"""

from __future__ import annotations

import os
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from digests import models  # noqa: F401 - fills SQLModel.metadata with Briefbot's tables
from digests.doctor.report import Check, failure, ok, warning
from digests.errors import BriefbotError
from digests.scheduling import cron_trigger, parse_days
from digests.store import alembic_config

NAME = "database"
SCHEDULES = "schedules"
# Seconds to wait for PostgreSQL to answer before calling it unreachable (libpq's minimum is 2).
CONNECT_TIMEOUT_SECONDS = 3


@dataclass(frozen=True)
class StoredSchedule:
    """Targets that share one schedule: `count` of `what`, at `time_of_day` on `days` in `timezone`."""

    what: str
    time_of_day: str
    timezone: str
    days: str
    scheduled: bool  # whether `briefbot run` schedules them (unpaused, and a digest with topics)
    count: int


def check_database(database_url: str) -> list[Check]:
    """The database check, then (when the schema is at the head) the check of the stored schedules."""
    url = sa.make_url(database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        missing = _sqlite_file_problem(url, shown)
        if missing is not None:
            return [missing]
    try:
        engine = _read_only_engine(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError):
        return [failure(NAME, f"{shown}: no database driver for this URL",
                        "use sqlite:///briefbot.db or postgresql+psycopg://user:password@host:5432/briefbot")]
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            tables = set(sa.inspect(connection).get_table_names())
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            schema = _schema_check(shown, current, head, tables)
            if current != head:
                return [schema]
            return [schema, check_schedules(stored_schedules(connection))]
    except sa.exc.DBAPIError as error:
        return [_unreachable(url, shown, error)]
    finally:
        engine.dispose()


def _sqlite_file_problem(url: sa.URL, shown: str) -> Check | None:
    """A SQLite file that is not there yet (created at the first start) or that the bot could not write."""
    if url.query.get("uri"):
        return None  # a SQLite URI: its own options say how it is opened; connecting tells
    if not url.database or url.database == ":memory:":
        return warning(NAME, f"{shown}: kept in memory, so nothing survives a restart",
                       "set DATABASE_URL to a file (sqlite:///briefbot.db) or PostgreSQL to keep schedules")
    path = Path(url.database)
    if not path.exists():
        directory = path.parent.resolve()
        if not directory.is_dir():
            return failure(NAME, f"{shown}: the directory {directory} does not exist",
                           "create it, or point DATABASE_URL at an existing directory")
        if not os.access(directory, os.W_OK):
            return failure(NAME, f"{shown}: the directory {directory} is not writable by this user",
                           "let this user write there, or point DATABASE_URL elsewhere")
        return ok(NAME, f"{shown}: not created yet; the first start creates it")
    if not os.access(path, os.R_OK | os.W_OK):
        return failure(NAME, f"{shown}: this user cannot read and write {path.resolve()}",
                       "run the bot as the file's owner (it holds webhook tokens, so only its owner may read it)")
    return None


def _read_only_engine(url: sa.URL) -> sa.Engine:
    """An engine that cannot change the database; PostgreSQL gives up after CONNECT_TIMEOUT_SECONDS."""
    connect_args: dict[str, object] = {}
    if url.get_backend_name() == "sqlite" and url.database and not url.query.get("uri"):
        path = urllib.parse.quote(str(Path(url.database).resolve()))
        url = url.set(database=f"file:{path}?mode=ro", query={"uri": "true"})
    elif url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    return sa.create_engine(url, poolclass=NullPool, connect_args=connect_args, hide_parameters=True)


def _schema_check(shown: str, current: str | None, head: str | None, tables: set[str]) -> Check:
    if current == head:
        return ok(NAME, f"{shown}: reachable, schema at the latest revision ({head})")
    if current is None:
        clash = sorted(tables & set(SQLModel.metadata.tables))
        if clash:
            return failure(NAME, f"{shown}: holds tables named like Briefbot's ({', '.join(clash[:3])}) "
                                 "but no Briefbot schema version",
                           "point DATABASE_URL at a new, empty database (or schema) for Briefbot")
        return ok(NAME, f"{shown}: reachable and empty; the first start creates the schema")
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current not in known:
        return failure(NAME, f"{shown}: schema revision {current} is unknown to this version of Briefbot "
                             f"(its latest is {head}); a newer Briefbot migrated it",
                       "run the newer Briefbot, or restore the backup taken before the upgrade (docs/operations.md)")
    return warning(NAME, f"{shown}: schema at revision {current}, the latest is {head}",
                   "the next start applies the migrations (or run `briefbot db upgrade`); back up first "
                   "(docs/operations.md)")


def _unreachable(url: sa.URL, shown: str, error: sa.exc.DBAPIError) -> Check:
    message = str(error.orig or error).strip().splitlines()[0] if str(error.orig or error).strip() else "no answer"
    if url.password:
        message = message.replace(str(url.password), "***")
    if url.get_backend_name() == "sqlite":
        return failure(NAME, f"{shown}: cannot be read: {message}",
                       "is it a SQLite database? restore it from a backup if it is damaged (docs/operations.md)")
    return failure(NAME, f"cannot connect to {shown}: {message}",
                   "is the database server running and reachable from here? check the host, port, user, password "
                   "and database name in DATABASE_URL", transient=True)


# Every stored schedule, grouped: 10,000 targets usually share a few dozen (time, zone, days).
_SCHEDULE_QUERIES = {
    "channel briefing": "SELECT time_of_day, timezone, days, NOT paused AS scheduled, COUNT(*) FROM target "
                        "WHERE kind = 'channel' GROUP BY time_of_day, timezone, days, paused",
    "personal digest": "SELECT t.time_of_day, t.timezone, 'daily', NOT t.paused AND EXISTS (SELECT 1 "
                       "FROM subscription s WHERE s.user_id = d.user_id) AS scheduled, COUNT(*) "
                       "FROM target t JOIN personal_digest d ON d.id = t.id "
                       "GROUP BY t.time_of_day, t.timezone, scheduled",
}


def stored_schedules(connection: sa.Connection) -> list[StoredSchedule]:
    """The schedules of every channel briefing and personal digest (the schema must be at the head)."""
    found = []
    for what, query in _SCHEDULE_QUERIES.items():
        for time_of_day, timezone, days, scheduled, count in connection.execute(sa.text(query)):
            found.append(StoredSchedule(what, time_of_day, timezone, days, bool(scheduled), count))
    webhooks = "SELECT timezone, COUNT(*) FROM target WHERE kind = 'webhook' GROUP BY timezone"
    found += [StoredSchedule("`briefbot post` webhook digest", "00:00", timezone, "daily", False, count)
              for timezone, count in connection.execute(sa.text(webhooks))]
    return found


def check_schedules(schedules: list[StoredSchedule]) -> Check:
    """Whether every stored timezone, time and day list can be scheduled; one the bot schedules stops the start."""
    bad: Counter[tuple[str, str, bool]] = Counter()
    for schedule in schedules:
        try:
            cron_trigger(time_of_day=schedule.time_of_day, timezone=schedule.timezone,
                         days=parse_days(schedule.days))
        except BriefbotError as error:
            bad[(schedule.what, str(error), schedule.scheduled)] += schedule.count
    total = sum(schedule.count for schedule in schedules)
    if not bad:
        zones = len({schedule.timezone for schedule in schedules})
        return ok(SCHEDULES, f"{total} stored schedule(s) in {zones} timezone(s), all valid")
    problems = "; ".join(f"{count} {what}(s): {message}" for (what, message, _), count in sorted(bad.items()))
    advice = ("a timezone this machine does not know: update the tzdata package (pip install -U tzdata) "
              "or set the schedule again (/briefing setup, /digest schedule)")
    if any(scheduled for (_, _, scheduled) in bad):
        return failure(SCHEDULES, problems, advice)
    return warning(SCHEDULES, f"{problems} (paused or unused, so not scheduled now)", advice)
