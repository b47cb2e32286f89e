"""The `briefbot` command's domain subcommands: demo, ingest, preview, topics, retag, feeds, doctor, db upgrade.

`bot.cli` adds `run` on top of this parser, so this module never imports the Discord transport.
Bad input ends with a one-line error and a non-zero status, never a traceback: 2 for a bad
setting (a DATABASE_URL that cannot be parsed included), 1 for what went wrong while running (a
locked database, a URL httpx refuses). With LOG_LEVEL=DEBUG the traceback is logged as well.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlmodel import col, select
from tqdm import tqdm

from digests.doctor import diagnose
from digests.errors import BriefbotError, ConfigError, InputError, SourceError
from digests.feed_import import exported_feeds, import_feeds
from digests.feed_poller import FeedPoller, read_feeds_file, sync_deployment_feeds
from digests.feed_registry import add_feed, remove_feed
from digests.ingest import JSONL_SUFFIXES, read_source_batches
from digests.logs import configure_logging
from digests.models import Feed
from digests.opml import MAX_OPML_BYTES, MAX_OPML_TEXT, MAX_OUTLINES, read_opml, write_opml
from digests.selection import find_stories, select_digest, topic_counts
from digests.services import Services
from digests.settings import Settings, raw_values
from digests.store import AddResult, add_stories, count_stories, record_ingest_run, retag, session_scope
from digests.timeutil import parse_timezone

log = logging.getLogger(__name__)
Handler = Callable[[argparse.Namespace, Services], int]
AddCommands = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def utc_now() -> datetime:
    """The one place the CLI reads the clock; everything below takes `now` as an argument."""
    return datetime.now(UTC)


def build_parser(*extensions: AddCommands) -> argparse.ArgumentParser:
    """The parser of every domain subcommand (each sets `handler`), plus those `extensions` add."""
    parser = argparse.ArgumentParser(
        prog="briefbot",
        description="Briefbot turns news feeds into daily briefing digests on Discord.",
        epilog="Settings come from .env and the environment; see .env.example.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="ingest the bundled sample and print the briefing as it would be posted")
    demo.add_argument("--tz", help="timezone to show times in (default: DEFAULT_TIMEZONE)")
    demo.set_defaults(handler=cmd_demo)

    ingest = commands.add_parser("ingest", help="ingest briefing text, RSS/Atom/JSON feeds or JSON Lines")
    ingest.add_argument("sources", nargs="+", metavar="SOURCE", help="a file path or an http(s) URL")
    ingest.set_defaults(handler=cmd_ingest)

    preview = commands.add_parser("preview", help="print the briefing a new channel would get now")
    preview.add_argument("--topics", default="", help="comma-separated topic slugs (default: all topics)")
    preview.add_argument("--hours", type=int, default=24, help="look back this many hours (1-168, default 24)")
    preview.add_argument("--tz", help="timezone to show times in (default: DEFAULT_TIMEZONE)")
    preview.set_defaults(handler=cmd_preview)

    topics = commands.add_parser("topics", help="list the topics with their stories of the last 24 h")
    topics.set_defaults(handler=cmd_topics)

    retag_cmd = commands.add_parser("retag", help="re-tag every stored story after a taxonomy change")
    retag_cmd.set_defaults(handler=cmd_retag)

    feeds = commands.add_parser("feeds", help="deployment-wide feeds (guild feeds are managed in Discord)")
    feed_commands = feeds.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")
    feeds_add = feed_commands.add_parser("add", help="register a feed for every guild (or turn a disabled one back on)")
    feeds_add.add_argument("url")
    feeds_add.add_argument("--topic", help="tag every story of this feed with a topic")
    feeds_add.set_defaults(handler=cmd_feeds_add)
    feed_commands.add_parser("list", help="every feed, with its state, last success and last error").set_defaults(
        handler=cmd_feeds_list)
    feeds_remove = feed_commands.add_parser("remove", help="remove a deployment-wide feed (by id or URL)")
    feeds_remove.add_argument("feed")
    feeds_remove.set_defaults(handler=cmd_feeds_remove)
    feeds_poll = feed_commands.add_parser("poll", help="poll every enabled feed now (FEEDS_FILE synced first)")
    feeds_poll.set_defaults(handler=cmd_feeds_poll)
    feeds_import = feed_commands.add_parser("import", help="register the feeds of an OPML file (a reader's export)")
    feeds_import.add_argument("file", metavar="FILE.opml", type=Path)
    feeds_import.set_defaults(handler=cmd_feeds_import)
    feeds_export = feed_commands.add_parser("export", help="write the deployment-wide feeds as an OPML 2.0 file")
    feeds_export.add_argument("file", metavar="FILE", type=Path, nargs="?",
                              help="where to write it (default: standard output)")
    feeds_export.set_defaults(handler=cmd_feeds_export)

    doctor = commands.add_parser("doctor", help="check the configuration: token, database, templates, topics, "
                                                "feeds file, timezones, HTTP port; exits 1 when the bot cannot start")
    doctor.set_defaults(handler=cmd_doctor, standalone=True)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="apply the Alembic migrations the database lacks")
    upgrade.set_defaults(handler=cmd_db_upgrade)
    for extend in extensions:
        extend(commands)
    return parser


def main(argv: Sequence[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    """Run one subcommand; returns the exit status."""
    args = (parser or build_parser()).parse_args(argv)
    if getattr(args, "standalone", False):  # reads the settings itself, whatever is wrong with them
        return args.handler(args)
    try:
        settings = Settings.load()
        configure_logging(settings.log_level, secrets=[settings.discord_token or ""], log_format=settings.log_format)
        check_database_url(settings.database_url)
        services = Services.from_settings(settings)
    except BriefbotError as exc:
        return _fail(exc, status=2)
    try:
        return args.handler(args, services)
    except ConfigError as exc:
        return _fail(exc, status=2)
    except BriefbotError as exc:
        return _fail(exc, status=1)
    except sa.exc.SQLAlchemyError as exc:
        return _fail_unexpectedly(f"database error: {_first_line(exc)}", exc, settings.database_url)
    except (ValueError, httpx.InvalidURL) as exc:
        return _fail_unexpectedly(_first_line(exc), exc, settings.database_url)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; stop quietly, as other command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        services.close()


def _fail(exc: BriefbotError, *, status: int) -> int:
    print(f"briefbot: error: {exc}", file=sys.stderr)
    return status


def check_database_url(url: str) -> None:
    """Refuse a DATABASE_URL SQLAlchemy cannot parse, without repeating it: it may hold a password."""
    try:
        sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise ConfigError("DATABASE_URL is not a valid database URL "
                          "(e.g. postgresql+psycopg://user:password@host:5432/name, with a numeric port)") from None


def _fail_unexpectedly(message: str, exc: Exception, database_url: str) -> int:
    """An operational error no command turned into a BriefbotError: one line, the traceback only at DEBUG."""
    log.debug("the command failed", exc_info=exc)
    password = sa.make_url(database_url).password
    if password:
        message = message.replace(str(password), "***")
    print(f"briefbot: error: {message}", file=sys.stderr)
    return 1


def _first_line(exc: BaseException) -> str:
    """The driver's own message when SQLAlchemy wraps one (its own adds the SQL and a link)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def cmd_doctor(args: argparse.Namespace) -> int:
    """Run every check of the configuration and print them; 0 when the bot can start, 1 otherwise."""
    values = raw_values()
    debug = values.get("LOG_LEVEL", "").strip().upper() == "DEBUG"
    log_format = "json" if values.get("LOG_FORMAT", "").strip().lower() == "json" else "text"
    # Loading the taxonomy or templates may log; the report says it all, so only errors are shown.
    configure_logging("DEBUG" if debug else "ERROR", secrets=[values.get("DISCORD_TOKEN", "").strip()],
                      log_format=log_format)
    report = diagnose(values, now=utc_now())
    for line in report.lines():
        print(line)
    print()
    print(report.summary())
    return 0 if report.can_start else 1


