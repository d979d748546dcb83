"""The zones offered and the middleware that shows every time in the person's zone."""

from zoneinfo import ZoneInfo

from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from channels_app.time_zones import TimeZoneMiddleware, zone_for, zone_names, zone_of


def test_the_zones_offered_are_the_iana_zones_people_live_in_utc_first():
    names = zone_names()
    assert names[0] == "UTC"
    assert {"Europe/Paris", "Asia/Tokyo", "America/Los_Angeles", "Asia/Calcutta", "Asia/Kolkata"} <= set(names)
    assert not {"US/Eastern", "EST5EDT", "Etc/GMT+3", "posixrules"} & set(names)


def test_a_zone_is_taken_only_by_its_exact_name():
    assert zone_of("Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
    assert zone_of("asia/tokyo") is None
    assert zone_of("US/Eastern") is None
    assert zone_of("../../etc/passwd") is None
    assert zone_of("") is None


def _seen_zone(user) -> str:
    """The zone active while the view ran, for a request by `user`."""
    seen = []

    def view(request):
        seen.append(str(timezone.get_current_timezone()))
        return HttpResponse()

    request = RequestFactory().get("/")
    request.user = user
    TimeZoneMiddleware(view)(request)
    return seen[0]


def test_the_persons_zone_is_active_while_their_request_runs_and_not_after(make_user, settings):
    settings.TIME_ZONE = "UTC"
    user = make_user(time_zone="Asia/Tokyo")
    assert _seen_zone(user) == "Asia/Tokyo"
    assert str(timezone.get_current_timezone()) == "UTC"


def test_without_a_zone_or_signed_out_times_show_in_the_sites_default(make_user, settings):
    settings.TIME_ZONE = "UTC"
    assert _seen_zone(make_user()) == "UTC"
    assert _seen_zone(AnonymousUser()) == "UTC"


def test_a_zone_that_left_the_tz_database_falls_back_to_the_default_instead_of_failing(make_user, settings):
    settings.TIME_ZONE = "UTC"
    gone = make_user(time_zone="Mars/Olympus_Mons")
    assert zone_for(gone) is None
    assert _seen_zone(gone) == "UTC"
