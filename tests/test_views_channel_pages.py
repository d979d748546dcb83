from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from channels_app.models import Backfill, BackfillStatus, Channel, ChannelStatus
from channels_app.services.parsing import EARLIEST_DATE, LATEST_DATE


def test_overview_shows_status_and_history_to_those_who_may_see(tenancy, make_event):
    make_event(channel=tenancy.shared_channel, from_status="active", reason="Access was revoked.", cause="sync task")
    url = reverse("channel_overview", args=[tenancy.shared_channel.pk])
    for user in (tenancy.admin, tenancy.member):
        response = tenancy.client_for(user).get(url)
        assert response.status_code == 200
        assert "Access was revoked." in response.content.decode()
        assert "sync task" not in response.content.decode()  # our code's words are for staff
    assert tenancy.client_for(tenancy.outsider).get(url).status_code == 404


@pytest.mark.parametrize(
    ("tab", "title"),
    [("channel_overview", "Overview"), ("channel_messages", "Messages"), ("channel_settings", "Settings")],
)
def test_each_channel_tab_has_its_own_title(tenancy, tab, title):
    body = tenancy.client_for(tenancy.admin).get(reverse(tab, args=[tenancy.shared_channel.pk])).content.decode()
    assert f"<title>support@acme.test · {title} · Shared Inbox</title>" in body
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in body


@pytest.mark.parametrize(
    ("import_since", "said"),
    [
        (
            datetime(2025, 3, 1, 12, tzinfo=UTC),
            "Mail that arrived since Mar 1, 2025 (30 days before connecting); older mail stays at the provider.",
        ),
        (datetime(2025, 3, 30, 12, tzinfo=UTC), "since Mar 30, 2025 (1 day before connecting)"),
        (None, "All mail in the mailbox."),
    ],
)
def test_overview_says_how_far_back_the_first_import_reached(tenancy, settings, import_since, said):
    settings.TIME_ZONE = "UTC"
    channel = tenancy.shared_channel
    type(channel).objects.filter(pk=channel.pk).update(
        created_at=datetime(2025, 3, 31, 12, tzinfo=UTC), import_since=import_since
    )
    page = tenancy.client_for(tenancy.member).get(reverse("channel_overview", args=[channel.pk]))
    assert page.status_code == 200
    assert said in page.content.decode()


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (ChannelStatus.DISCONNECTED, "None: the channel is disconnected"),
        (ChannelStatus.NEEDS_REAUTH, "None until someone reauthorizes the channel"),
        (ChannelStatus.BLOCKED, "None until the provider's administrator lifts the block"),
    ],
)
def test_overview_says_no_mail_comes_in_while_nothing_is_synced(tenancy, status, said):
    Channel.objects.filter(pk=tenancy.shared_channel.pk).update(status=status)
    page = tenancy.client_for(tenancy.admin).get(reverse("channel_overview", args=[tenancy.shared_channel.pk]))
    assert said in page.content.decode() and "Polling every" not in page.content.decode()


def test_missing_channel_is_404(tenancy):
    assert tenancy.client_for(tenancy.admin).get(reverse("channel_overview", args=[999_999])).status_code == 404


def test_individual_channel_is_404_for_everyone_but_owner(tenancy):
    url = reverse("channel_settings", args=[tenancy.member_channel.pk])
    assert tenancy.client_for(tenancy.member).get(url).status_code == 200
    assert tenancy.client_for(tenancy.admin).get(url).status_code == 404
    assert tenancy.client_for(tenancy.outsider).get(url).status_code == 404


def test_settings_tab_shows_connection_and_actions_only_to_managers(tenancy):
    url = reverse("channel_settings", args=[tenancy.shared_channel.pk])
    admin_body = tenancy.client_for(tenancy.admin).get(url).content.decode()
    assert "support@acme.test" in admin_body
    assert "Disconnect" in admin_body
    member_body = tenancy.client_for(tenancy.member).get(url).content.decode()
    assert "Disconnect" not in member_body
    assert "You can view this channel" in member_body


@pytest.mark.parametrize(("security", "shown"), [("tls", "TLS"), ("starttls", "STARTTLS"), ("none", "⚠ No encryption")])
def test_settings_tab_shows_an_imap_channels_security_to_all_who_see_it(tenancy, security, shown):
    channel = tenancy.shared_channel
    channel.provider, channel.imap_host, channel.imap_port, channel.imap_security = (
        "imap",
        "mail.acme.test",
        993,
        security,
    )
    channel.save()
    url = reverse("channel_settings", args=[channel.pk])
    for user in (tenancy.admin, tenancy.member):
        response = tenancy.client_for(user).get(url)
        assert shown in response.content.decode().split('data-testid="imap-security">')[1].split("</dd>")[0]
    assert tenancy.client_for(tenancy.outsider).get(url).status_code == 404


ZONES = ["Pacific/Kiritimati", "Etc/GMT+12"]


@pytest.mark.parametrize("zone", ZONES)
def test_messages_tab_shows_dates_at_the_edges_in_any_time_zone(tenancy, make_message, settings, zone):
    settings.TIME_ZONE = zone
    channel = tenancy.shared_channel
    for subject, date in (("latest", LATEST_DATE), ("earliest", EARLIEST_DATE), ("undated", None)):
        make_message(channel=channel, subject=subject, date=date, internal_date=date)
    page = tenancy.client_for(tenancy.member).get(reverse("channel_messages", args=[channel.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert body.index("latest") < body.index("earliest") and "undated" in body


@pytest.mark.parametrize("zone", ZONES)
def test_overview_shows_a_receipt_with_dates_at_the_edges_in_any_time_zone(tenancy, make_message, settings, zone):
    settings.TIME_ZONE = zone
    channel = tenancy.shared_channel
    for arrived in (EARLIEST_DATE, LATEST_DATE):
        make_message(channel=channel, internal_date=arrived)
    Backfill.objects.create(
        channel=channel,
        status=BackfillStatus.DONE,
        imported=2,
        reconnected_at=timezone.now() - timedelta(minutes=5),
        finished_at=timezone.now() + timedelta(seconds=1),
    )
    page = tenancy.client_for(tenancy.member).get(reverse("channel_overview", args=[channel.pk]))
    assert page.status_code == 200
    assert "imported 2 messages that arrived between" in page.content.decode()


def test_messages_tab_shows_control_characters_as_their_pictures(tenancy, make_message):
    make_message(
        channel=tenancy.shared_channel, subject="bell\x07 escape\x1b[31m\tred\x7f", from_address="a\x0b@x.test"
    )
    page = tenancy.client_for(tenancy.member).get(reverse("channel_messages", args=[tenancy.shared_channel.pk]))
    body = page.content.decode()
    assert "bell\u2407 escape\u241b[31m\u2409red\u2421" in body and "a\u240b@x.test" in body
    assert not any(chr(code) in body for code in (0x07, 0x0B, 0x1B, 0x7F))
