"""Times as a person says them: a fixed `now`, zones east and west of UTC, never the wall clock."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from channels_app.times import ago_text, date_text, full_text, moment_text, span_text, zone_name

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")  # UTC+9
LOS_ANGELES = ZoneInfo("America/Los_Angeles")  # UTC-7 in June, UTC-8 in winter


@pytest.fixture(autouse=True)
def utc():
    with timezone.override(UTC):
        yield


def test_a_time_this_year_has_no_year_and_another_year_has_it():
    assert moment_text(datetime(2026, 3, 5, 14, 2, tzinfo=UTC), NOW) == "Mar 5, 14:02"
    assert moment_text(datetime(2025, 3, 5, 14, 2, tzinfo=UTC), NOW) == "Mar 5, 2025, 14:02"
    assert date_text(datetime(2025, 12, 31, 9, 0, tzinfo=UTC), NOW) == "Dec 31, 2025"
    assert date_text(datetime(2026, 1, 1, 9, 0, tzinfo=UTC), NOW) == "Jan 1"


def test_today_reads_as_the_time_alone_in_sentences_and_with_seconds_when_asked():
    assert moment_text(NOW - timedelta(minutes=5), NOW, today_bare=True) == "11:55"
    assert moment_text(NOW - timedelta(days=1), NOW, today_bare=True) == "Jun 14, 12:00"
    assert moment_text(NOW - timedelta(seconds=5), NOW, today_bare=True, seconds=True) == "11:59:55"


def test_east_of_utc_the_same_moment_is_already_the_next_day_and_year():
    new_year_in_tokyo = datetime(2025, 12, 31, 16, 30, tzinfo=UTC)
    with timezone.override(TOKYO):
        assert moment_text(new_year_in_tokyo, NOW) == "Jan 1, 01:30"
        assert zone_name() == "Asia/Tokyo"
        assert full_text(new_year_in_tokyo) == "2026-01-01 01:30 Asia/Tokyo (JST)"
    assert moment_text(new_year_in_tokyo, NOW) == "Dec 31, 2025, 16:30"


def test_west_of_utc_the_same_moment_is_still_the_day_and_year_before():
    just_after_new_year = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    with timezone.override(LOS_ANGELES):
        assert moment_text(just_after_new_year, NOW) == "Dec 31, 2025, 19:00"
        assert full_text(just_after_new_year) == "2025-12-31 19:00 America/Los_Angeles (PST)"
    assert moment_text(just_after_new_year, NOW) == "Jan 1, 03:00"


def test_today_is_today_in_the_persons_zone():
    late_evening_in_los_angeles = datetime(2026, 6, 16, 5, 0, tzinfo=UTC)  # Jun 15, 22:00 there
    late_now = datetime(2026, 6, 16, 6, 0, tzinfo=UTC)
    with timezone.override(LOS_ANGELES):
        assert moment_text(late_evening_in_los_angeles, late_now, today_bare=True) == "22:00"
    with timezone.override(TOKYO):
        assert moment_text(late_evening_in_los_angeles, late_now, today_bare=True) == "14:00"


def test_equal_times_are_said_once_never_between_a_time_and_itself():
    first = NOW - timedelta(minutes=21, seconds=50)  # 11:38:10
    assert span_text(first, first + timedelta(seconds=30), NOW) == "at 11:38"
    assert span_text(first, NOW, NOW) == "between 11:38 and 12:00"
    assert span_text(datetime(2025, 12, 31, 23, 0, tzinfo=UTC), NOW, NOW) == "between Dec 31, 2025, 23:00 and 12:00"


@pytest.mark.parametrize(
    ("before", "said"),
    [
        (timedelta(0), "just now"),
        (timedelta(seconds=59), "just now"),
        (timedelta(seconds=-30), "just now"),
        (timedelta(minutes=1), "1\xa0minute ago"),
        (timedelta(minutes=5, seconds=20), "5\xa0minutes ago"),
        (timedelta(days=2, hours=3), "2\xa0days, 3\xa0hours ago"),
        (timedelta(minutes=-10), "in 10\xa0minutes"),
    ],
)
def test_how_long_ago_never_says_zero_minutes(before, said):
    assert ago_text(NOW - before, NOW) == said
