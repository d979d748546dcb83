"""The benchmarks' arithmetic (bench/_figures.py): percentiles and a channel's provider requests per day."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from _figures import DAY, Cost, Recurring, per_day, percentile, token_refreshes_per_day


def test_percentile_interpolates_between_the_nearest_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0, 5.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 3.0
    assert percentile(values, 100) == 5.0
    assert percentile(values, 95) == pytest.approx(4.8)
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)


def test_percentile_of_one_value_is_that_value_and_of_none_an_error() -> None:
    assert percentile([7.5], 95) == 7.5
    with pytest.raises(ValueError):
        percentile([], 50)


def test_a_token_is_refreshed_at_the_first_use_within_the_margin() -> None:
    # An hour's token, refreshed 300 s before it expires: used every minute, refreshed every 3,300 s.
    assert token_refreshes_per_day(token_seconds=3600, margin_seconds=300, used_every=60) == pytest.approx(DAY / 3300)
    # Used every 25 minutes: the uses at 1,500 and 3,000 s find it good, the one at 4,500 s refreshes.
    assert token_refreshes_per_day(token_seconds=3600, margin_seconds=300, used_every=1500) == pytest.approx(19.2)
    # Used less often than it lives: refreshed at every use.
    assert token_refreshes_per_day(token_seconds=3600, margin_seconds=300, used_every=7200) == pytest.approx(12)


def test_per_day_adds_the_messages_and_each_schedule() -> None:
    recurring = [
        Recurring("probe pass", 96, Cost(logins=1)),
        Recurring("access token refresh", 24, Cost(tokens=1), measured=False),
    ]
    day = per_day(Cost(logins=2, tokens=0.5), 100, recurring)
    assert day == Cost(logins=200 + 96, tokens=50 + 24)
    assert per_day(Cost(), 0, []) == Cost()
