"""UTCDateTime: what reaches SQLite is the text SQLAlchemy's own DATETIME would write."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from digests.models import UTCDateTime


@pytest.mark.parametrize("moment", [
    datetime(2026, 11, 28, 8, 0, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 59, 59, 999_999, tzinfo=UTC),
    datetime(2026, 11, 28, 9, 30, 0, 5, tzinfo=timezone(timedelta(hours=1))),
    datetime(5, 1, 2, 3, 4, 5, tzinfo=UTC),
])
def test_sqlite_text_is_sqlalchemys_datetime_text_in_utc(moment):
    dialect = sqlite.dialect()
    ours = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    theirs = sqlite.DATETIME().bind_processor(dialect)
    assert ours(moment) == theirs(moment.astimezone(UTC).replace(tzinfo=None))
    assert ours(None) is None


def test_a_naive_datetime_is_refused_on_every_backend():
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
        with pytest.raises(ValueError, match="naive"):
            process(datetime(2026, 11, 28, 8, 0))  # noqa: DTZ001 - the naive value under test
