"""The safety net under Gmail push: slower polling while a watch is healthy, a silent watch reported to
staff once, and the Overview saying how the channel receives mail."""

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.models import GmailWatch, Notification, NotificationKind
from channels_app.push_health import push_healthy
from channels_app.selectors.due import channels_to_sync
from channels_app.services.gmail_push import PushOutcome, poll_found_mail, push_received

TOPIC = "projects/our-project/topics/gmail"


@pytest.fixture
def push_on(settings):
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "gmail": {**settings.MAIL_PROVIDERS["gmail"], "PUBSUB_TOPIC": TOPIC},
    }
    settings.PUSH_POLL_INTERVAL_SECONDS = 600
    settings.PUSH_SILENCE_MINUTES = 60


def _watch(channel, **fields):
    now = timezone.now()
    values = {"history_id": 100, "expires_at": now + timedelta(days=6), "renewed_at": now, **fields}
    return GmailWatch.objects.create(channel=channel, **values)


def _synced(channel, ago):
    channel.last_synced_at = timezone.now() - ago
    channel.save(update_fields=["last_synced_at"])


def test_a_healthy_watch_slows_polling_to_the_push_interval(push_on, tenancy):
    channel = tenancy.shared_channel
    _watch(channel)
    _synced(channel, timedelta(minutes=3))
    assert channel not in channels_to_sync()
    _synced(channel, timedelta(minutes=11))
    assert channel in channels_to_sync()


def test_a_channel_without_a_healthy_watch_is_polled_every_pass(push_on, tenancy):
    lapsed, silent = tenancy.shared_channel, tenancy.member_channel
    _watch(lapsed, expires_at=timezone.now() - timedelta(minutes=1))
    _watch(silent, silent_reported_at=timezone.now())
    for channel in (lapsed, silent):
        _synced(channel, timedelta(minutes=3))
        assert channel in channels_to_sync()
        assert not push_healthy(channel)


def test_without_a_topic_every_channel_is_polled(tenancy):
    channel = tenancy.shared_channel
    _watch(channel)
    _synced(channel, timedelta(minutes=3))
    assert channel in channels_to_sync()


def _arrived(make_message, channel, ago):
    return make_message(channel=channel, internal_date=timezone.now() - ago)


def test_mail_a_silent_watch_did_not_announce_is_reported_to_staff_once(push_on, tenancy, people, make_message):
    channel = tenancy.shared_channel
    _watch(channel, last_push_at=timezone.now() - timedelta(hours=3))
    _arrived(make_message, channel, timedelta(minutes=20))
    poll_found_mail(channel, imported_since=timezone.now() - timedelta(minutes=1))
    poll_found_mail(channel, imported_since=timezone.now() - timedelta(minutes=1))
    told = Notification.objects.filter(kind=NotificationKind.PUSH_SILENT)
    assert {n.recipient.email for n in told} == people["staff"]
    assert told.count() == len(people["staff"])
    assert "No Gmail push" in told[0].message
    assert not push_healthy(channel)


@pytest.mark.parametrize(
    ("last_push", "arrived"),
    [
        (timedelta(minutes=20), timedelta(minutes=10)),  # a push came lately: not silent for long
        (timedelta(hours=3), timedelta(seconds=30)),  # the mail is so new its push may be on the way
        (timedelta(hours=3), timedelta(hours=4)),  # the mail is older than the last push: announced
    ],
)
def test_mail_that_a_push_could_still_announce_is_not_reported(
    push_on, tenancy, people, make_message, last_push, arrived
):
    channel = tenancy.shared_channel
    _watch(channel, last_push_at=timezone.now() - last_push)
    _arrived(make_message, channel, arrived)
    poll_found_mail(channel, imported_since=timezone.now() - timedelta(minutes=1))
    assert not Notification.objects.filter(kind=NotificationKind.PUSH_SILENT).exists()


def test_a_push_after_the_report_makes_the_watch_healthy_and_resolves_it(
    push_on, tenancy, people, make_message, django_capture_on_commit_callbacks
):
    channel = tenancy.shared_channel
    _watch(channel, last_push_at=timezone.now() - timedelta(hours=3))
    _arrived(make_message, channel, timedelta(minutes=20))
    poll_found_mail(channel, imported_since=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks():
        assert push_received(address=channel.address.upper(), history_id=101) is PushOutcome.QUEUED
    assert push_healthy(channel)
    assert not Notification.objects.filter(kind=NotificationKind.PUSH_SILENT, resolved_at__isnull=True).exists()


def test_the_overview_says_gmail_push_and_when_the_watch_renews(push_on, tenancy):
    channel = tenancy.shared_channel
    channel.subscription_renewed_at = timezone.now()
    channel.save(update_fields=["subscription_renewed_at"])
    _watch(channel)
    page = tenancy.client_for(tenancy.member).get(f"/settings/channels/{channel.pk}/")
    assert page.status_code == 200
    assert "Gmail push (watch renews" in page.content.decode()
    assert tenancy.client_for(tenancy.outsider).get(f"/settings/channels/{channel.pk}/").status_code == 404


def test_the_overview_says_polling_when_the_watch_went_silent(push_on, tenancy):
    channel = tenancy.shared_channel
    _watch(channel, silent_reported_at=timezone.now())
    page = tenancy.client_for(tenancy.admin).get(f"/settings/channels/{channel.pk}/").content.decode()
    assert "Polling every minute" in page and "Gmail push (watch renews" not in page