def cmd_ingest(args: argparse.Namespace, services: Services) -> int:
    """Ingest each source in its own transaction; a failed source loses nothing already stored."""
    totals = {"new": 0, "duplicate": 0, "failed": 0}
    with tqdm(args.sources, desc="ingest", unit="source", file=sys.stderr, disable=len(args.sources) < 2 or None,
              leave=False) as progress:
        for source in progress:
            line, failed, added = ingest_one(source, services)
            totals["new"] += added.new if added else 0
            totals["duplicate"] += added.duplicates if added else 0
            totals["failed"] += failed
            progress.write(line, file=sys.stdout)
    print(f"{totals['new']} new, {totals['duplicate']} duplicate, {totals['failed']} failed")
    return 1 if totals["failed"] else 0


def ingest_one(source: str, services: Services, *, now: datetime | None = None):
    """Read, store and record one source in one transaction; returns (report line, failed?, AddResult or None).

    A large JSON Lines file is stored batch by batch as it is read (see `read_source_batches`), with a
    progress bar on a terminal; it is still one transaction, so a failure stores none of it.
    """
    started = now or utc_now()
    added = AddResult(new=0, duplicates=0)
    skipped = 0
    problems: list[str] = []  # the first three: a streamed file may have millions of bad lines
    try:
        with session_scope(services.engine) as session, _progress(source) as bar:
            for parsed in read_source_batches(source):
                batch = add_stories(session=session, drafts=parsed.drafts, taxonomy=services.taxonomy, now=started)
                added = added + batch
                skipped += len(parsed.problems)
                problems += parsed.problems[:3 - len(problems)]
                bar.update(len(parsed.drafts) + len(parsed.problems))
            problem = "; ".join(problems) + (" …" if skipped > 3 else "")
            record_ingest_run(session=session, source=source, started_at=started, result=added,
                              error=problem or None)
    except SourceError as exc:
        with session_scope(services.engine) as session:
            record_ingest_run(session=session, source=source, started_at=started, result=None, error=str(exc))
        return f"✗ {source}: {exc}", True, None
    summary = f"{added.new} new, {added.duplicates} duplicate"
    if skipped:
        return f"✗ {source}: {summary}; {skipped} item(s) skipped: {problem}", True, added
    return f"✓ {source}: {summary}", False, added


