"""A push that stops arriving (services/push_silence.py): the rule Gmail's watch and Graph's subscription
share, Graph's use of it (graph_push.poll_found_mail), the clearing by the next notification, the
safety-net poll and the Overview. Gmail's own cases are in test_push_health.py."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from channels_app.models import (
    Channel,
    ChannelEvent,
    ChannelStatus,
    GmailWatch,
    GraphSubscription,
    MailFolder,
    Notification,
    NotificationKind,
)
from channels_app.selectors.due import channels_to_sync
from channels_app.selectors.subscriptions import channels_without_subscription, graph_push_healthy, live_subscriptions
from channels_app.services import gmail_push, graph_push, push_silence

SECRET = "client-state-" + "s" * 60
# The scheduled poll started this long before the frozen moment; what it imported is "found".
POLL = timedelta(minutes=1)
QUIET = timedelta(minutes=60)


@pytest.fixture
def now(monkeypatch) -> datetime:
    """The frozen clock of the rule."""
    moment = timezone.now()
    monkeypatch.setattr(push_silence, "timezone", SimpleNamespace(now=lambda: moment))
    return moment


@pytest.fixture
def queued(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr(graph_push, "async_task", lambda *args, **kw: calls.append(args))
    return calls


@pytest.fixture
def microsoft(tenancy, settings) -> Channel:
    settings.GRAPH_NOTIFICATIONS = True
    settings.PUSH_SILENCE_MINUTES = QUIET.seconds // 60
    settings.PUSH_POLL_INTERVAL_SECONDS = 600
    channel = tenancy.shared_channel
    channel.provider = "microsoft"
    channel.save(update_fields=["provider"])
    return channel


def _subscribe(channel: Channel, now: datetime, *, heard: timedelta | None = timedelta(hours=3), **fields):
    values = {
        "subscription_id": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
        "client_state_digest": hashlib.sha256(SECRET.encode()).hexdigest(),
        "token_ciphertext": "graph-token-ciphertext",
        "expires_at": now + timedelta(days=2),
        "created_at": now - timedelta(days=1),
        "renewed_at": now - timedelta(hours=5),
        "last_notification_at": now - heard if heard is not None else None,
        **fields,
    }
    return GraphSubscription.objects.create(channel=channel, **values)


def _found(make_message, channel: Channel, now: datetime, *, arrived: timedelta, folder: str = "INBOX", **fields):
    """A message the poll imported (unless `imported_at` says otherwise), arrived `arrived` ago."""
    place, _ = MailFolder.objects.get_or_create(channel=channel, name=folder)
    fields.setdefault("imported_at", now - timedelta(seconds=10))
    return make_message(channel=channel, folder=place, internal_date=now - arrived, **fields)


def _poll(channel: Channel, now: datetime) -> None:
    graph_push.poll_found_mail(channel, imported_since=now - POLL)


def _told(channel: Channel):
    return Notification.objects.filter(channel=channel, kind=NotificationKind.PUSH_SILENT)


def _notify(sub: GraphSubscription, **extra: object) -> graph_push.ReceiveOutcome:
    item = {"subscriptionId": sub.subscription_id, "clientState": SECRET, "changeType": "created", **extra}
    return graph_push.notifications_receive({"value": [item]}, lifecycle="lifecycleEvent" in extra)


# --- the rule, for Graph, on a frozen clock ---------------------------------------------------------


@pytest.mark.parametrize(
    ("heard", "arrived", "reported"),
    [
        (QUIET, push_silence.PUSH_IN_FLIGHT + timedelta(seconds=1), True),
        (QUIET - timedelta(seconds=1), timedelta(minutes=10), False),  # not quiet for long enough
        (timedelta(hours=3), push_silence.PUSH_IN_FLIGHT, False),  # its notification may be on the way
        (timedelta(hours=3), timedelta(hours=4), False),  # it arrived before the last notification
    ],
)
def test_inbox_mail_no_notification_announced_is_judged_at_the_edges_of_the_rule(
    microsoft, people, make_message, now, heard, arrived, reported
):
    sub = _subscribe(microsoft, now, heard=heard)
    _found(make_message, microsoft, now, arrived=arrived)
    _poll(microsoft, now)
    sub.refresh_from_db()
    assert (sub.silent_reported_at == now) is reported
    assert _told(microsoft).exists() is reported


def test_a_silent_subscription_is_reported_to_staff_once_without_its_secrets(microsoft, people, make_message, now):
    sub = _subscribe(microsoft, now, heard=timedelta(hours=3))
    _found(make_message, microsoft, now, arrived=timedelta(minutes=20))
    _found(make_message, microsoft, now, arrived=timedelta(minutes=30))
    _poll(microsoft, now)
    _found(make_message, microsoft, now, arrived=timedelta(minutes=5))
    _poll(microsoft, now)
    told = _told(microsoft)
    assert {n.recipient.email for n in told} == people["staff"]
    assert told.count() == len(people["staff"])
    notice = told.get()
    assert notice.message.startswith(f"No Microsoft Graph notification for {microsoft.address} since ")
    assert "polling found 2 new message(s)" in notice.message
    assert notice.email_subject == f"Microsoft Graph notifications for {microsoft.address} stopped arriving"
    for secret in (SECRET, sub.client_state_digest, sub.token_ciphertext):
        assert secret not in notice.message and secret not in notice.email_body
    event = ChannelEvent.objects.get(channel=microsoft)
    assert (event.from_status, event.to_status) == (ChannelStatus.ACTIVE, ChannelStatus.ACTIVE)
    assert event.cause == push_silence.EVENT_CAUSE and "found 2 message(s) none announced" in event.reason
    assert not graph_push_healthy(microsoft)


def test_mail_that_was_not_for_the_inbox_or_not_this_poll_says_nothing(microsoft, people, make_message, now):
    _subscribe(microsoft, now, heard=timedelta(hours=3))
    # Graph announces the Inbox only: mail a rule filed elsewhere never had a notification.
    _found(make_message, microsoft, now, arrived=timedelta(minutes=20), folder="Archive")
    # Imported by an earlier poll: already judged then.
    _found(make_message, microsoft, now, arrived=timedelta(minutes=20), imported_at=now - POLL - timedelta(seconds=1))
    _poll(microsoft, now)
    assert not _told(microsoft).exists()
    assert graph_push_healthy(microsoft)


def test_a_subscription_made_after_the_last_notification_counts_its_quiet_from_its_creation(
    microsoft, people, make_message, now
):
    _subscribe(microsoft, now, heard=timedelta(hours=5), created_at=now - timedelta(minutes=30))
    _found(make_message, microsoft, now, arrived=timedelta(minutes=20))
    _poll(microsoft, now)
    assert not _told(microsoft).exists()


@pytest.mark.parametrize(
    "situation", ["no notifications", "expired", "no subscription id", "delegate", "never subscribed"]
)
def test_a_channel_without_a_subscription_graph_holds_is_not_judged(
    microsoft, people, make_message, now, settings, situation
):
    if situation != "never subscribed":
        _subscribe(
            microsoft,
            now,
            heard=timedelta(hours=3),
            **{
                "expired": {"expires_at": now - timedelta(minutes=1)},
                "no subscription id": {"subscription_id": ""},
            }.get(situation, {}),
        )
    if situation == "no notifications":
        settings.GRAPH_NOTIFICATIONS = False
    if situation == "delegate":
        Channel.objects.filter(pk=microsoft.pk).update(delegate_address="delegate@acme.test")
        microsoft.refresh_from_db()
    _found(make_message, microsoft, now, arrived=timedelta(minutes=20))
    _poll(microsoft, now)
    assert not _told(microsoft).exists()


def test_the_scheduled_poll_asks_graph_too(microsoft, people, make_message, now, monkeypatch):
    from channels_app.services import operations

    _subscribe(microsoft, now, heard=timedelta(hours=3))
    monkeypatch.setattr(operations, "timezone", SimpleNamespace(now=lambda: now - POLL))
    monkeypatch.setattr(
        operations, "sync", lambda channel: str(_found(make_message, channel, now, arrived=timedelta(minutes=20)))
    )
    operations.poll(microsoft)
    assert _told(microsoft).count() == len(people["staff"])


# --- the next notification, the safety-net poll, the Overview ----------------------------------------


def _silenced(microsoft, make_message, now) -> GraphSubscription:
    sub = _subscribe(microsoft, now, heard=timedelta(hours=3))
    _found(make_message, microsoft, now, arrived=timedelta(minutes=20))
    _poll(microsoft, now)
    assert _told(microsoft).exists()
    return sub


def test_the_next_change_notification_makes_it_healthy_and_resolves_the_report(
    microsoft, people, make_message, now, queued
):
    sub = _silenced(microsoft, make_message, now)
    # A lifecycle event says nothing about new mail: it neither clears the report nor restarts the quiet.
    assert _notify(sub, lifecycleEvent="reauthorizationRequired").channel_ids == {microsoft.pk}
    sub.refresh_from_db()
    assert sub.silent_reported_at is not None and sub.last_notification_at == now - timedelta(hours=3)
    assert _told(microsoft).filter(resolved_at=None).exists()

    assert _notify(sub).channel_ids == {microsoft.pk}
    sub.refresh_from_db()
    assert sub.silent_reported_at is None and sub.last_notification_at > now - timedelta(hours=3)
    assert graph_push_healthy(microsoft)
    assert not _told(microsoft).filter(resolved_at=None).exists()
    assert "arrive again" in ChannelEvent.objects.filter(channel=microsoft).first().reason
    _notify(sub)  # and the next one changes nothing more
    assert ChannelEvent.objects.filter(channel=microsoft).count() == 2


def test_a_silent_subscription_is_polled_every_pass_and_still_renewed(microsoft, people, make_message, now):
    healthy = _subscribe(microsoft, now, heard=timedelta(minutes=5))
    Channel.objects.filter(pk=microsoft.pk).update(last_synced_at=timezone.now() - timedelta(minutes=3))
    assert microsoft not in channels_to_sync()
    healthy.delete()
    _silenced(microsoft, make_message, now)
    assert microsoft in channels_to_sync()
    assert not live_subscriptions().exists()
    # Graph still holds it: the renewal pass keeps it rather than making another.
    assert microsoft.pk not in channels_without_subscription()


def _overview(tenancy, user, channel) -> tuple[int, str]:
    page = tenancy.client_for(user).get(f"/settings/channels/{channel.pk}/")
    return page.status_code, page.content.decode()


def test_the_overview_says_polling_when_the_subscription_went_silent(microsoft, people, make_message, now, tenancy):
    _silenced(microsoft, make_message, now)
    for user in (tenancy.admin, tenancy.member):
        status, page = _overview(tenancy, user, microsoft)
        assert status == 200
        assert "Polling: Microsoft Graph notifications went silent; our staff were told" in page
        assert "subscription renews" not in page and "as a safety net" not in page
    assert _overview(tenancy, tenancy.outsider, microsoft)[0] == 404


def test_the_overview_says_graph_notifications_and_the_last_one_while_healthy(microsoft, now, tenancy):
    _subscribe(microsoft, now, heard=timedelta(minutes=5))
    status, page = _overview(tenancy, tenancy.member, microsoft)
    assert status == 200
    assert "Microsoft Graph notifications (subscription renews" in page and "last notification" in page
    assert "went silent" not in page and "as a safety net" in page
    assert _overview(tenancy, tenancy.outsider, microsoft)[0] == 404


# --- one rule for both paths -----------------------------------------------------------------------


@dataclass
class Path:
    channel: Channel
    announce: Callable[[], None]
    healthy: Callable[[], bool]


@pytest.fixture(params=["gmail", "graph"])
def path(request, tenancy, settings, now, queued, django_capture_on_commit_callbacks) -> Path:
    settings.PUSH_SILENCE_MINUTES = QUIET.seconds // 60
    if request.param == "graph":
        channel = request.getfixturevalue("microsoft")
        sub = _subscribe(channel, now, heard=timedelta(hours=3))
        return Path(channel, lambda: _notify(sub) and None, lambda: graph_push_healthy(channel))
    from channels_app.push_health import push_healthy

    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "gmail": {**settings.MAIL_PROVIDERS["gmail"], "PUBSUB_TOPIC": "projects/p/topics/gmail"},
    }
    channel = tenancy.shared_channel
    GmailWatch.objects.create(
        channel=channel, history_id=1, expires_at=now + timedelta(days=6), renewed_at=now, last_push_at=now - QUIET
    )

    def announce() -> None:
        with django_capture_on_commit_callbacks():
            gmail_push.push_received(address=channel.address, history_id=2)

    return Path(channel, announce, lambda: push_healthy(channel))


def test_both_paths_report_once_and_clear_on_the_next_announcement_in_the_channels_history(
    path, people, make_message, now
):
    _found(make_message, path.channel, now, arrived=timedelta(minutes=20))
    for _ in range(2):
        gmail_push.poll_found_mail(path.channel, imported_since=now - POLL)
        graph_push.poll_found_mail(path.channel, imported_since=now - POLL)
    assert _told(path.channel).count() == len(people["staff"])
    assert not path.healthy()
    path.announce()
    path.announce()
    assert path.healthy()
    assert not _told(path.channel).filter(resolved_at=None).exists()
    reasons = list(ChannelEvent.objects.filter(channel=path.channel).values_list("reason", flat=True))
    assert len(reasons) == 2 and "arrive again" in reasons[0] and "silent since" in reasons[1]
