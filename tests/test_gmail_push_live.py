"""Gmail push end to end against Local mail: the watch at connect and renewal, a delivery pushed (signed,
verified) to our webhook and stored within seconds, a history id Gmail forgot, refused renewals of each
class, and a push racing a poll. Tasks run inline, so a push's import happens inside its request."""

import json
import threading
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.models import Channel, ChannelStatus, GmailWatch, Message, Notification, NotificationKind
from channels_app.providers.gmail.delegation import SCOPE, parse_key_file
from channels_app.providers.recorded import recorded_entries
from channels_app.services.connect import channel_create
from channels_app.services.organisation_channels import organisation_channel_create
from channels_app.services.organisation_connections import google_key_save
from channels_app.services.organisation_health import organisation_test
from channels_app.services.organisation_tokens import forget_tokens
from channels_app.tasks import gmail_push_channel, renew_subscription_channel, sync_channel
from localprovider import control
from tests.failure_expectations import assert_meaning
from tests.gmail_push_fixtures import wait_for
from tests.provider_fixtures import tokens_for

pytestmark = [pytest.mark.local_provider, pytest.mark.django_db(transaction=True)]


def _deliver(instance, address, count=1, subject="Pushed"):
    messages = [control.make_message(recipient=address, subject=f"{subject} {n}") for n in range(count)]
    return control.append_messages(instance, address, messages)


def _stored(channel: Channel) -> int:
    return Message.objects.filter(channel=channel).count()


def test_a_watch_is_made_at_connect(gmail_push_on, local_provider, make_mailbox, tenancy):
    mailbox = make_mailbox(persona="google")
    channel = channel_create(
        actor=tenancy.admin,
        workspace=tenancy.workspace,
        inbox_name="Sales",
        provider="gmail",
        address=mailbox.address,
        credentials=tokens_for(local_provider, mailbox, "gmail"),
    )
    assert GmailWatch.objects.filter(channel=channel).exists()
    assert control.gmail_watch(local_provider, mailbox.address)["topic"] == gmail_push_on.topic


def test_a_delivery_is_pushed_and_stored_within_seconds(gmail_push_on, local_provider, gmail_channel):
    channel, address = gmail_channel()
    renew_subscription_channel(channel.pk)
    sync_channel(channel.pk)
    before = _stored(channel)
    _deliver(local_provider, address, 2)
    assert wait_for(lambda: _stored(channel) == before + 2, seconds=5)
    watch = GmailWatch.objects.get(channel=channel)
    assert watch.pushes == 1 and watch.history_id > 0
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE


def test_a_history_id_gmail_forgot_means_a_full_incremental_sync_not_a_gap(
    gmail_push_on, local_provider, gmail_channel
):
    channel, address = gmail_channel()
    renew_subscription_channel(channel.pk)
    sync_channel(channel.pk)
    control.delete_push_subscriptions(local_provider, gmail_push_on.topic)  # this delivery is not pushed
    _deliver(local_provider, address, 3, subject="While history was lost")
    current = control.forget_history(local_provider, address)
    result = gmail_push_channel(channel.pk, current)
    assert "too old for Gmail: full incremental sync" in result, result
    assert Message.objects.filter(channel=channel, subject__startswith="While history was lost").count() == 3
    assert GmailWatch.objects.get(channel=channel).history_id == current


def test_a_push_announcing_no_new_message_costs_no_login(gmail_push_on, local_provider, gmail_channel):
    channel, _address = gmail_channel()
    renew_subscription_channel(channel.pk)
    watch = GmailWatch.objects.get(channel=channel)
    result = gmail_push_channel(channel.pk, watch.history_id + 1)
    assert "no new messages" in result, result


@pytest.mark.parametrize(
    "name", ["invalid_credentials_401", "topic_permission_denied_403", "invalid_topic_400", "backend_error_500"]
)
def test_a_renewal_refused_by_local_mail_sets_the_channel_and_alerts_the_right_people(
    name, gmail_push_on, local_provider, gmail_channel, people
):
    channel, address = gmail_channel()
    control.force_answer(local_provider, address, "watch", name)
    result = renew_subscription_channel(channel.pk)
    assert_meaning(channel, recorded_entries("gmail", "watch")[name]["expect"], people, result)


def test_a_renewal_after_the_grant_was_revoked_needs_reauthorization_for_the_subscription(
    gmail_push_on, local_provider, gmail_channel, people
):
    channel, address = gmail_channel()
    renew_subscription_channel(channel.pk)
    control.revoke_tokens(local_provider, address)
    result = renew_subscription_channel(channel.pk)
    assert "auth_failure" in result, result
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_REAUTH and channel.reason_code == "subscription"
    assert channel.last_error_code == "invalid_grant"


