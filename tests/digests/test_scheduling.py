"""Slots in each target's timezone, across days and DST changes, with an injected clock."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from digests.errors import InputError
from digests.scheduling import describe_days, next_slot, parse_days


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
