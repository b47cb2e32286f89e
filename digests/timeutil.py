"""Parsing and formatting of times, timezones and ages; the domain never reads the clock itself."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from time import struct_time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from digests.errors import InputError

_TIME_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def parse_time_of_day(value: str) -> time:
    """Parse a 24-hour `H:MM` or `HH:MM` time, or raise InputError."""
    match = _TIME_RE.match(value or "")
    if not match:
        raise InputError(f"“{value[:20]}” is not a time: use 24-hour HH:MM, e.g. 08:00 or 17:30.")
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise InputError(f"“{value.strip()}” is not a time of day: hours go 0–23 and minutes 0–59.")
    return time(hour, minute)


@lru_cache(maxsize=512)
def parse_timezone(name: str) -> ZoneInfo:
    """Return the IANA zone `name` (case-insensitive), or raise InputError."""
    cleaned = (name or "").strip()
    canonical = _zone_names_by_lower().get(cleaned.lower())
    if canonical is None:
        raise InputError(f"“{cleaned[:64]}” is not a known IANA timezone, e.g. Europe/Brussels or America/New_York.")
    try:
        return ZoneInfo(canonical)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"“{cleaned[:64]}” is not a known IANA timezone.") from None


@lru_cache(maxsize=1)
def _zone_names_by_lower() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def timezone_names() -> list[str]:
    """All IANA zone names, sorted."""
    return sorted(_zone_names_by_lower().values())


def as_utc(moment: datetime) -> datetime:
    """Make `moment` timezone-aware UTC; naive values are taken to be UTC already (as SQLite returns them)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def as_utc_or_none(moment: datetime) -> datetime | None:
    """`as_utc(moment)`, or None when UTC is outside the years datetime can hold (year 1 at +14:00, 9999 at -14:00)."""
    try:
        return as_utc(moment)
    except OverflowError:
        return None


def utc_from_struct_time(parsed: struct_time | None) -> datetime | None:
    """A UTC `struct_time` (as feedparser gives dates) as a datetime, or None when it is out of range."""
    if parsed is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, OSError):  # e.g. 9999-12-31T23:59:59-23:59 is in the year 10000
        return None


def parse_iso_datetime(value: str) -> datetime | None:
    """Parse an ISO 8601 timestamp (a trailing Z allowed) into UTC, or raise InputError.

    A well-formed timestamp whose UTC time datetime cannot hold gives None (no date): one such
    date in a feed must not cost the feed its other items.
    """
    text = (value or "").strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"“{value[:40]}” is not an ISO 8601 date-time.") from None
    return as_utc_or_none(moment)


def humanize_age(moment: datetime, now: datetime) -> str:
    """Say how long ago `moment` was, compactly: “just now”, “5 min ago”, “3 h ago”, “2 d ago”."""
    delta = now - as_utc(moment)
    if delta < timedelta(minutes=1):
        return "just now"
    if delta < timedelta(hours=1):
        return f"{int(delta.total_seconds() // 60)} min ago"
    if delta < timedelta(days=2):
        return f"{int(delta.total_seconds() // 3600)} h ago"
    return f"{delta.days} d ago"