def test_a_push_and_a_poll_racing_neither_lose_nor_double_a_message(gmail_push_on, local_provider, gmail_channel):
    channel, address = gmail_channel()
    renew_subscription_channel(channel.pk)
    sync_channel(channel.pk)
    before = _stored(channel)
    done = threading.Event()

    def deliver() -> None:
        try:
            for n in range(12):
                _deliver(local_provider, address, 1, subject=f"Race {n}")
        finally:
            done.set()

    thread = threading.Thread(target=deliver)
    thread.start()
    while not done.is_set():
        sync_channel(channel.pk, respect_backoff=False)
    thread.join()
    assert wait_for(lambda: _stored(channel) == before + 12, seconds=10), _stored(channel)
    subjects = list(
        Message.objects.filter(channel=channel, subject__startswith="Race").values_list("subject", flat=True)
    )
    assert sorted(subjects) == sorted(f"Race {n} 0" for n in range(12))


def test_a_lapsed_watch_is_not_healthy_and_the_channel_is_polled(gmail_push_on, local_provider, gmail_channel):
    from channels_app.push_health import push_healthy

    channel, _address = gmail_channel()
    renew_subscription_channel(channel.pk)
    assert push_healthy(channel)
    GmailWatch.objects.filter(channel=channel).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert not push_healthy(channel)


def test_disconnecting_stops_the_watch(gmail_push_on, local_provider, gmail_channel, tenancy):
    from channels_app.services.connect import channel_disconnect

    channel, address = gmail_channel()
    renew_subscription_channel(channel.pk)
    assert control.gmail_watch(local_provider, address) is not None
    channel_disconnect(channel=channel, actor=tenancy.admin)
    assert control.gmail_watch(local_provider, address) is None
    assert not GmailWatch.objects.filter(channel=channel).exists()


def test_the_demo_watches_its_gmail_channels_and_subscribes_its_webhook(gmail_push_on, local_provider, gmail_channel):
    from channels_app.demo_push import demo_gmail_push

    channel, address = gmail_channel()
    line = demo_gmail_push(local_provider, "127.0.0.1:9529")
    # The other Gmail channel of the tenancy has no real tokens: its watch is refused.
    assert "1 of 2 Gmail channel(s) watched" in line
    assert control.gmail_watch(local_provider, address)["topic"] == gmail_push_on.topic


def test_a_poll_that_finds_mail_no_push_announced_tells_staff_once(
    gmail_push_on, local_provider, gmail_channel, people
):
    channel, address = gmail_channel()
    renew_subscription_channel(channel.pk)
    sync_channel(channel.pk)
    control.delete_push_subscriptions(local_provider, gmail_push_on.topic)  # the subscription was deleted
    GmailWatch.objects.filter(channel=channel).update(created_at=timezone.now() - timedelta(hours=5))
    arrived = timezone.now() - timedelta(minutes=20)
    message = control.make_message(recipient=address, subject="Unannounced")
    control.append_messages(local_provider, address, [message], arrived=arrived)
    sync_channel(channel.pk, respect_backoff=False)
    sync_channel(channel.pk, respect_backoff=False)
    told = Notification.objects.filter(channel=channel, kind=NotificationKind.PUSH_SILENT)
    assert {n.recipient.email for n in told} == people["staff"]
    assert Message.objects.filter(channel=channel, subject="Unannounced").exists()


def test_a_channel_through_the_organisation_connection_is_watched_and_pushed_too(
    gmail_push_on, local_provider, make_mailbox, tenancy
):
    """Its watch and the Gmail API calls use the token minted through the company's delegation."""
    account = control.create_service_account(local_provider, f"inbox-{uuid.uuid4().hex[:6]}")
    connection = google_key_save(company=tenancy.company, key=parse_key_file(json.dumps(account)))
    control.grant_delegation(local_provider, "acme.test", account["client_id"], SCOPE)
    mailbox = make_mailbox(persona="google")
    forget_tokens()
    try:
        assert organisation_test(connection=connection, mailbox=mailbox.address).works  # verifies acme.test
        channel = organisation_channel_create(
            actor=tenancy.admin,
            workspace=tenancy.workspace,
            connection=connection,
            address=mailbox.address,
            inbox_name="",
            import_days=0,
        )
        assert GmailWatch.objects.filter(channel=channel).exists()
        assert control.gmail_watch(local_provider, mailbox.address)["topic"] == gmail_push_on.topic
        sync_channel(channel.pk)
        _deliver(local_provider, mailbox.address, 1)
        assert wait_for(lambda: _stored(channel) == 1, seconds=5)
        assert GmailWatch.objects.get(channel=channel).pushes == 1
    finally:
        forget_tokens()
