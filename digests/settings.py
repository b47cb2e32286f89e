"""Settings from `.env` and the environment (the real environment wins), built once at start-up.

Nothing reads the environment at import time: `Settings.load()` is called by the CLI and the
result is passed down, so tests build their own `Settings` without touching `os.environ`.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from digests.archive_urls import base_url
from digests.errors import ConfigError
from digests.logs import LOG_FORMATS
from digests.timeutil import parse_timezone
from digests.topics import TAGGERS

DEFAULT_DATABASE_URL = "sqlite:///briefbot.db"
DEFAULT_HTTP_HOST = "127.0.0.1"
# How late the oldest due slot may be before /healthz says unhealthy. A fan-out of 10,000 targets
# at Discord's 50 requests/s takes about 7 minutes (two requests for a first DM), 14 for a process
# with half the rate; 30 minutes leaves room for that and Discord's retry-afters, and still catches
# a briefing that is stuck well before anyone asks where this morning's went.
DEFAULT_HEALTH_MAX_SLOT_LAG_MINUTES = 30
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK_NETWORKS: tuple[IPNetwork, ...] = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


class Secret(str):
    """A string that never shows itself in `repr`, logs or tracebacks' locals."""

    def __repr__(self) -> str:
        return "Secret('********')"


@dataclass(frozen=True)
class Settings:
    """Every setting (docs/settings.md lists them), validated."""

    discord_token: Secret | None = None
    database_url: str = DEFAULT_DATABASE_URL
    default_timezone: str = "UTC"
    topics_file: Path | None = None
    topic_tagger: str = "auto"
    templates_dir: Path | None = None
    feeds_file: Path | None = None
    discord_guild_id: int | None = None
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    catchup_grace_minutes: int = 120
    discord_requests_per_second: int = 50
    delivery_lease_seconds: int = 120
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    allow_private_feeds: bool = False
    feed_fetch_deadline_seconds: int = 60
    log_level: str = "INFO"
    guild_daily_story_quota: int = 2_000  # digests.store.GUILD_DAILY_STORY_QUOTA
    members_intent: bool = False
    archive_base_url: str | None = None  # digests.archive.base_url
    http_port: int | None = None
    http_host: str = DEFAULT_HTTP_HOST
    metrics_allowed_networks: tuple[IPNetwork, ...] = LOOPBACK_NETWORKS
    health_max_slot_lag_minutes: int = DEFAULT_HEALTH_MAX_SLOT_LAG_MINUTES
    log_format: str = "text"

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
        """Merge `env_file` (if it exists) with `environ` (default: os.environ, which wins)."""
        return cls.from_mapping(raw_values(environ, env_file))

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> Settings:
        """Build settings from a plain mapping of variable names to strings."""

        def get(name: str) -> str | None:
            value = values.get(name, "").strip()
            return value or None

        token = get("DISCORD_TOKEN")
        default_tz = get("DEFAULT_TIMEZONE") or "UTC"
        parse_timezone(default_tz)  # raises InputError naming the bad zone
        log_level = (get("LOG_LEVEL") or "INFO").upper()
        if log_level not in logging.getLevelNamesMapping():
            raise ConfigError(f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR; got {log_level!r}")
        grace = _int("CATCHUP_GRACE_MINUTES", get("CATCHUP_GRACE_MINUTES"), minimum=0)
        rate = _int("DISCORD_REQUESTS_PER_SECOND", get("DISCORD_REQUESTS_PER_SECOND"), minimum=1)
        if rate is not None and rate > 50:
            raise ConfigError(f"DISCORD_REQUESTS_PER_SECOND is at most 50 (Discord's global limit); got {rate}")
        lease = _int("DELIVERY_LEASE_SECONDS", get("DELIVERY_LEASE_SECONDS"), minimum=5)
        fetch_deadline = _int("FEED_FETCH_DEADLINE_SECONDS", get("FEED_FETCH_DEADLINE_SECONDS"), minimum=1)
        shard_count = _int("SHARD_COUNT", get("SHARD_COUNT"), minimum=1)
        shard_ids = _shard_ids(get("SHARD_IDS"), shard_count)
        quota = _int("GUILD_DAILY_STORY_QUOTA", get("GUILD_DAILY_STORY_QUOTA"), minimum=0)
        http_port = _int("HTTP_PORT", get("HTTP_PORT"), minimum=1)
        if http_port is not None and http_port > 65535:
            raise ConfigError(f"HTTP_PORT must be a TCP port from 1 to 65535; got {http_port}")
        slot_lag = _int("HEALTH_MAX_SLOT_LAG_MINUTES", get("HEALTH_MAX_SLOT_LAG_MINUTES"), minimum=1)
        return cls(
            discord_token=Secret(token) if token else None,
            database_url=get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            default_timezone=default_tz,
            topics_file=_path(get("TOPICS_FILE")),
            topic_tagger=_choice("TOPIC_TAGGER", get("TOPIC_TAGGER"), TAGGERS) or "auto",
            templates_dir=_path(get("TEMPLATES_DIR")),
            feeds_file=_path(get("FEEDS_FILE")),
            discord_guild_id=_int("DISCORD_GUILD_ID", get("DISCORD_GUILD_ID"), minimum=1),
            discord_api_base=get("DISCORD_API_BASE"),
            discord_gateway_url=get("DISCORD_GATEWAY_URL"),
            catchup_grace_minutes=120 if grace is None else grace,
            discord_requests_per_second=rate or 50,
            delivery_lease_seconds=lease or 120,
            shard_count=shard_count,
            shard_ids=shard_ids,
            allow_private_feeds=_bool("ALLOW_PRIVATE_FEEDS", get("ALLOW_PRIVATE_FEEDS")),
            feed_fetch_deadline_seconds=fetch_deadline or 60,
            log_level=log_level,
            guild_daily_story_quota=2_000 if quota is None else quota,
            members_intent=_bool("DISCORD_MEMBERS_INTENT", get("DISCORD_MEMBERS_INTENT")),
            archive_base_url=_archive_base_url(get("ARCHIVE_BASE_URL")),
            http_port=http_port,
            http_host=get("HTTP_HOST") or DEFAULT_HTTP_HOST,
            metrics_allowed_networks=_networks("METRICS_ALLOWED_NETWORKS", get("METRICS_ALLOWED_NETWORKS")),
            health_max_slot_lag_minutes=slot_lag or DEFAULT_HEALTH_MAX_SLOT_LAG_MINUTES,
            log_format=_choice("LOG_FORMAT", get("LOG_FORMAT"), LOG_FORMATS) or "text",
        )


def raw_values(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> dict[str, str]:
    """The variables `Settings.load` reads, unvalidated: `env_file` (if it exists) merged with `environ`."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    return values


def _choice(name: str, value: str | None, choices: tuple[str, ...]) -> str | None:
    if value is not None and value.lower() not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value.lower() if value else None


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def _int(name: str, value: str | None, *, minimum: int) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number; got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}; got {number}")
    return number


def _shard_ids(value: str | None, shard_count: int | None) -> tuple[int, ...] | None:
    """SHARD_IDS: the gateway shards this process runs, e.g. `0,1`; each below SHARD_COUNT, which it needs."""
    if value is None:
        return None
    if shard_count is None:
        raise ConfigError("SHARD_IDS needs SHARD_COUNT (how many shards all processes run together)")
    try:
        ids = sorted({int(part) for part in value.split(",")})
    except ValueError:
        raise ConfigError(f"SHARD_IDS must be shard numbers separated by commas, e.g. 0,1; got {value!r}") from None
    outside = [number for number in ids if not 0 <= number < shard_count]
    if outside:
        raise ConfigError(f"SHARD_IDS must be from 0 to SHARD_COUNT - 1 ({shard_count - 1}); got {outside[0]}")
    return tuple(ids)


def _archive_base_url(value: str | None) -> str | None:
    """ARCHIVE_BASE_URL: where the public reaches the archive, e.g. https://news.example.org or …/briefbot."""
    if value is None:
        return None
    try:
        return base_url(value)
    except ValueError as error:
        raise ConfigError(f"ARCHIVE_BASE_URL {error}") from None


def _networks(name: str, value: str | None) -> tuple[IPNetwork, ...]:
    """Comma-separated networks in CIDR notation (`10.0.0.0/8,fd00::/8`), loopback when unset.

    A bare address is a network of one; host bits are ignored (`10.1.2.3/8` is `10.0.0.0/8`).
    """
    if value is None:
        return LOOPBACK_NETWORKS
    networks = []
    for entry in filter(None, (part.strip() for part in value.split(","))):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ConfigError(f"{name} must be networks in CIDR notation separated by commas, e.g. "
                              f"127.0.0.0/8,10.0.0.0/8; {entry!r} is not one") from None
    if not networks:
        raise ConfigError(f"{name} lists no network; leave it unset for loopback only")
    return tuple(networks)


def _bool(name: str, value: str | None) -> bool:
    if value is None:
        return False
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false; got {value!r}")