# A JSON Lines file larger than this shows a progress bar while it is ingested (on a terminal).
PROGRESS_MIN_BYTES = 5 * 1024 * 1024


def _progress(source: str) -> tqdm:
    """A bar counting lines for a JSON Lines file of some size read on a terminal; silent otherwise."""
    big = Path(source).suffix.lower() in JSONL_SUFFIXES and _file_size(source) > PROGRESS_MIN_BYTES
    return tqdm(desc=Path(source).name, unit=" lines", file=sys.stderr, disable=None if big else True, leave=False)


def _file_size(source: str) -> int:
    try:
        return Path(source).stat().st_size
    except (OSError, ValueError):
        return 0


def cmd_demo(args: argparse.Namespace, services: Services) -> int:
    """Ingest the bundled sample, then print the briefing and each topic's stories as posted."""
    now = utc_now()
    tz = parse_timezone(args.tz) if args.tz else services.default_timezone
    sample = resources.files("digests") / "data" / "sample-briefing.txt"
    with resources.as_file(sample) as path:
        line, _, _ = ingest_one(str(path), services, now=now)
    print(line.replace(str(path), "bundled sample briefing"))
    with session_scope(services.engine) as session:
        digest = select_digest(session=session, taxonomy=services.taxonomy, topics=None, since=None, now=now)
        _print_parts("channel briefing (/briefing post-now)", services.renderer.briefing(digest, tz=tz))
        for topic, count in topic_counts(session=session, taxonomy=services.taxonomy, now=now):
            if not count:
                continue
            stories = find_stories(session=session, taxonomy=services.taxonomy, topic=topic.slug, query=None,
                                   hours=24, limit=5, now=now)
            _print_parts(f"/stories topic:{topic.slug}", services.renderer.story_list(stories, tz=tz, now=now))
    return 0


def cmd_preview(args: argparse.Namespace, services: Services) -> int:
    """Print the briefing a new channel with these topics would get now."""
    if not 1 <= args.hours <= 168:
        raise InputError("--hours must be between 1 and 168")
    tz = parse_timezone(args.tz) if args.tz else services.default_timezone
    slugs = []
    for name in filter(None, (part.strip() for part in args.topics.split(","))):
        topic = services.taxonomy.resolve(name)
        if topic is None:
            raise InputError(f"unknown topic “{name}”; see `briefbot topics`")
        slugs.append(topic.slug)
    now = utc_now()
    with session_scope(services.engine) as session:
        window = timedelta(hours=args.hours)
        digest = select_digest(session=session, taxonomy=services.taxonomy, topics=slugs, since=None, now=now,
                               period=window, first_window=window)
    if digest.is_empty:
        print(f"No stories in the last {args.hours} h for these topics: nothing would be posted.")
        return 0
    _print_parts("briefing preview", services.renderer.briefing(digest, tz=tz))
    return 0


def cmd_topics(args: argparse.Namespace, services: Services) -> int:
    """Print the taxonomy with the number of stories of the last 24 h."""
    with session_scope(services.engine) as session:
        counts = topic_counts(session=session, taxonomy=services.taxonomy, now=utc_now())
    for part in services.renderer.topic_list(counts):
        print(part)
    return 0


def cmd_retag(args: argparse.Namespace, services: Services) -> int:
    """Re-tag every story with the taxonomy in force, with a progress bar on a terminal."""
    with session_scope(services.engine) as session:
        stories = count_stories(session=session)
        with tqdm(total=stories, desc="retag", unit="story", file=sys.stderr, disable=None) as bar:
            links = retag(session=session, taxonomy=services.taxonomy, progress=bar.update)
    print(f"Re-tagged {stories} stories: {links} topic links.")
    return 0


def cmd_feeds_add(args: argparse.Namespace, services: Services) -> int:
    """Register a deployment-wide feed (the operator may use private addresses)."""
    with session_scope(services.engine) as session:
        feed, created = add_feed(session=session, taxonomy=services.taxonomy, url=args.url, guild_id=None,
                                 topic=args.topic, added_by=None, allow_private=True, now=utc_now())
    print(f"{'Added' if created else 'Re-enabled'} feed #{feed.id}: {feed.url}")
    return 0


