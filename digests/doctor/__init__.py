"""`briefbot doctor`: whether the bot can start with this configuration, each check with what to do.

The checks, in the order they are shown:

    settings / NAME     every variable parses; each bad one is named and left at its default
    DISCORD_TOKEN       set and shaped like a bot token (never shown, not even in part)
    Discord URLs        DISCORD_API_BASE / DISCORD_GATEWAY_URL have usable schemes
    database            reachable within seconds, schema at the latest migration (read-only)
    schedules           every stored briefing's and digest's timezone, time and days can be scheduled
    DEFAULT_TIMEZONE    a zone of this machine's timezone database
    topics              TOPICS_FILE loads, and which tagger tags stories
    templates           every template compiles (TEMPLATES_DIR first) and every message renders
    FEEDS_FILE          readable, one feed URL a line
    HTTP host:port      free to listen on (only when HTTP_PORT turns the side door on)

`briefbot run` runs the same checks once its settings and services are built, and refuses to start
on any failure. Nothing here imports discord: the checks are the domain's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from digests.doctor.database_check import check_database
from digests.doctor.local_checks import (
    check_discord_urls,
    check_feeds_file,
    check_http_port,
    check_tagger,
    check_topics,
)
from digests.doctor.report import Check, Report, Status, failure, ok
from digests.doctor.settings_check import check_settings, setting_names
from digests.doctor.template_check import check_templates
from digests.doctor.token_check import check_token
from digests.rendering import Renderer
from digests.settings import Settings
from digests.timeutil import timezone_names
from digests.topics import Taxonomy, load_taxonomy

__all__ = ["Check", "Report", "Status", "check_setup", "diagnose", "setting_names"]


def diagnose(values: Mapping[str, str], *, now: datetime) -> Report:
    """Every check, starting from the raw variables (as `Settings.load` reads them from .env and the environment)."""
    settings, checks = check_settings(values)
    unusable = {check.name for check in checks if check.status is Status.FAILURE}
    taxonomy, topics = check_topics(settings.topics_file, settings.topic_tagger)
    checks += check_setup(settings, taxonomy or load_taxonomy(tagger="keywords"), now=now,
                          check_database_url="DATABASE_URL" not in unusable, topics=topics)
    # A bad variable was checked at its default; a ✓ under its name would contradict its ✗.
    return Report(tuple(check for check in checks if check.status is not Status.OK or check.name not in unusable))


def check_setup(settings: Settings, taxonomy: Taxonomy, *, now: datetime, check_database_url: bool = True,
                topics: list[Check] | None = None, renderer: Renderer | None = None) -> list[Check]:
    """The checks of valid settings and a loaded taxonomy (what `briefbot run` has when it starts).

    `topics` replaces the check of the taxonomy when the caller loaded it (or failed to); `renderer`
    is the bot's own, whose templates are then compiled once for the check and the bot.
    """
    checks = [check_token(settings.discord_token, custom_api=bool(settings.discord_api_base)),
              check_discord_urls(settings.discord_api_base, settings.discord_gateway_url)]
    if check_database_url:
        checks += check_database(settings.database_url)
    checks.append(_check_default_timezone(settings.default_timezone))
    where = str(settings.topics_file) if settings.topics_file else "the built-in taxonomy"
    checks += topics if topics is not None else [check_tagger(taxonomy, where, settings.topic_tagger)]
    checks += check_templates(settings.templates_dir, taxonomy, now, renderer)
    checks.append(check_feeds_file(settings.feeds_file))
    port = check_http_port(settings.http_host, settings.http_port)
    if port is not None:
        checks.append(port)
    return checks


def _check_default_timezone(name: str) -> Check:
    """Settings already refused an unknown zone; this says which database knows it, or that there is none."""
    known = len(timezone_names())
    if not known:
        return failure("DEFAULT_TIMEZONE", "this machine has no timezone database",
                       "install the tzdata package (pip install tzdata)")
    return ok("DEFAULT_TIMEZONE", f"{name}, one of the {known} zones this machine knows")
