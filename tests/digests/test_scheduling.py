"""Slots in each target's timezone, across days and DST changes, with an injected clock."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from digests.errors import InputError
from digests.scheduling import describe_days, next_slot, parse_days, period_at, previous_slot
from digests.selection import coverage


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "daily"),
        ("Daily", "daily"),
        ("mon,tue,wed,thu,fri", "weekdays"),
        ("Sunday, saturday", "weekends"),
        ("fri mon wed", "mon,wed,fri"),
        ("thurs", "thu"),
    ],
)
def test_parse_days_canonicalises(value, expected):
    assert parse_days(value) == expected


@pytest.mark.parametrize("value", ["someday", "mon,funday", ",", "every other day"])
def test_parse_days_rejects_unknown_days(value):
    with pytest.raises(InputError, match="is not a schedule"):
        parse_days(value)


def test_describe_days():
    assert describe_days("weekdays") == "on weekdays"
    assert describe_days("mon,wed") == "on Mon, Wed"


def local(moment: datetime, zone: str) -> tuple:
    at = moment.astimezone(ZoneInfo(zone))
    return at.date().isoformat(), at.strftime("%H:%M")


@pytest.mark.parametrize(
    ("zone", "day_before", "transition_day"),
    [
        ("Europe/Brussels", datetime(2026, 3, 28, 12, tzinfo=UTC), "2026-03-29"),  # spring forward
        ("Europe/Brussels", datetime(2026, 10, 24, 12, tzinfo=UTC), "2026-10-25"),  # fall back
        ("America/New_York", datetime(2026, 3, 7, 18, tzinfo=UTC), "2026-03-08"),
        ("America/New_York", datetime(2026, 10, 31, 18, tzinfo=UTC), "2026-11-01"),
    ],
)
def test_dst_changes_neither_skip_nor_double_a_days_slot(zone, day_before, transition_day):
    slots = []
    after = day_before
    for _ in range(3):
        after = next_slot(time_of_day="08:00", timezone=zone, days="daily", after=after)
        slots.append(after)
    assert local(slots[0], zone) == (transition_day, "08:00")
    assert [local(slot, zone)[1] for slot in slots] == ["08:00", "08:00", "08:00"]
    assert len({local(slot, zone)[0] for slot in slots}) == 3


def test_a_slot_exactly_at_after_is_not_returned_again():
    first = next_slot(time_of_day="08:00", timezone="UTC", days="daily", after=datetime(2026, 1, 1, 7, tzinfo=UTC))
    assert next_slot(time_of_day="08:00", timezone="UTC", days="daily", after=first) == datetime(
        2026, 1, 2, 8, tzinfo=UTC
    )


def test_days_restrict_the_slots():
    saturday = datetime(2026, 11, 28, 12, tzinfo=UTC)
    slot = next_slot(time_of_day="09:30", timezone="Asia/Tokyo", days="weekdays", after=saturday)
    assert local(slot, "Asia/Tokyo") == ("2026-11-30", "09:30")  # Monday


# The period: from a slot back to the previous one, measured in real (UTC) time.


def utc(zone: str, *fields: int) -> datetime:
    return datetime(*fields, tzinfo=ZoneInfo(zone)).astimezone(UTC)


@pytest.mark.parametrize(
    ("zone", "days", "slot", "period"),
    [
        ("Europe/Brussels", "daily", (2026, 3, 29, 8), timedelta(hours=23)),  # spring forward
        ("Europe/Brussels", "daily", (2026, 3, 30, 8), timedelta(hours=24)),
        ("Europe/Brussels", "daily", (2026, 10, 25, 8), timedelta(hours=25)),  # fall back
        ("Europe/Brussels", "mon", (2026, 3, 30, 8), timedelta(days=7, hours=-1)),
        ("America/New_York", "mon", (2026, 11, 2, 8), timedelta(days=7, hours=1)),
        ("Europe/Brussels", "weekdays", (2026, 11, 30, 8), timedelta(days=3)),  # Monday: back to Friday
        ("Europe/Brussels", "weekdays", (2026, 12, 1, 8), timedelta(days=1)),
        ("Europe/Brussels", "mon,wed,fri", (2026, 12, 2, 8), timedelta(days=2)),
        ("Europe/Brussels", "weekends", (2026, 12, 5, 8), timedelta(days=6)),  # Saturday: back to last Sunday
        ("Australia/Sydney", "daily", (2026, 10, 4, 8), timedelta(hours=23)),  # the southern spring
    ],
)
def test_a_period_reaches_back_to_the_previous_slot_in_real_time(zone, days, slot, period):
    at = utc(zone, *slot)
    assert period_at(time_of_day="08:00", timezone=zone, days=days, at=at) == period
    assert previous_slot(time_of_day="08:00", timezone=zone, days=days, before=at) == at - period


def test_between_slots_the_period_is_the_next_slots():
    saturday = datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert period_at(time_of_day="08:00", timezone="UTC", days="weekdays", at=saturday) == timedelta(days=3)
    assert period_at(time_of_day="08:00", timezone="UTC", days="mon", at=saturday) == timedelta(days=7)


def test_a_monday_slot_east_of_utc_falls_on_sunday_in_utc_and_still_spans_a_week():
    slot = utc("Asia/Tokyo", 2026, 11, 30, 0, 30)  # Monday 00:30 in Tokyo is Sunday 15:30 UTC
    assert slot.weekday() == 6
    assert period_at(time_of_day="00:30", timezone="Asia/Tokyo", days="mon", at=slot) == timedelta(days=7)
    before = previous_slot(time_of_day="00:30", timezone="Asia/Tokyo", days="mon", before=slot)
    assert before.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%a %H:%M") == "Mon 00:30"


@pytest.mark.parametrize("slot", [(2026, 3, 29, 8), (2026, 10, 25, 8)])
def test_a_dst_day_is_one_period_not_a_cut_and_loses_no_hour(slot):
    at = utc("Europe/Brussels", *slot)
    period = period_at(time_of_day="08:00", timezone="Europe/Brussels", days="daily", at=at)
    previous = at - period
    covered = coverage(since=previous, now=at, period=period)
    assert covered.start == previous and covered.cut_from is None
    assert coverage(since=previous - timedelta(minutes=1), now=at, period=period).cut_from is not None
