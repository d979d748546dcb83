"""Each person's time zone: which zones they may choose, and the middleware that shows every time in theirs.

A person's zone comes from their browser at first sign-in (static/js/time_zone.js, posted once to
views.time_zone.detect) and can be changed in personal settings. Until then, and for anyone signed out,
times show in the site's TIME_ZONE (UTC unless set).
"""

from collections.abc import Callable
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from channels_app.models import User

# The IANA areas of the zones people live in; leaves out the legacy names ("US/Eastern", "EST5EDT", "Etc/GMT+3")
# that tzdata keeps for old software and that would only crowd the list.
AREAS = frozenset(
    ["Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"]
)


@cache
def zone_names() -> tuple[str, ...]:
    """The zones offered in personal settings, "UTC" first. Browsers name zones the same way
    (Intl.DateTimeFormat().resolvedOptions().timeZone), old links included ("Asia/Calcutta")."""
    return ("UTC", *sorted(name for name in available_timezones() if name.split("/")[0] in AREAS))


def zone_of(name: str) -> ZoneInfo | None:
    """The zone called `name` if we offer it and this machine's tz database has it, else None."""
    if name not in zone_names():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_for(user: User) -> ZoneInfo | None:
    """The person's zone; None (the site's default) when they have none or it left the tz database."""
    return zone_of(user.time_zone) if user.time_zone else None


class TimeZoneMiddleware:
    """Activates the signed-in person's zone for the request, so every time on a page reads in it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        zone = zone_for(user) if isinstance(user, User) and user.is_authenticated else None
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            # The thread serves other people next.
            timezone.deactivate()
