"""The benchmarks' arithmetic, without Django: percentiles, and a channel's provider requests per day.

Kept apart from the scripts (which set Django up on import) so that tests/test_bench_figures.py can check it.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

DAY = 86400


def percentile(values: Iterable[float], p: float) -> float:
    """The p-th percentile (0-100), interpolated between the two nearest ranks (as numpy's default and
    `statistics.quantiles(method="inclusive")`)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = p / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Cost:
    """What something costs one channel at the provider: IMAP logins (each a new connection) and
    token-endpoint requests."""

    logins: float = 0.0
    tokens: float = 0.0

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(self.logins + other.logins, self.tokens + other.tokens)

    def __mul__(self, times: float) -> "Cost":
        return Cost(self.logins * times, self.tokens * times)


@dataclass(frozen=True)
class Recurring:
    """Something a channel pays for on a schedule: `per_day` times a day (computed from settings), at
    `cost` each time (measured, or computed when `measured` is False)."""

    what: str
    per_day: float
    cost: Cost
    measured: bool = True


def token_refreshes_per_day(*, token_seconds: int, margin_seconds: int, used_every: float) -> float:
    """Access-token refreshes a day for a channel that uses its token every `used_every` seconds (a login).

    The token is refreshed at the first use that finds it within `margin_seconds` of expiring (or expired):
    the refresh happens at a use, so the uses after it fall every `used_every` seconds from the new token's
    issue, and the first of them at or after `token_seconds - margin_seconds` refreshes again.
    """
    uses = max(1, math.ceil((token_seconds - margin_seconds) / used_every))
    return DAY / (uses * used_every)


def per_day(per_message: Cost, mail_per_day: int, recurring: Iterable[Recurring]) -> Cost:
    """A channel's logins and token requests in a day receiving `mail_per_day` messages."""
    total = per_message * mail_per_day
    for item in recurring:
        total = total + item.cost * item.per_day
    return total
