"""Which channels count as Graph-notified, what that changes for polling and renewal, the Overview line,
and a Graph token refused while we believed it valid (recorded answers from in-process fakes)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from channels_app import crypto, times
from channels_app.models import Channel, ChannelStatus, GraphSubscription
from channels_app.providers import AuthFailure, Credentials, PolicyFailure, ReasonCode
from channels_app.providers.microsoft import graph
from channels_app.providers.recorded import recorded_entries
from channels_app.selectors.due import channels_to_sync
from channels_app.selectors.subscriptions import (
    channels_without_subscription,
    graph_push_healthy,
    graph_push_wanted,
    live_subscriptions,
)
from channels_app.services import graph_push
from channels_app.services.credentials import channel_credentials, channel_store_credentials
from channels_app.services.push_subscriptions import push_subscribe_soon
from channels_app.tasks import renewal_pass


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
    assert not graph_push_healthy(microsoft)
    _subscribe(microsoft)
    assert graph_push_healthy(microsoft)
    _subscribe(microsoft, expires_in=timedelta(minutes=-1))
    assert not graph_push_healthy(microsoft)
    _subscribe(microsoft, subscription_id="")
    assert not graph_push_healthy(microsoft)


def test_notifications_turned_off_means_no_channel_is_push_healthy(microsoft, settings):
    _subscribe(microsoft)
    settings.GRAPH_NOTIFICATIONS = False
    assert not graph_push_healthy(microsoft)
    assert not live_subscriptions().exists()


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
    assert "Microsoft Graph notifications (subscription renews <time" in page
    assert f">{times.moment_text(renews)}</time>)" in page
    assert tenancy.client_for(tenancy.outsider).get(url).status_code == 404


def test_a_shared_mailbox_opened_through_a_delegate_stays_on_polling(microsoft):
    assert graph_push_wanted(microsoft)
    microsoft.delegate_address = "dana@acme.test"  # Graph would need Mail.Read.Shared, which we do not ask for
    microsoft.save(update_fields=["delegate_address"])
    assert not graph_push_wanted(microsoft)
    assert microsoft.pk not in channels_without_subscription()


# --- a Graph token refused while we believed it valid (recorded answers, in-process fakes) ----------

GRAPH = recorded_entries("microsoft", "graph")
RENEWED = {
    "status": 200,
    "body": {"id": "sub-1", "expirationDateTime": "2030-01-03T08:30:00.0000000Z", "resource": graph.INBOX_RESOURCE},
}


def _holding_tokens(channel):
    """A channel with an IMAP token and a Graph token, both unexpired as far as we know, and a subscription."""
    in_an_hour = timezone.now() + timedelta(hours=1)
    channel_store_credentials(
        channel=channel, credentials=Credentials(access_token="imap-1", refresh_token="rt-1", expires_at=in_an_hour)
    )
    sub = _subscribe(channel)
    sub.token_ciphertext = crypto.encrypt_json({"access_token": "graph-1", "expires_at": in_an_hour.isoformat()})
    sub.save(update_fields=["token_ciphertext"])
    return sub


def _graph_refresh_answers(fake, access_token="graph-2", refresh_token="rt-2"):
    fake.answer = {
        "status": 200,
        "body": {
            "token_type": "Bearer",
            "access_token": access_token,
            "refresh_token": refresh_token,
            "expires_in": 3600,
            "scope": graph.GRAPH_SCOPE,
        },
    }


def test_a_graph_401_gets_one_fresh_graph_token_and_one_more_try(microsoft, fake):
    _holding_tokens(microsoft)
    _graph_refresh_answers(fake)
    fake.graph_answers = [GRAPH["invalid_authentication_token"], RENEWED]
    assert "renewed" in graph_push.subscription_renew(microsoft)
    assert [auth for _, _, auth in fake.graph_requests] == ["Bearer graph-1", "Bearer graph-2"]
    assert [post["scope"] for post in fake.posts] == [[f"offline_access {graph.GRAPH_SCOPE}"]]
    # The Graph token is kept beside the subscription; the IMAP token stays; the rotated refresh token is kept.
    sub = GraphSubscription.objects.get(channel=microsoft)
    assert crypto.decrypt_json(sub.token_ciphertext)["access_token"] == "graph-2"
    stored = channel_credentials(Channel.objects.get(pk=microsoft.pk))
    assert (stored.access_token, stored.refresh_token) == ("imap-1", "rt-2")


@pytest.mark.parametrize("answer", ["invalid_authentication_token", "extension_error_unauthorized"])
def test_a_graph_401_after_a_fresh_token_is_classified_as_before(microsoft, fake, answer):
    _holding_tokens(microsoft)
    _graph_refresh_answers(fake)
    fake.graph_answers = [GRAPH[answer], GRAPH[answer]]
    with pytest.raises(AuthFailure) as raised:
        graph_push.subscription_renew(microsoft)
    assert (raised.value.reason, raised.value.code) == (ReasonCode.SUBSCRIPTION, GRAPH[answer]["expect"]["code"])
    assert len(fake.graph_requests) == 2 and len(fake.posts) == 1  # one refresh, one more try, no more


def test_a_graph_401_with_a_token_just_refreshed_is_not_tried_again(microsoft, fake):
    sub = _holding_tokens(microsoft)
    GraphSubscription.objects.filter(pk=sub.pk).update(token_ciphertext="")  # no Graph token yet
    _graph_refresh_answers(fake)
    fake.graph_answers = [GRAPH["invalid_authentication_token"]]
    with pytest.raises(AuthFailure):
        graph_push.subscription_renew(microsoft)
    assert len(fake.graph_requests) == 1 and len(fake.posts) == 1


def test_a_graph_403_is_not_a_reason_to_refresh(microsoft, fake):
    _holding_tokens(microsoft)
    fake.graph_answers = [GRAPH["extension_error_forbidden"]]
    with pytest.raises(PolicyFailure):
        graph_push.subscription_renew(microsoft)
    assert fake.posts == []