def cmd_feeds_list(args: argparse.Namespace, services: Services) -> int:
    """Print every feed with its state."""
    with session_scope(services.engine) as session:
        feeds = session.exec(select(Feed).order_by(col(Feed.id))).all()
    if not feeds:
        print("No feeds. Add one with `briefbot feeds add URL` or FEEDS_FILE.")
    for feed in feeds:
        scope = "all guilds" if feed.guild_id is None else f"guild {feed.guild_id}"
        state = "disabled" if not feed.enabled else "failing" if feed.failures else "ok"
        success = feed.last_success_at.strftime("%Y-%m-%d %H:%M UTC") if feed.last_success_at else "never"
        print(f"#{feed.id} [{state}] {feed.url} ({scope}) last success: {success}"
              + (f"; last error: {feed.last_error}" if feed.last_error else ""))
    return 0


def cmd_feeds_remove(args: argparse.Namespace, services: Services) -> int:
    """Remove a deployment-wide feed."""
    with session_scope(services.engine) as session:
        feed = remove_feed(session=session, guild_id=None, feed=args.feed)
    print(f"Removed feed #{feed.id}: {feed.url}")
    return 0


def cmd_feeds_poll(args: argparse.Namespace, services: Services) -> int:
    """Poll every enabled feed once, now; exits 1 when any failed."""
    if services.settings.feeds_file is not None:
        sync_deployment_feeds(engine=services.engine, urls=read_feeds_file(services.settings.feeds_file),
                              now=utc_now())
    with session_scope(services.engine) as session:
        feeds = list(session.exec(select(Feed).where(col(Feed.enabled).is_(True)).order_by(col(Feed.id))))
    reports = asyncio.run(_poll(services, feeds))
    for report in reports:
        detail = f"{report.new} new, {report.duplicates} duplicate" if report.outcome == "new" else report.error or ""
        print(f"#{report.feed_id} {report.url}: {report.outcome}" + (f" ({detail})" if detail else ""))
    failed = sum(report.outcome in {"failed", "disabled"} for report in reports)
    print(f"{len(reports)} feed(s) polled, {failed} failed")
    return 1 if failed else 0


def cmd_feeds_import(args: argparse.Namespace, services: Services) -> int:
    """Register the feeds of an OPML file deployment-wide; exits 1 when any outline was refused."""
    subscriptions = read_opml(_read_capped(args.file, MAX_OPML_BYTES))
    report = import_feeds(engine=services.engine, taxonomy=services.taxonomy, subscriptions=subscriptions,
                          guild_id=None, added_by=None, allow_private=True, now=utc_now())
    print(services.renderer.render("feed_import_report.txt.j2", report=report, source=str(args.file),
                                   max_outlines=MAX_OUTLINES))
    return 1 if report.count("refused") else 0


def cmd_feeds_export(args: argparse.Namespace, services: Services) -> int:
    """Write the deployment-wide feeds as OPML to a file or standard output."""
    feeds = exported_feeds(engine=services.engine, guild_id=None)
    document = write_opml(feeds, title="Briefbot deployment-wide feeds", now=utc_now())
    if args.file is None:
        sys.stdout.buffer.write(document)
        return 0
    try:
        args.file.write_bytes(document)
    except OSError as exc:
        raise InputError(f"cannot write {args.file}: {exc.strerror or exc}") from None
    print(f"Wrote {len(feeds)} feed(s) to {args.file}", file=sys.stderr)
    return 0


def _read_capped(path: Path, limit: int) -> bytes:
    """The bytes of `path`, refused past `limit` before they are read."""
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise InputError(f"{path} is larger than {MAX_OPML_TEXT}, the most an OPML file may be.")
    return data


async def _poll(services: Services, feeds: list[Feed]):
    poller = FeedPoller(engine=services.engine, taxonomy=services.taxonomy, clock=utc_now,
                        allow_private=services.settings.allow_private_feeds,
                        deadline=services.settings.feed_fetch_deadline_seconds,
                        guild_daily_quota=services.settings.guild_daily_story_quota)
    try:
        return await poller.poll(feeds)
    finally:
        await poller.aclose()


def cmd_db_upgrade(args: argparse.Namespace, services: Services) -> int:
    """Apply migrations (opening the store does) and say where."""
    url = sa.make_url(services.settings.database_url).render_as_string(hide_password=True)
    services.engine  # noqa: B018 - opening the store applies the migrations
    print(f"Database {url} is up to date.")
    return 0


def _print_parts(label: str, parts: list[str]) -> None:
    for number, part in enumerate(parts, start=1):
        print(f"──── {label} · message {number}/{len(parts)} · {len(part)} characters ────")
        print(part)
    print()
