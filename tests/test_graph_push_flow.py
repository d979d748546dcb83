"""Graph change notifications end to end: our app (live server) and Local mail's microsoft persona.

Local mail's Graph endpoints check the bearer token's audience, run the validation handshake against
our notification URL before answering 201, and post notifications when `control.append_messages`
delivers mail; the suite runs tasks inline, so the notification's sync has run when the POST returns.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import replace

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from channels_app import crypto
from channels_app.models import Channel, ChannelStatus, GraphSubscription, Message, Notification, NotificationKind
from channels_app.providers import get_provider
from channels_app.selectors.due import channels_to_sync
from channels_app.selectors.subscriptions import channels_without_subscription, graph_push_healthy
from channels_app.services.credentials import channel_credentials, channel_store_credentials
from channels_app.services.lease import channel_lease
from channels_app.tasks import (
    push_sync_channel,
    renew_subscription_channel,
    subscribe_channel,
    sync_channel,
)
from localprovider import control, maildir
from tests.provider_fixtures import oauth_round_trip

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def graph_on(settings, live_server):
    settings.GRAPH_NOTIFICATIONS = True
    settings.SITE_URL = live_server.url
    return live_server


@pytest.fixture
def subscribed(graph_on, tenancy, make_mailbox, connect_local, local_provider) -> Callable[[], Channel]:
    """A Microsoft channel on a microsoft-persona mailbox, with its Graph subscription created."""

    def make() -> Channel:
        mailbox = make_mailbox("graph", persona="microsoft")
        channel = connect_local(tenancy.shared_channel, mailbox, "microsoft")
        renew_subscription_channel(channel.pk)
        channel.refresh_from_db()
        assert graph_push_healthy(channel), channel.last_error
        return channel

    return make


def _stored(channel: Channel, subject: str) -> int:
    return Message.objects.filter(channel=channel, subject=subject).count()


def test_connecting_creates_the_subscription_after_the_handshake(subscribed, local_provider):
    channel = subscribed()
    sub = GraphSubscription.objects.get(channel=channel)
    at_provider = control.graph_subscriptions(local_provider, channel.address)
    assert [s.id for s in at_provider] == [sub.subscription_id]
    # The secret is ours, kept as a digest only; Local mail holds the secret itself.
    assert at_provider[0].client_state and at_provider[0].client_state not in sub.client_state_digest
    assert at_provider[0].resource == "me/mailFolders('Inbox')/messages"
    assert sub.expires_at > timezone.now()


def test_delivery_is_stored_through_a_notification(subscribed, local_provider):
    channel = subscribed()
    push_sync_channel(channel.pk)  # the first import
    started = time.monotonic()
    control.append_messages(
        local_provider, channel.address, [control.make_message(recipient=channel.address, subject="Pushed")]
    )
    # How soon is bench/new_mail.py's question; the deadline only stops a test that would hang.
    while _stored(channel, "Pushed") == 0 and time.monotonic() - started < 10:
        time.sleep(0.1)
    assert _stored(channel, "Pushed") == 1
    assert GraphSubscription.objects.get(channel=channel).last_notification_at is not None


def test_the_imap_token_cannot_create_a_subscription(graph_on, tenancy, make_mailbox, connect_local, local_provider):
    """Graph wants its own audience: the IMAP token is refused."""
    mailbox = make_mailbox("aud", persona="microsoft")
    channel = connect_local(tenancy.shared_channel, mailbox, "microsoft")
    answer = requests.post(
        f"{local_provider.base_url}/graph/v1.0/subscriptions",
        json={},
        headers={"Authorization": f"Bearer {channel_credentials(channel).access_token}"},
        timeout=10,
    )
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_renewal_extends_the_same_subscription(subscribed, local_provider):
    channel = subscribed()
    sub = GraphSubscription.objects.get(channel=channel)
    GraphSubscription.objects.filter(pk=sub.pk).update(expires_at=timezone.now() + timezone.timedelta(hours=1))
    assert "renewed" in renew_subscription_channel(channel.pk)
    renewed = GraphSubscription.objects.get(pk=sub.pk)
    assert renewed.subscription_id == sub.subscription_id
    assert renewed.expires_at > timezone.now() + timezone.timedelta(days=2)


def test_a_subscription_graph_forgot_is_created_again_at_renewal(subscribed, local_provider):
    channel = subscribed()
    old = GraphSubscription.objects.get(channel=channel).subscription_id
    maildir_dir = local_provider.dir / "graph" / f"{old}.json"
    maildir_dir.unlink()
    assert "created" in renew_subscription_channel(channel.pk)
    assert GraphSubscription.objects.get(channel=channel).subscription_id not in ("", old)


def test_lifecycle_reauthorization_required_is_answered(subscribed, local_provider):
    channel = subscribed()
    statuses = control.graph_lifecycle(local_provider, channel.address, "reauthorizationRequired")
    assert statuses == [202]
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE
    assert graph_push_healthy(channel)


def test_lifecycle_subscription_removed_recreates_it(subscribed, local_provider):
    channel = subscribed()
    old = GraphSubscription.objects.get(channel=channel).subscription_id
    assert control.graph_lifecycle(local_provider, channel.address, "subscriptionRemoved") == [202]
    new = GraphSubscription.objects.get(channel=channel).subscription_id
    assert new not in ("", old)
    assert [s.id for s in control.graph_subscriptions(local_provider, channel.address)] == [new]


def test_lifecycle_missed_runs_a_full_sync(subscribed, local_provider):
    channel = subscribed()
    push_sync_channel(channel.pk)
    # Delivered without a notification (Graph lost it): only `missed` brings it in.
    maildir.deliver(local_provider, channel.address, [control.make_message(recipient=channel.address, subject="Lost")])
    assert _stored(channel, "Lost") == 0
    assert control.graph_lifecycle(local_provider, channel.address, "missed") == [202]
    assert _stored(channel, "Lost") == 1


def test_a_subscription_that_stops_notifying_is_reported_once_and_the_next_notification_clears_it(
    subscribed, local_provider, people
):
    channel = subscribed()
    push_sync_channel(channel.pk)
    GraphSubscription.objects.filter(channel=channel).update(created_at=timezone.now() - timezone.timedelta(hours=5))
    # Delivered 20 minutes ago without a notification (Graph stopped sending them): the poll finds it.
    unannounced = control.make_message(recipient=channel.address, subject="Unannounced")
    maildir.deliver(
        local_provider, channel.address, [unannounced], arrived=timezone.now() - timezone.timedelta(minutes=20)
    )
    sync_channel(channel.pk, respect_backoff=False)
    sync_channel(channel.pk, respect_backoff=False)
    told = Notification.objects.filter(channel=channel, kind=NotificationKind.PUSH_SILENT)
    assert {n.recipient.email for n in told} == people["staff"] and _stored(channel, "Unannounced") == 1
    assert not graph_push_healthy(channel)
    Channel.objects.filter(pk=channel.pk).update(last_synced_at=timezone.now())
    assert channel in channels_to_sync()  # at the normal interval, as a channel without push
    control.append_messages(
        local_provider, channel.address, [control.make_message(recipient=channel.address, subject="Announced")]
    )
    assert _stored(channel, "Announced") == 1
    assert graph_push_healthy(channel)
    assert not told.filter(resolved_at=None).exists()


@pytest.mark.parametrize(
    ("answer", "status", "reason_code", "notified"),
    [
        ("invalid_authentication_token", ChannelStatus.NEEDS_REAUTH, "subscription", NotificationKind.NEEDS_REAUTH),
        ("extension_error_forbidden", ChannelStatus.BLOCKED, "policy", NotificationKind.BLOCKED),
        ("validation_request_failed", ChannelStatus.ACTIVE, "", NotificationKind.CONFIGURATION),
        ("service_unavailable_503", ChannelStatus.ACTIVE, "", None),
    ],
)
def test_a_refused_renewal_is_routed_by_class(subscribed, local_provider, answer, status, reason_code, notified):
    channel = subscribed()
    control.force_answer(local_provider, channel.address, "graph", answer)
    try:
        renew_subscription_channel(channel.pk)
    finally:
        control.force_answer(local_provider, channel.address, "graph", None)
    channel.refresh_from_db()
    assert (channel.status, channel.reason_code) == (status, reason_code)
    kinds = set(channel.notifications.values_list("kind", flat=True))
    assert kinds == ({notified} if notified else set())
    if notified is None:
        assert channel.next_attempt_at is not None and channel.consecutive_failures == 1


def test_a_refused_graph_token_needs_reauthorization_for_the_subscription(subscribed, local_provider):
    channel = subscribed()
    GraphSubscription.objects.filter(channel=channel).update(token_ciphertext="")
    control.revoke_tokens(local_provider, channel.address)
    renew_subscription_channel(channel.pk)
    channel.refresh_from_db()
    assert (channel.status, channel.reason_code) == (ChannelStatus.NEEDS_REAUTH, "subscription")


def test_a_notification_racing_a_poll_loses_and_doubles_nothing(subscribed, local_provider, settings):
    channel = subscribed()
    push_sync_channel(channel.pk)
    settings.PUSH_SYNC_WAIT_SECONDS = 20
    results: list[str] = []
    with channel_lease(channel.pk) as held:  # a poll holds the channel...
        assert held
        maildir.deliver(
            local_provider, channel.address, [control.make_message(recipient=channel.address, subject="Race")]
        )
        # ...when the notification's sync starts: it waits for the poll instead of giving up.
        worker = threading.Thread(target=lambda: results.append(push_sync_channel(channel.pk)))
        worker.start()
        time.sleep(0.6)
        assert worker.is_alive()
    worker.join(timeout=20)
    assert results and ": ok" in results[0]
    push_sync_channel(channel.pk)  # and the poll's own next run
    assert _stored(channel, "Race") == 1


def test_a_notification_url_graph_cannot_validate_is_a_configuration_problem(
    graph_on, tenancy, make_mailbox, connect_local, settings
):
    settings.SITE_URL = "http://127.0.0.1:9"  # nothing answers the handshake there
    channel = connect_local(tenancy.shared_channel, make_mailbox("cfg", persona="microsoft"), "microsoft")
    renew_subscription_channel(channel.pk)
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE
    assert "notification address" in channel.configuration_error
    assert not graph_push_healthy(channel)


def test_the_graph_token_is_kept_apart_from_the_imap_one(subscribed, local_provider):
    channel = subscribed()
    sub = GraphSubscription.objects.get(channel=channel)
    imap_token = channel_credentials(channel).access_token
    graph_token = crypto.decrypt_json(sub.token_ciphertext)["access_token"]
    assert imap_token and graph_token and imap_token != graph_token
    # The IMAP token still opens the mailbox after the Graph refresh rotated the refresh token.
    assert ": ok" in push_sync_channel(channel.pk)


def test_a_grant_made_before_graph_was_asked_for_keeps_the_mail_coming_by_polling(
    graph_on, tenancy, make_mailbox, connect_local, settings, local_provider, django_capture_on_commit_callbacks
):
    """Microsoft answers AADSTS65001 to a refresh for a resource never consented to. The IMAP grant still
    works, so the channel stays active on polling, is not retried every hour, and its next
    reauthorization (which asks for Graph) subscribes it."""
    imap_only = "openid email offline_access https://outlook.office.com/IMAP.AccessAsUser.All"
    graph_settings = settings.MAIL_PROVIDERS
    settings.MAIL_PROVIDERS = {**graph_settings, "microsoft": {**graph_settings["microsoft"], "SCOPES": imap_only}}
    mailbox = make_mailbox("old", persona="microsoft")
    channel = connect_local(tenancy.shared_channel, mailbox, "microsoft")
    settings.MAIL_PROVIDERS = graph_settings
    assert "polling meanwhile" in renew_subscription_channel(channel.pk)
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE
    assert channel.pk not in channels_without_subscription()
    overview = tenancy.client_for(tenancy.admin).get(reverse("channel_overview", args=[channel.pk])).content.decode()
    assert "reauthorize it to receive new mail within seconds" in overview
    with django_capture_on_commit_callbacks(execute=True):
        oauth_round_trip(tenancy.client_for(tenancy.admin), reverse("channel_reauthorize", args=[channel.pk]), mailbox)
    assert graph_push_healthy(Channel.objects.get(pk=channel.pk))


def test_the_subscription_after_a_reconnect_waits_for_the_backfill_holding_the_channel(
    graph_on, tenancy, make_mailbox, connect_local, settings
):
    channel = connect_local(tenancy.shared_channel, make_mailbox("reconnected", persona="microsoft"), "microsoft")
    settings.BACKFILL_WAIT_SECONDS = 20
    results: list[str] = []
    with channel_lease(channel.pk) as held:  # the reconnect's backfill holds the channel...
        assert held
        worker = threading.Thread(target=lambda: results.append(subscribe_channel(channel.pk)))
        worker.start()
        time.sleep(0.6)
        assert worker.is_alive()  # ...and the subscription waits instead of answering busy
    worker.join(timeout=20)
    assert results and "Graph subscription created" in results[0]
    assert graph_push_healthy(Channel.objects.get(pk=channel.pk))


def test_a_graph_token_refused_while_we_believed_it_valid_is_refreshed_and_tried_again(subscribed, local_provider):
    channel = subscribed()
    # Local mail ends every access token while we still hold them as valid for an hour.
    control.expire_tokens(local_provider, channel.address)
    assert "renewed" in renew_subscription_channel(channel.pk)
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE and channel.consecutive_failures == 0


def _graph_token_of(channel: Channel) -> str:
    return str(crypto.decrypt_json(GraphSubscription.objects.get(channel=channel).token_ciphertext)["access_token"])


def _due(channel: Channel, *, graph: bool = False, imap: bool = False) -> None:
    """Makes our own copy of a token look expired, so the next use refreshes it (Local mail's stays valid)."""
    past = (timezone.now() - timezone.timedelta(minutes=1)).isoformat()
    if graph:
        sub = GraphSubscription.objects.get(channel=channel)
        held = crypto.decrypt_json(sub.token_ciphertext)
        GraphSubscription.objects.filter(pk=sub.pk).update(
            token_ciphertext=crypto.encrypt_json({**held, "expires_at": past})
        )
    if imap:
        held = channel_credentials(Channel.objects.get(pk=channel.pk))
        channel_store_credentials(channel=channel, credentials=replace(held, expires_at=timezone.now()))


def test_renewals_and_syncs_refreshing_their_tokens_in_turn_never_end_the_others(subscribed, local_provider):
    """Issue 14: one refresh token, one access token per resource. Each refresh (Graph's at a renewal,
    the mailbox's at a sync) leaves the other's token working and stored, and keeps the newest refresh
    token; the channel never needs reauthorization."""
    channel = subscribed()
    for _ in range(2):
        imap_token = channel_credentials(Channel.objects.get(pk=channel.pk)).access_token
        _due(channel, graph=True)
        assert "renewed" in renew_subscription_channel(channel.pk)  # a Graph refresh...
        assert channel_credentials(Channel.objects.get(pk=channel.pk)).access_token == imap_token
        assert ": ok" in push_sync_channel(channel.pk)  # ...and the IMAP token it left opens the mailbox
        assert channel_credentials(Channel.objects.get(pk=channel.pk)).access_token == imap_token  # at once

        graph_token = _graph_token_of(channel)
        _due(channel, imap=True)
        assert ": ok" in push_sync_channel(channel.pk)  # an IMAP refresh...
        assert channel_credentials(Channel.objects.get(pk=channel.pk)).access_token != imap_token
        assert "renewed" in renew_subscription_channel(channel.pk)  # ...and the Graph token it left renews
        assert _graph_token_of(channel) == graph_token  # with no second refresh
    channel.refresh_from_db()
    assert (channel.status, channel.consecutive_failures) == (ChannelStatus.ACTIVE, 0)
    assert not channel.notifications.exists()
    # The stored refresh token is one Local mail still honours (the newest it issued).
    state = control.token_state(local_provider, channel.address)
    assert control.newest_still_live(state)["refresh"]
    assert get_provider("microsoft").refresh(channel_credentials(channel)).access_token
