"""What a backfill tells people: the receipt as a person would say it, and progress that never promises
what it cannot keep. Times are fixed (`now` is passed in), never read from the wall clock."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from channels_app.models import Backfill, BackfillStatus, Channel
from channels_app.selectors.backfill import backfill_progress, receipt_text

NOW = datetime(2026, 11, 30, 15, 45, tzinfo=UTC)


@pytest.fixture
def done(tenancy):
    return Backfill.objects.create(
        channel=tenancy.shared_channel,
        status=BackfillStatus.DONE,
        reconnected_at=NOW - timedelta(minutes=5),
        incident_started_at=NOW - timedelta(days=400),
        finished_at=NOW,
    )


def _imported(make_message, channel, *arrivals, imported_at=NOW - timedelta(minutes=1)):
    for arrived in arrivals:
        make_message(channel=channel, internal_date=arrived, imported_at=imported_at)


def test_a_single_arrival_time_is_said_once(done, make_message, settings):
    settings.TIME_ZONE = "UTC"
    _imported(make_message, done.channel, NOW - timedelta(minutes=6), NOW - timedelta(minutes=6))
    assert (
        receipt_text(done, now=NOW) == "Reconnected automatically at 15:40; imported 2 messages that arrived at 15:39."
    )


def test_dates_carry_the_year_only_when_it_is_not_this_year(done, make_message, settings):
    settings.TIME_ZONE = "UTC"
    _imported(make_message, done.channel, datetime(2025, 12, 31, 23, 0, tzinfo=UTC), NOW - timedelta(days=2))
    assert receipt_text(done, now=NOW).endswith("arrived between Dec 31, 2025, 23:00 and Nov 28, 15:45.")


def test_it_counts_what_was_imported_from_the_incident_to_the_end_of_the_backfill(done, make_message, tenancy):
    _imported(make_message, done.channel, NOW - timedelta(hours=1))  # imported by the sync that recovered it
    _imported(make_message, done.channel, NOW, imported_at=NOW + timedelta(minutes=3))  # after: not this receipt
    _imported(make_message, done.channel, NOW, imported_at=NOW - timedelta(days=500))  # before the incident
    assert "imported 1 message that arrived at" in receipt_text(done, now=NOW)


def test_nothing_missed_says_so(done):
    assert receipt_text(done, now=NOW).endswith("; no messages were missed.")


def _running(channel: Channel, **fields) -> Backfill:
    defaults = {
        "status": BackfillStatus.RUNNING,
        "total": 400,
        "imported": 100,
        "started_at": NOW - timedelta(seconds=10),
        "progressed_at": NOW,
    }
    return Backfill.objects.create(channel=channel, **{**defaults, **fields})


def test_a_moving_import_shows_the_time_left_at_its_own_rate(tenancy):
    progress = backfill_progress(_running(tenancy.shared_channel), now=NOW + timedelta(seconds=2))
    assert (progress.state, progress.seconds_left, progress.percent) == ("running", 31, 25)


def test_a_stalled_import_is_waiting_and_promises_no_time(tenancy):
    backfill = _running(tenancy.shared_channel, error="The mail server did not answer in time.")
    assert backfill_progress(backfill, now=NOW).state == "waiting"
    stalled = backfill_progress(_running(tenancy.member_channel), now=NOW + timedelta(minutes=2))
    assert (stalled.state, stalled.seconds_left) == ("waiting", None)


def test_a_paused_import_says_when_it_resumes(tenancy):
    tomorrow = datetime(2026, 12, 1, tzinfo=UTC)
    progress = backfill_progress(_running(tenancy.shared_channel, paused_until=tomorrow), now=NOW)
    assert (progress.state, progress.resumes_at, progress.seconds_left) == ("paused", tomorrow, None)


def test_the_daily_download_limit_stretches_a_large_import_over_days_instead_of_a_countdown(tenancy, settings):
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "gmail": {**settings.MAIL_PROVIDERS["gmail"], "DAILY_DOWNLOAD_BYTES": 1000},
    }
    backfill = _running(tenancy.shared_channel, total_bytes=3500, imported_bytes=0)
    progress = backfill_progress(backfill, now=NOW + timedelta(seconds=1))
    assert (progress.state, progress.days_left, progress.seconds_left) == ("running", 3, None)


def test_each_person_told_reads_the_receipt_in_their_own_zone_named(tenancy, make_message, settings):
    from django.utils import timezone

    from channels_app.models import Notification, NotificationKind, User
    from channels_app.services.backfill import backfill_finish

    settings.TIME_ZONE = "UTC"
    User.objects.filter(pk=tenancy.admin.pk).update(time_zone="Asia/Tokyo")
    now = timezone.now()
    backfill = Backfill.objects.create(
        channel=tenancy.shared_channel,
        status=BackfillStatus.RUNNING,
        reconnected_at=now,
        incident_started_at=now - timedelta(hours=1),
        notify_user_ids=[tenancy.admin.pk, tenancy.member.pk],
    )
    backfill_finish(backfill)
    said = {n.recipient_id: n.message for n in Notification.objects.filter(kind=NotificationKind.RECONNECTED)}
    in_tokyo = timezone.localtime(now, ZoneInfo("Asia/Tokyo"))
    assert said[tenancy.admin.pk].startswith(f"Reconnected automatically at {in_tokyo:%H:%M}")
    assert said[tenancy.admin.pk].endswith("no messages were missed (times in Asia/Tokyo).")
    assert said[tenancy.member.pk].startswith(f"Reconnected automatically at {now:%H:%M}")
    assert said[tenancy.member.pk].endswith("(times in UTC).")
