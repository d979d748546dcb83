"""Times as a person says them, in their own time zone.

Every page shows times through these (the template filters in templatetags/time_tags.py, the receipt in
selectors/backfill.py), in the zone the middleware activated for the person (time_zones.py): the year only when
it is not this year, one time where a span starts and ends in the same minute, "just now" rather than
"0 minutes ago". `now` is passed in by tests; pages read the clock.
"""

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

# Below this, "ago" says "just now": timesince's smallest unit is the minute.
JUST_NOW = timedelta(minutes=1)


def _local(value: datetime, now: datetime | None) -> tuple[datetime, datetime]:
    return timezone.localtime(value), timezone.localtime(now or timezone.now())


def zone_name() -> str:
    """The active zone's IANA name ("Europe/Paris"), as people choose it in their settings."""
    return str(timezone.get_current_timezone())


def zone_label(name: str) -> str:
    """An IANA zone name as people read it: "America/New York"."""
    return name.replace("_", " ")


def moment_text(
    value: datetime, now: datetime | None = None, *, today_bare: bool = False, seconds: bool = False
) -> str:
    """ "Mar 5, 14:02" this year, "Mar 5, 2025, 14:02" another year; `today_bare`: "14:02" alone when it
    is today (in sentences: "reconnected at 14:02")."""
    local, today = _local(value, now)
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    if today_bare and local.date() == today.date():
        return clock
    return f"{date_text(value, now)}, {clock}"


def date_text(value: datetime, now: datetime | None = None) -> str:
    """ "Mar 5" this year, "Mar 5, 2025" another year."""
    local, today = _local(value, now)
    day = f"{local:%b} {local.day}"
    return day if local.year == today.year else f"{day}, {local.year}"


def full_text(value: datetime) -> str:
    """Unambiguous, for a tooltip: "2026-03-05 14:02 Europe/Paris (CET)"."""
    local = timezone.localtime(value)
    return f"{local:%Y-%m-%d %H:%M} {zone_name()} ({local.tzname()})"


def ago_text(value: datetime, now: datetime | None = None) -> str:
    """ "just now", "5 minutes ago", "2 days, 3 hours ago"; a time ahead: "in 5 minutes"."""
    now = now or timezone.now()
    if abs(now - value) < JUST_NOW:
        return "just now"
    if value > now:
        return f"in {timeuntil(value, now)}"
    return f"{timesince(value, now)} ago"


def span_text(first: datetime, last: datetime, now: datetime | None = None) -> str:
    """ "between 09:12 and 14:03", or "at 15:39" when both ends read the same (never "between 15:39 and 15:39")."""
    start, end = moment_text(first, now, today_bare=True), moment_text(last, now, today_bare=True)
    return f"at {start}" if start == end else f"between {start} and {end}"
