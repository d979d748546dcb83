"""Which channels count as Graph-notified, what that changes for polling and renewal, and the Overview line."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from channels_app.models import ChannelStatus, GraphSubscription
from channels_app.services import graph_push
from channels_app.services.push_subscriptions import push_subscribe_soon
from channels_app.tasks import channels_to_sync, renewal_pass


@pytest.fixture
def microsoft(tenancy, settings):
    settings.GRAPH_NOTIFICATIONS = True
    channel = tenancy.shared_channel
    channel.provider = "microsoft"
    channel.save(update_fields=["provider"])
    return channel


def _subscribe(channel, *, expires_in=timedelta(days=2), subscription_id="sub-1"):
    now = timezone.now()
    return GraphSubscription.objects.update_or_create(
        channel=channel,
        defaults={
            "subscription_id": subscription_id,
            "expires_at": now + expires_in,
            "created_at": now,
            "renewed_at": now,
        },
    )[0]


def test_a_live_subscription_is_healthy_and_an_expired_or_missing_one_is_not(microsoft):
    assert not graph_push.graph_push_healthy(microsoft)
    _subscribe(microsoft)
    assert graph_push.graph_push_healthy(microsoft)
    _subscribe(microsoft, expires_in=timedelta(minutes=-1))
    assert not graph_push.graph_push_healthy(microsoft)
    _subscribe(microsoft, subscription_id="")
    assert not graph_push.graph_push_healthy(microsoft)


def test_notifications_turned_off_means_no_channel_is_push_healthy(microsoft, settings):
    _subscribe(microsoft)
    settings.GRAPH_NOTIFICATIONS = False
    assert not graph_push.graph_push_healthy(microsoft)
    assert not graph_push.live_subscriptions().exists()


def test_a_push_healthy_channel_is_polled_only_every_push_interval(microsoft, settings):
    settings.PUSH_POLL_INTERVAL_SECONDS = 600
    _subscribe(microsoft)
    microsoft.last_synced_at = timezone.now() - timedelta(seconds=300)
    microsoft.save(update_fields=["last_synced_at"])
    assert microsoft.pk not in channels_to_sync().values_list("pk", flat=True)
    microsoft.last_synced_at = timezone.now() - timedelta(seconds=601)
    microsoft.save(update_fields=["last_synced_at"])
    assert microsoft.pk in channels_to_sync().values_list("pk", flat=True)


def test_a_channel_without_a_live_subscription_is_polled_as_before(microsoft):
    microsoft.last_synced_at = timezone.now() - timedelta(seconds=30)
    microsoft.save(update_fields=["last_synced_at"])
    assert microsoft.pk in channels_to_sync().values_list("pk", flat=True)
    _subscribe(microsoft, expires_in=timedelta(minutes=-5))
    assert microsoft.pk in channels_to_sync().values_list("pk", flat=True)


def test_the_renewal_pass_gives_active_microsoft_channels_without_a_subscription_one(microsoft, tenancy, monkeypatch):
    queued: list[tuple[str, list[int]]] = []
    monkeypatch.setattr("channels_app.tasks.async_task", lambda _, func, ids, **kw: queued.append((func, ids)))
    renewal_pass()
    assert [microsoft.pk] in [ids for _, ids in queued]
    queued.clear()
    _subscribe(microsoft)
    renewal_pass()
    assert all(microsoft.pk not in ids for _, ids in queued)
    # A channel that needs reauthorization gets none until it is reauthorized.
    GraphSubscription.objects.all().delete()
    microsoft.status = ChannelStatus.NEEDS_REAUTH
    microsoft.save(update_fields=["status"])
    queued.clear()
    renewal_pass()
    assert all(microsoft.pk not in ids for _, ids in queued)


def test_a_connect_asks_for_the_subscription(microsoft, monkeypatch, django_capture_on_commit_callbacks):
    queued: list[tuple] = []
    monkeypatch.setattr("channels_app.services.push_subscriptions.async_task", lambda *args, **kw: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        push_subscribe_soon(microsoft)
    assert queued == [("channels_app.tasks.subscribe_channel", microsoft.pk)]


def test_the_overview_says_how_mail_arrives_and_when_the_subscription_renews(microsoft, tenancy):
    url = reverse("channel_overview", args=[microsoft.pk])
    assert "Microsoft Graph notifications" not in tenancy.client_for(tenancy.member).get(url).content.decode()
    sub = _subscribe(microsoft)
    page = tenancy.client_for(tenancy.member).get(url).content.decode()
    renews = timezone.localtime(sub.renewed_at + timedelta(hours=48))
    assert f"Microsoft Graph notifications (subscription renews {renews:%b} {renews.day}, {renews:%Y %H:%M})" in page
    assert tenancy.client_for(tenancy.outsider).get(url).status_code == 404


def test_a_shared_mailbox_opened_through_a_delegate_stays_on_polling(microsoft):
    assert graph_push.graph_push_wanted(microsoft)
    microsoft.delegate_address = "dana@acme.test"  # Graph would need Mail.Read.Shared, which we do not ask for
    microsoft.save(update_fields=["delegate_address"])
    assert not graph_push.graph_push_wanted(microsoft)
    assert microsoft.pk not in graph_push.channels_without_subscription()
