"""The benchmarks' arithmetic (bench/_figures.py): percentiles and a channel's provider requests per day."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from _figures import DAY, Cost, Recurring, per_day, percentile, safety_polls_per_day  # noqa: E402


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


def test_each_message_restarts_the_safety_net_wait() -> None:
    # 600 s after the last sync, polled at the next pass (every 60 s): every 630 s on average.
    quiet = safety_polls_per_day(0, push_poll_seconds=600, pass_seconds=60)
    assert quiet == pytest.approx(DAY / 630)
    # 20 a day: 4,320 s between messages, six safety polls in each gap.
    assert safety_polls_per_day(20, push_poll_seconds=600, pass_seconds=60) == 120
    # 100 a day: 864 s apart, one poll in each gap; 200 a day: 432 s apart, none.
    assert safety_polls_per_day(100, push_poll_seconds=600, pass_seconds=60) == 100
    assert safety_polls_per_day(200, push_poll_seconds=600, pass_seconds=60) == 0


def test_per_day_adds_the_messages_and_each_schedule() -> None:
    recurring = [
        Recurring("probe pass", 96, Cost(logins=1)),
        Recurring("access token refresh", 24, Cost(tokens=1), measured=False),
    ]
    day = per_day(Cost(logins=2, tokens=0.5), 100, recurring)
    assert day == Cost(logins=200 + 96, tokens=50 + 24)
    assert per_day(Cost(), 0, []) == Cost()
