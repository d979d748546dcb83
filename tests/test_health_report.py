"""channels_app/health_report.py: uptime on a frozen clock, the rows' columns, sorting, filtering and the CSV."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from channels_app import crypto
from channels_app.health_report import (
    Delivery,
    HealthFilter,
    Sort,
    SortKey,
    csv_rows,
    csv_safe,
    health_rows,
    uptime,
)
from channels_app.models import Channel, ChannelStatus, GmailWatch, GraphSubscription
from channels_app.providers import Credentials

ACTIVE, DOWN, OFF = ChannelStatus.ACTIVE, ChannelStatus.NEEDS_REAUTH, ChannelStatus.DISCONNECTED
# The frozen clock: every time below is counted from it.
NOW = datetime(2026, 5, 31, 12, 0, tzinfo=UTC)
START = NOW - timedelta(days=30)


def _day(n: float) -> datetime:
    return START + timedelta(days=n)


# --- uptime arithmetic ------------------------------------------------------------------------------


def test_a_channel_active_all_window_has_full_uptime():
    assert uptime(status_at_start=ACTIVE, changes=[], start=START, end=NOW) == 1


def test_three_days_down_in_thirty_is_nine_tenths():
    changes = [(_day(10), DOWN), (_day(13), ACTIVE)]
    assert uptime(status_at_start=ACTIVE, changes=changes, start=START, end=NOW) == pytest.approx(0.9)


def test_an_incident_open_at_the_window_start_counts_from_the_start():
    # Down since before the window, back on day 6: 24 of 30 days up.
    assert uptime(status_at_start=DOWN, changes=[(_day(6), ACTIVE)], start=START, end=NOW) == pytest.approx(0.8)


def test_an_incident_still_open_counts_until_now():
    assert uptime(status_at_start=ACTIVE, changes=[(_day(27), DOWN)], start=START, end=NOW) == pytest.approx(0.9)


def test_time_disconnected_on_purpose_is_left_out():
    # 10 days disconnected, then 5 of the remaining 20 days down: 15 of 20 up.
    changes = [(_day(0), OFF), (_day(10), ACTIVE), (_day(20), DOWN), (_day(25), ACTIVE)]
    assert uptime(status_at_start=ACTIVE, changes=changes, start=START, end=NOW) == pytest.approx(0.75)


def test_a_channel_disconnected_the_whole_window_has_no_uptime():
    assert uptime(status_at_start=OFF, changes=[], start=START, end=NOW) is None


def test_unreachable_and_blocked_count_as_down():
    changes = [(_day(0), ChannelStatus.UNREACHABLE), (_day(3), ChannelStatus.BLOCKED), (_day(6), ACTIVE)]
    assert uptime(status_at_start=ACTIVE, changes=changes, start=START, end=NOW) == pytest.approx(0.8)


def test_a_channel_connected_inside_the_window_counts_from_then():
    connected = _day(20)
    changes = [(_day(25), DOWN)]
    assert uptime(status_at_start=ACTIVE, changes=changes, start=connected, end=NOW) == pytest.approx(0.5)


# --- rows from the database --------------------------------------------------------------------------


@pytest.fixture
def channel(tenancy) -> Channel:
    Channel.objects.filter(pk=tenancy.shared_channel.pk).update(created_at=NOW - timedelta(days=90))
    return Channel.objects.get(pk=tenancy.shared_channel.pk)


def _row(channel: Channel, now: datetime = NOW):
    (row,) = health_rows(Channel.objects.filter(pk=channel.pk), now=now)
    return row


def test_row_counts_incidents_and_uptime_from_status_changes(channel, make_event):
    # Before the window: down; it came back on day 2, fell again on day 10 (and a repeat of the same status,
    # which is no new incident), back on day 11.
    make_event(channel=channel, from_status=ACTIVE, to_status=DOWN, created_at=START - timedelta(days=5))
    make_event(channel=channel, from_status=DOWN, to_status=ACTIVE, created_at=_day(2))
    make_event(channel=channel, from_status=ACTIVE, to_status=DOWN, created_at=_day(10))
    make_event(channel=channel, from_status=DOWN, to_status=DOWN, created_at=_day(10.5))
    make_event(channel=channel, from_status=DOWN, to_status=ACTIVE, created_at=_day(11))
    row = _row(channel)
    assert row.incidents == 1  # the one started before the window is not counted
    assert row.uptime == pytest.approx(27 / 30)
    assert row.uptime_percent == "90.0 %"


def test_uptime_is_rounded_down_so_any_downtime_shows(channel, make_event):
    make_event(channel=channel, from_status=ACTIVE, to_status=DOWN, created_at=NOW - timedelta(minutes=10))
    row = _row(channel)
    assert 0.999 < row.uptime < 1
    assert row.uptime_percent == "99.9 %"


def test_a_new_channel_starts_active_and_counts_from_its_connection(channel, make_event):
    Channel.objects.filter(pk=channel.pk).update(created_at=_day(20))
    make_event(channel=channel, from_status="", to_status=DOWN, created_at=_day(25))
    assert _row(channel).uptime == pytest.approx(0.5)


def test_last_mail_seen_is_the_newest_arrival(channel, make_message):
    make_message(channel=channel, internal_date=_day(3))
    make_message(channel=channel, internal_date=_day(9))
    make_message(channel=channel, internal_date=None)
    assert _row(channel).last_mail_at == _day(9)


def test_nothing_known_reads_as_a_dash(channel):
    row = _row(channel)
    assert row.last_mail_at is None and row.expires_next is None
    assert row.delivery == Delivery.POLLING and row.delivery_text.startswith("Polling every")


@pytest.mark.parametrize("status", [ChannelStatus.DISCONNECTED, ChannelStatus.NEEDS_REAUTH, ChannelStatus.BLOCKED])
def test_a_channel_nothing_syncs_receives_mail_by_nothing(channel, status):
    Channel.objects.filter(pk=channel.pk).update(status=status)
    assert _row(channel).delivery_text == "—"  # not "Polling every 1 min": the status says why


def test_a_healthy_gmail_watch_is_how_mail_arrives_and_what_expires(channel, settings):
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "gmail": {**settings.MAIL_PROVIDERS["gmail"], "PUBSUB_TOPIC": "projects/p/topics/t"},
    }
    GmailWatch.objects.create(channel=channel, history_id=1, expires_at=NOW + timedelta(days=6), renewed_at=NOW)
    row = _row(channel)
    assert row.delivery == Delivery.GMAIL_PUSH
    assert (row.expires_next.what, row.expires_next.at) == ("Gmail watch", NOW + timedelta(days=6))


def test_a_silent_gmail_watch_says_the_channel_is_polled(channel, settings):
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "gmail": {**settings.MAIL_PROVIDERS["gmail"], "PUBSUB_TOPIC": "projects/p/topics/t"},
    }
    GmailWatch.objects.create(
        channel=channel, history_id=1, expires_at=NOW + timedelta(days=6), renewed_at=NOW, silent_reported_at=NOW
    )
    row = _row(channel)
    assert row.delivery == Delivery.POLLING
    assert "Gmail push went silent" in row.delivery_text


def test_a_live_graph_subscription_is_how_mail_arrives(tenancy, make_inbox, make_channel, settings):
    settings.GRAPH_NOTIFICATIONS = True
    channel = make_channel(inbox=make_inbox(workspace=tenancy.workspace), provider="microsoft")
    GraphSubscription.objects.create(
        channel=channel, subscription_id="sub-1", expires_at=NOW + timedelta(days=2), created_at=NOW
    )
    row = _row(channel)
    assert row.delivery == Delivery.GRAPH
    assert (row.expires_next.what, row.expires_next.at) == ("Graph subscription", NOW + timedelta(days=2))


def test_a_healthy_idle_comes_first(channel, settings):
    Channel.objects.filter(pk=channel.pk).update(
        idle_owner="listener-1", idle_until=NOW + timedelta(minutes=1), idle_since=NOW, idle_confirmed_at=NOW
    )
    row = _row(channel)
    assert row.delivery == Delivery.IDLE and row.delivery_text == "IDLE"


def test_testing_mode_grants_expire_seven_days_after_consent(channel, settings):
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "gmail": {**settings.MAIL_PROVIDERS["gmail"], "TESTING_MODE": True},
    }
    granted = NOW - timedelta(days=2)
    ciphertext = crypto.encrypt_json(Credentials(refresh_token="r", granted_at=granted).to_json())
    Channel.objects.filter(pk=channel.pk).update(credentials_ciphertext=ciphertext)
    row = _row(channel)
    assert (row.expires_next.what, row.expires_next.at) == (
        "Google sign-in (Testing mode)",
        granted + timedelta(days=7),
    )


def test_unreadable_credentials_leave_the_grant_unknown(channel, settings):
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "gmail": {**settings.MAIL_PROVIDERS["gmail"], "TESTING_MODE": True},
    }
    Channel.objects.filter(pk=channel.pk).update(credentials_ciphertext="not-a-fernet-token")
    assert _row(channel).expires_next is None


def test_the_client_secret_expiry_from_settings_is_the_soonest(channel, settings):
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "gmail": {
            **settings.MAIL_PROVIDERS["gmail"],
            "PUBSUB_TOPIC": "projects/p/topics/t",
            "CLIENT_SECRET_EXPIRES": date(2026, 6, 2),
        },
    }
    GmailWatch.objects.create(channel=channel, history_id=1, expires_at=NOW + timedelta(days=6), renewed_at=NOW)
    row = _row(channel)
    assert (row.expires_next.what, row.expires_next.at) == ("Gmail client secret", datetime(2026, 6, 2, tzinfo=UTC))


# --- sorting and filtering --------------------------------------------------------------------------


def test_sort_parses_direction_and_ignores_unknown_columns():
    assert Sort.parse("-uptime") == Sort(SortKey.UPTIME, descending=True)
    assert Sort.parse("uptime") == Sort(SortKey.UPTIME)
    assert Sort.parse("password") == Sort() and Sort.parse(None) == Sort()
    assert str(Sort(SortKey.LAST_MAIL, descending=True)) == "-last_mail"


def test_sorting_puts_unknown_values_last_both_ways(tenancy, make_inbox, make_channel, make_message):
    inbox = lambda: make_inbox(workspace=tenancy.workspace)  # noqa: E731
    old, new, none = (make_channel(inbox=inbox(), address=a) for a in ("b@x.test", "c@x.test", "a@x.test"))
    make_message(channel=old, internal_date=_day(1))
    make_message(channel=new, internal_date=_day(5))
    rows = health_rows(Channel.objects.filter(pk__in=[old.pk, new.pk, none.pk]), now=NOW)
    ascending = [r.channel.address for r in Sort(SortKey.LAST_MAIL).apply(rows)]
    descending = [r.channel.address for r in Sort(SortKey.LAST_MAIL, descending=True).apply(rows)]
    assert ascending == ["b@x.test", "c@x.test", "a@x.test"]
    assert descending == ["c@x.test", "b@x.test", "a@x.test"]


def test_filter_ignores_values_that_are_no_status_or_provider(tenancy):
    assert HealthFilter.parse("needs_reauth", "microsoft") == HealthFilter("needs_reauth", "microsoft")
    assert HealthFilter.parse("everything", "aol") == HealthFilter()
    channels = Channel.objects.filter(pk__in=[tenancy.shared_channel.pk, tenancy.member_channel.pk])
    Channel.objects.filter(pk=tenancy.member_channel.pk).update(status=DOWN)
    assert list(HealthFilter(status=DOWN).apply(channels)) == [Channel.objects.get(pk=tenancy.member_channel.pk)]
    assert list(HealthFilter(provider="microsoft").apply(channels)) == []


# --- CSV ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_cells_a_spreadsheet_would_run_become_text(start):
    assert csv_safe(f'{start}HYPERLINK("http://evil.test")') == f'\'{start}HYPERLINK("http://evil.test")'


def test_ordinary_cells_are_left_alone():
    assert csv_safe("support@acme.test") == "support@acme.test"
    assert csv_safe("—") == "—"


def test_csv_rows_are_the_page_columns_with_times_in_utc(channel, make_message):
    make_message(channel=channel, internal_date=_day(9))
    header, row = list(csv_rows(health_rows(Channel.objects.filter(pk=channel.pk), now=NOW)))
    line = dict(zip(header, row, strict=True))
    assert line["Address"] == "support@acme.test"
    assert line["Company"] == "Acme" and line["Workspace"] == "Support"
    assert line["Last mail seen (UTC)"] == "2026-05-10 12:00"
    assert line["Uptime (30 days)"] == "100.0 %"
    assert line["Expires next"] == "—" and line["Expires at (UTC)"] == "—"


def test_now_defaults_to_the_clock(channel):
    (row,) = health_rows(Channel.objects.filter(pk=channel.pk))
    assert row.uptime == 1 and timezone.now() > channel.created_at
