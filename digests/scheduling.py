"""When targets are due: cron triggers in each target's IANA timezone (APScheduler 3.x, DST-correct).

`days` accepts `daily`, `weekdays`, `weekends` or a list of day names such as `mon,wed,fri`.

A schedule's **period** at a slot is the span back to its previous slot: a day for a daily digest
(23 or 25 h across a DST change), a week for a Monday-only briefing, three days for a weekday
briefing's Monday slot (back to Friday). A digest covers at most its slot's period (see
`digests.selection.Coverage`). Between slots, the period is that of the next slot.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from apscheduler.triggers.cron import CronTrigger

from digests.errors import InputError
from digests.timeutil import parse_time_of_day, parse_timezone

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {
    "monday": "mon", "tuesday": "tue", "tues": "tue", "wednesday": "wed", "thursday": "thu", "thur": "thu",
    "thurs": "thu", "friday": "fri", "saturday": "sat", "sunday": "sun",
}
_ONE_SECOND = timedelta(seconds=1)
_WEEK_AND_A_DAY = timedelta(days=8)
_DAY_PRESETS = {"daily": _DAY_NAMES, "weekdays": _DAY_NAMES[:5], "weekends": _DAY_NAMES[5:]}


def parse_days(value: str | None) -> str:
    """The canonical form of a `days` argument: a preset name, or day names in week order."""
    text = (value or "daily").strip().lower()
    if text in _DAY_PRESETS:
        return text
    names = [part.strip() for part in text.replace(" ", ",").split(",") if part.strip()]
    days = {_DAY_ALIASES.get(name, name) for name in names}
    unknown = sorted(days - set(_DAY_NAMES))
    if not days or unknown:
        raise InputError(
            f"“{(value or '')[:40]}” is not a schedule: use daily, weekdays, weekends or days like mon,wed,fri."
        )
    ordered = tuple(day for day in _DAY_NAMES if day in days)
    return next((preset for preset, preset_days in _DAY_PRESETS.items() if preset_days == ordered), ",".join(ordered))


@lru_cache(maxsize=4096)
def cron_trigger(*, time_of_day: str, timezone: str, days: str = "daily") -> CronTrigger:
    """The trigger of a target's slots: `time_of_day` on `days`, in `timezone` (shared: triggers are immutable)."""
    at = parse_time_of_day(time_of_day)
    weekdays = _DAY_PRESETS.get(days) or tuple(days.split(","))
    return CronTrigger(
        day_of_week=",".join(weekdays), hour=at.hour, minute=at.minute, second=0, timezone=parse_timezone(timezone)
    )


def next_slot(*, time_of_day: str, timezone: str, days: str, after: datetime) -> datetime:
    """The first slot strictly after `after` (aware), in the target's timezone."""
    trigger = cron_trigger(time_of_day=time_of_day, timezone=timezone, days=days)
    fire = trigger.get_next_fire_time(None, after)
    # CronTrigger returns `after` itself when it is exactly on a slot; a slot *after* it is wanted.
    if fire is not None and fire <= after:
        fire = trigger.get_next_fire_time(fire, fire.replace(microsecond=0) + _ONE_SECOND)
    if fire is None:  # a cron with at least one weekday always fires again
        raise InputError("this schedule never fires")
    return fire


def fires_at(*, time_of_day: str, timezone: str, days: str, slot_at: datetime) -> bool:
    """Whether the schedule has a slot at `slot_at`; False for a zone this machine's tz database no longer knows
    (a snapshot of a slot's targets leaves such a target to be read alone)."""
    return _fires_at(time_of_day, timezone, days, slot_at)


@lru_cache(maxsize=4096)
def _fires_at(time_of_day: str, timezone: str, days: str, slot_at: datetime) -> bool:
    """Memoised: each of a slot's thousands of targets asks, and they share a few hundred schedules."""
    try:
        return next_slot(time_of_day=time_of_day, timezone=timezone, days=days, after=slot_at - _ONE_SECOND) == slot_at
    except InputError:
        return False


def previous_slot(*, time_of_day: str, timezone: str, days: str, before: datetime) -> datetime:
    """The last slot strictly before `before` (aware), in the target's timezone."""
    return _previous_slot(time_of_day, timezone, days, before)


@lru_cache(maxsize=4096)
def _previous_slot(time_of_day: str, timezone: str, days: str, before: datetime) -> datetime:
    """Memoised: the thousands of targets of one slot share a few hundred schedules."""
    trigger = cron_trigger(time_of_day=time_of_day, timezone=timezone, days=days)
    # A slot comes at least once a week; 8 days back covers a DST change, too.
    latest, fire = None, trigger.get_next_fire_time(None, before - _WEEK_AND_A_DAY)
    while fire is not None and fire < before:
        latest, fire = fire, trigger.get_next_fire_time(fire, fire.replace(microsecond=0) + _ONE_SECOND)
    if latest is None:  # a cron with at least one weekday fires within any 8 days
        raise InputError("this schedule never fires")
    return latest


def period_at(*, time_of_day: str, timezone: str, days: str, at: datetime) -> timedelta:
    """The schedule's period at `at`: from the slot at or after `at` back to the slot before it."""
    return _period_at(time_of_day, timezone, days, at)


@lru_cache(maxsize=4096)
def _period_at(time_of_day: str, timezone: str, days: str, at: datetime) -> timedelta:
    """Memoised: the thousands of targets of one slot share a few hundred schedules."""
    slot = _slot_at_or_after(time_of_day, timezone, days, at)
    # In UTC: aware datetimes of one zone subtract as wall-clock times, which would hide a DST change.
    return slot.astimezone(UTC) - _previous_slot(time_of_day, timezone, days, slot).astimezone(UTC)


@lru_cache(maxsize=4096)
def _slot_at_or_after(time_of_day: str, timezone: str, days: str, at: datetime) -> datetime:
    fire = cron_trigger(time_of_day=time_of_day, timezone=timezone, days=days).get_next_fire_time(None, at)
    if fire is None:
        raise InputError("this schedule never fires")
    return fire


def describe_days(days: str) -> str:
    """`days` as shown to users."""
    if days in _DAY_PRESETS:
        return {"daily": "every day", "weekdays": "on weekdays", "weekends": "on weekends"}[days]
    return "on " + ", ".join(day.capitalize() for day in days.split(","))

