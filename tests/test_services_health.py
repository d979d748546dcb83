"""Health against the real local provider: auth failures, outages, configuration errors, recovery."""

import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from channels_app.models import Channel, ChannelEvent, ChannelStatus, Notification, NotificationKind, ReasonCode, Role
from channels_app.providers import Credentials
from channels_app.services import operations
from channels_app.services.credentials import channel_credentials, channel_store_credentials
from channels_app.services.health import CheckOutcome, channel_mark_for_reauthorization, run_check
from channels_app.services.lease import channel_lease
from channels_app.services.operations import probe
from channels_app.tasks import keep_alive_channel, probe_channel, renew_subscription_channel, sync_channel
from localprovider import control
from tests.network_fakes import drop_on_login, listening, turn_away

pytestmark = pytest.mark.local_provider


@pytest.fixture
def shared(tenancy, make_mailbox, connect_local, make_user, make_company_membership, make_workspace_membership):
    """The shared channel, connected for real; plus a workspace admin, so there are two people to alert."""
    mailbox = make_mailbox("support")
    channel = connect_local(tenancy.shared_channel, mailbox)
    ws_admin = make_user("wsadmin@acme.test")
    make_company_membership(user=ws_admin, company=tenancy.company)
    make_workspace_membership(user=ws_admin, workspace=tenancy.workspace, role=Role.ADMIN)
    mail.outbox.clear()
    return channel, mailbox, ws_admin


def _reload(channel: Channel) -> Channel:
    return Channel.objects.get(pk=channel.pk)


def _allow_next_attempt(channel: Channel) -> None:
    Channel.objects.filter(pk=channel.pk).update(next_attempt_at=None)


def test_revoked_access_marks_needs_reauth_in_the_same_pass_and_alerts_exactly_the_admins(
    tenancy, shared, local_provider, django_capture_on_commit_callbacks
):
    channel, mailbox, ws_admin = shared
    control.revoke_tokens(local_provider, mailbox.address)
    with django_capture_on_commit_callbacks(execute=True):
        result = sync_channel(channel.pk)
    assert "auth_failure" in result
    channel = _reload(channel)
    assert channel.status == ChannelStatus.NEEDS_REAUTH
    assert (channel.status_reason, channel.reason_code) == (ReasonCode.REVOKED.text, ReasonCode.REVOKED)
    alerted = set(Notification.objects.filter(channel=channel, kind="needs_reauth").values_list("recipient", flat=True))
    assert alerted == {tenancy.admin.pk, ws_admin.pk}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([tenancy.admin.email, ws_admin.email])
    assert all(f"/settings/channels/{channel.pk}/settings/" in m.body for m in mail.outbox)
    event = ChannelEvent.objects.get(channel=channel, to_status="needs_reauth")
    assert event.cause == "sync task"


def test_needs_reauth_is_not_logged_into_on_every_poll_and_never_alerts_twice(
    shared, local_provider, django_capture_on_commit_callbacks
):
    channel, mailbox, _ = shared
    control.revoke_tokens(local_provider, mailbox.address)
    with django_capture_on_commit_callbacks(execute=True):
        sync_channel(channel.pk)
        assert "skipped" in probe_channel(channel.pk)  # the slow check is not due yet
        _allow_next_attempt(channel)
        assert "auth_failure" in probe_channel(channel.pk)  # the slow check ran: still refused
    assert Notification.objects.filter(channel=channel).count() == 2
    assert len(mail.outbox) == 2
    assert _reload(channel).next_attempt_at > timezone.now() + timedelta(minutes=50)


def test_a_blocked_channel_is_not_logged_into_on_every_poll_and_alerts_once_per_incident(
    tenancy, shared, make_mailbox, connect_local, local_provider, django_capture_on_commit_callbacks
):
    _, _, ws_admin = shared
    mailbox = make_mailbox("blocked", persona="google")
    channel = connect_local(tenancy.shared_channel, mailbox, "gmail")
    control.force_answer(local_provider, mailbox.address, "imap", "imap_disabled")  # Gmail's policy refusal
    with django_capture_on_commit_callbacks(execute=True):
        assert "policy_failure" in sync_channel(channel.pk)
        assert "skipped" in probe_channel(channel.pk)  # the slow check is not due yet
        _allow_next_attempt(channel)
        assert "policy_failure" in probe_channel(channel.pk)  # the slow check ran: still blocked
    blocked = Notification.objects.filter(channel=channel, kind=NotificationKind.BLOCKED)
    assert sorted(blocked.values_list("recipient", flat=True)) == sorted([tenancy.admin.pk, ws_admin.pk])
    assert len(mail.outbox) == 2
    assert ChannelEvent.objects.filter(channel=channel, to_status=ChannelStatus.BLOCKED).count() == 1
    assert _reload(channel).next_attempt_at > timezone.now() + timedelta(minutes=50)
    # The administrator lifts the block, and later blocks again: a new incident, told again.
    control.clear_answers(local_provider, mailbox.address)
    _allow_next_attempt(channel)
    with django_capture_on_commit_callbacks(execute=True):
        assert "ok" in probe_channel(channel.pk)
    assert _reload(channel).status == ChannelStatus.ACTIVE
    control.force_answer(local_provider, mailbox.address, "imap", "imap_disabled")
    _allow_next_attempt(channel)
    with django_capture_on_commit_callbacks(execute=True):
        assert "policy_failure" in probe_channel(channel.pk)
    assert blocked.count() == 4
    assert blocked.filter(resolved_at__isnull=True).count() == 2
    control.clear_answers(local_provider, mailbox.address)


def test_individual_inbox_alerts_only_its_owner(tenancy, make_mailbox, connect_local, local_provider):
    mailbox = make_mailbox("me")
    channel = connect_local(tenancy.member_channel, mailbox)
    control.revoke_tokens(local_provider, mailbox.address)
    probe_channel(channel.pk)
    assert list(Notification.objects.values_list("recipient", flat=True)) == [tenancy.member.pk]


def test_an_outage_asks_nobody_to_reauthorize_then_shows_unreachable_and_recovers(
    tenancy, shared, provider_servers, settings, django_capture_on_commit_callbacks
):
    channel, _, ws_admin = shared
    control.stop_imap(provider_servers)
    with django_capture_on_commit_callbacks(execute=True):
        assert "passing_failure" in sync_channel(channel.pk)
    channel = _reload(channel)
    assert channel.status == ChannelStatus.ACTIVE and channel.failing_since is not None
    assert not Notification.objects.exists() and not mail.outbox
    # The outage outlasts the grace period.
    Channel.objects.filter(pk=channel.pk).update(failing_since=timezone.now() - timedelta(minutes=31))
    _allow_next_attempt(channel)
    with django_capture_on_commit_callbacks(execute=True):
        sync_channel(channel.pk)
        _allow_next_attempt(channel)
        sync_channel(channel.pk)  # still down: no second notice
    assert _reload(channel).status == ChannelStatus.UNREACHABLE
    assert Notification.objects.filter(kind=NotificationKind.UNREACHABLE).count() == 2
    assert not Notification.objects.filter(kind=NotificationKind.NEEDS_REAUTH).exists()
    control.start_imap(provider_servers)
    _allow_next_attempt(channel)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert "ok" in sync_channel(channel.pk)
    channel = _reload(channel)
    assert channel.status == ChannelStatus.ACTIVE and channel.failing_since is None
    assert Notification.objects.filter(kind=NotificationKind.RECOVERED).count() == 2
    assert not Notification.objects.filter(kind=NotificationKind.UNREACHABLE, resolved_at__isnull=True).exists()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([tenancy.admin.email, ws_admin.email])


def test_authorization_server_down_is_not_an_auth_failure(shared, provider_servers):
    channel, _, _ = shared
    control.stop_http(provider_servers)  # Dovecot cannot introspect tokens: [UNAVAILABLE]
    assert "passing_failure" in probe_channel(channel.pk)
    expired = channel_credentials(channel)
    channel_store_credentials(
        channel=channel,
        credentials=Credentials(
            access_token=expired.access_token, refresh_token=expired.refresh_token, expires_at=timezone.now()
        ),
    )
    _allow_next_attempt(channel)
    assert "passing_failure" in probe_channel(channel.pk)  # the refresh cannot reach the token endpoint
    assert _reload(channel).status == ChannelStatus.ACTIVE
    assert not Notification.objects.exists()


def test_wrong_client_secret_notifies_staff_and_company_admins_once(
    tenancy, shared, settings, make_user, django_capture_on_commit_callbacks
):
    channel, _, ws_admin = shared
    staff = make_user("staff@example.test", is_staff=True)
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "local": {**settings.MAIL_PROVIDERS["local"], "CLIENT_SECRET": "wrong"},
    }
    current = channel_credentials(channel)
    channel_store_credentials(
        channel=channel,
        credentials=Credentials(
            access_token=current.access_token, refresh_token=current.refresh_token, expires_at=timezone.now()
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert "configuration_failure" in keep_alive_channel(channel.pk)
        _allow_next_attempt(channel)
        keep_alive_channel(channel.pk)
    told = set(Notification.objects.filter(kind=NotificationKind.CONFIGURATION).values_list("recipient", flat=True))
    assert told == {tenancy.admin.pk, staff.pk}
    assert ws_admin.pk not in told
    assert len(mail.outbox) == 2
    assert _reload(channel).status == ChannelStatus.ACTIVE


def test_keep_alive_refreshes_and_stores_the_rotated_refresh_token(shared):
    channel, _, _ = shared
    before = channel_credentials(channel)
    assert "ok" in keep_alive_channel(channel.pk)
    after = channel_credentials(_reload(channel))
    assert after.refresh_token != before.refresh_token
    assert after.access_token != before.access_token
    assert "ok" in probe_channel(channel.pk)


def test_a_token_unused_for_too_long_is_reported_as_expired_from_disuse(shared, local_provider):
    channel, mailbox, _ = shared
    control.revoke_tokens(local_provider, mailbox.address)  # what Google does after 6 months of disuse
    Channel.objects.filter(pk=channel.pk).update(token_refreshed_at=timezone.now() - timedelta(days=200))
    keep_alive_channel(channel.pk)
    channel = _reload(channel)
    assert (channel.status, channel.reason_code) == (ChannelStatus.NEEDS_REAUTH, ReasonCode.DISUSE)
    assert channel.status_reason == ReasonCode.DISUSE.text


def test_a_refused_subscription_renewal_says_so(shared, local_provider):
    channel, mailbox, _ = shared
    control.revoke_tokens(local_provider, mailbox.address)
    renew_subscription_channel(channel.pk)
    assert _reload(channel).reason_code == ReasonCode.SUBSCRIPTION


def test_renewal_records_when_it_succeeded(shared):
    channel, _, _ = shared
    assert "ok" in renew_subscription_channel(channel.pk)
    assert _reload(channel).subscription_renewed_at is not None


def test_slow_check_notices_when_access_comes_back_on_its_own(
    tenancy, make_mailbox, local_provider, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    mailbox = make_mailbox("pw")
    local = {"host": "127.0.0.1", "port": local_provider.imap_port}
    client = tenancy.client_for(tenancy.member)
    client.post(
        reverse("personal:add_imap_channel"),
        {
            "address": mailbox.address,
            "host": local["host"],
            "port": local["port"],
            "username": mailbox.address,
            "password": mailbox.password,
            "security": "none",
            "confirm_unencrypted": "on",
        },
    )
    channel = Channel.objects.get(address=mailbox.address)
    control.set_password(local_provider, mailbox.address, "temporarily-different")
    probe_channel(channel.pk)
    assert _reload(channel).status == ChannelStatus.NEEDS_REAUTH
    control.set_password(local_provider, mailbox.address, mailbox.password)
    _allow_next_attempt(channel)
    with django_capture_on_commit_callbacks(execute=True):
        assert "ok" in probe_channel(channel.pk)
    assert _reload(channel).status == ChannelStatus.ACTIVE
    assert Notification.objects.get(kind=NotificationKind.NEEDS_REAUTH).resolved_at is not None
    assert Notification.objects.filter(kind=NotificationKind.RECOVERED, recipient=tenancy.member).count() == 1


def test_a_channel_held_by_another_worker_is_skipped(shared):
    channel, _, _ = shared
    with channel_lease(channel.pk, seconds=60) as owner:
        assert owner is not None
        assert run_check(channel.pk, probe, cause="test").outcome == "busy"
    assert run_check(channel.pk, probe, cause="test").outcome == "ok"


def test_sync_imports_new_messages_once(shared, local_provider):
    channel, mailbox, _ = shared
    messages = [control.make_message(recipient=mailbox.address, subject=f"Order {i}") for i in range(3)]
    control.append_messages(local_provider, mailbox.address, messages)
    assert "imported 3" in sync_channel(channel.pk)
    assert "imported 0" in sync_channel(channel.pk)
    channel = _reload(channel)
    assert sorted(channel.messages.values_list("subject", flat=True)) == ["Order 0", "Order 1", "Order 2"]
    assert channel.folders.get(name="INBOX").last_uid == 3 and channel.last_synced_at is not None


@pytest.fixture
def three_channels(tenancy, make_mailbox, connect_local, make_inbox, make_channel, make_user, local_provider):
    """Three connected channels in pk order: one whose sync will crash, one revoked, one with new mail."""
    staff = make_user("staff@ourapp.test", is_staff=True)
    crashing = connect_local(tenancy.shared_channel, make_mailbox("crash"))
    revoked_box = make_mailbox("revoked")
    revoked = connect_local(tenancy.member_channel, revoked_box)
    fresh_box = make_mailbox("fresh")
    fresh = connect_local(make_channel(inbox=make_inbox(workspace=tenancy.workspace)), fresh_box)
    control.revoke_tokens(local_provider, revoked_box.address)
    messages = [control.make_message(recipient=fresh_box.address, subject=f"New {i}") for i in range(2)]
    control.append_messages(local_provider, fresh_box.address, messages)
    mail.outbox.clear()
    return crashing, revoked, fresh, staff


SECRET = "Re: invoice 4711 for alice@customer.test"


def _crash_on(monkeypatch, channel: Channel) -> None:
    """A bug of ours, raised with text taken from a customer's mail."""
    real_sync = operations.sync

    def sync(target: Channel) -> str:
        if target.pk == channel.pk:
            raise KeyError(SECRET)
        return real_sync(target)

    monkeypatch.setattr(operations, "sync", sync)


def test_a_crash_is_recorded_on_its_channel_and_the_pass_goes_on_to_the_others(
    three_channels, monkeypatch, caplog, capsys, django_capture_on_commit_callbacks
):
    crashing, revoked, fresh, staff = three_channels
    _crash_on(monkeypatch, crashing)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("sync_channels")
    out = capsys.readouterr().out
    assert f"[{crashing.pk}] {crashing.address}: crashed — stopped by an internal error (KeyError)" in out
    assert "3 channel(s) done." in out
    assert _reload(revoked).status == ChannelStatus.NEEDS_REAUTH
    assert sorted(_reload(fresh).messages.values_list("subject", flat=True)) == ["New 0", "New 1"]

    crashed = _reload(crashing)
    assert crashed.status == ChannelStatus.ACTIVE and crashed.reason_code == ReasonCode.CRASH
    assert (crashed.last_error_code, crashed.last_error) == (
        "crash: KeyError",
        "Stopped by an internal error (KeyError).",
    )
    assert crashed.next_attempt_at > timezone.now()
    event = ChannelEvent.objects.get(channel=crashing)
    assert (event.from_status, event.to_status, event.cause) == ("active", "active", "sync task")
    assert event.reason == "Stopped by an internal error (KeyError); our staff were told."
    told = Notification.objects.get(channel=crashing)
    assert (told.kind, told.recipient, told.resolved_at) == (NotificationKind.CRASH, staff, None)
    assert "KeyError" in told.message and "sync task" in told.message
    [email] = [m for m in mail.outbox if m.to == [staff.email]]
    assert crashing.address in email.subject
    everything = [told.message, email.subject, email.body, crashed.status_reason, crashed.last_error, out]
    assert not any("4711" in text for text in everything)
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert logged.exc_info is not None and logged.exc_info[0] is KeyError  # the traceback is ours to read

    # The same bug again: backed off further, but no second event and nobody told twice.
    _allow_next_attempt(crashing)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert "crashed" in sync_channel(crashing.pk)
    assert _reload(crashing).consecutive_failures == 2
    assert ChannelEvent.objects.filter(channel=crashing).count() == 1
    assert Notification.objects.filter(channel=crashing).count() == 1 and not mail.outbox

    # Fixed: the next success ends the incident.
    monkeypatch.undo()
    _allow_next_attempt(crashing)
    assert "ok" in sync_channel(crashing.pk)
    crashed = _reload(crashing)
    assert (crashed.reason_code, crashed.last_error_code, crashed.next_attempt_at) == ("", "", None)
    assert crashed.status_reason == "Working again after an internal error."
    assert Notification.objects.get(channel=crashing).resolved_at is not None
    assert ChannelEvent.objects.filter(channel=crashing).count() == 2


def test_a_crash_on_a_channel_needing_reauthorization_keeps_its_status_and_slow_check(
    shared, local_provider, monkeypatch, settings
):
    channel, mailbox, _ = shared
    control.revoke_tokens(local_provider, mailbox.address)
    sync_channel(channel.pk)
    _allow_next_attempt(channel)
    _crash_on(monkeypatch, channel)
    assert "crashed" in sync_channel(channel.pk)
    channel = _reload(channel)
    assert channel.status == ChannelStatus.NEEDS_REAUTH
    assert channel.next_attempt_at > timezone.now() + timedelta(minutes=settings.SLOW_CHECK_MINUTES - 1)
    event = ChannelEvent.objects.filter(channel=channel).first()
    assert (event.from_status, event.to_status) == ("needs_reauth", "needs_reauth")
    assert not Notification.objects.filter(kind=NotificationKind.CRASH).exists()  # no staff to tell here


@pytest.mark.parametrize("behaviour", [drop_on_login, turn_away], ids=["dropped_at_login", "bye_greeting"])
def test_a_server_that_hangs_up_at_login_or_turns_us_away_never_asks_for_reauthorization(
    tenancy, allow_port, behaviour, django_capture_on_commit_callbacks
):
    channel = tenancy.shared_channel
    with listening(behaviour) as server:
        channel.provider, channel.imap_host, channel.imap_port = "imap", "127.0.0.1", allow_port(server.port)
        channel.imap_security, channel.imap_username = "none", channel.address
        channel.save()
        channel_store_credentials(channel=channel, credentials=Credentials(password="pw"))
        with django_capture_on_commit_callbacks(execute=True):
            result = run_check(channel.pk, probe, cause="probe task")
    assert result.outcome == CheckOutcome.PASSING_FAILURE
    channel = _reload(channel)
    assert channel.status == ChannelStatus.ACTIVE and channel.consecutive_failures == 1
    assert not Notification.objects.filter(channel=channel, kind=NotificationKind.NEEDS_REAUTH).exists()


def test_a_sync_that_finds_nothing_new_still_counts_as_a_sync(shared, local_provider):
    """The safety-net poll beside IDLE counts from the last sync, and most syncs find nothing."""
    channel, _, _ = shared
    sync_channel(channel.pk)
    Channel.objects.filter(pk=channel.pk).update(last_synced_at=timezone.now() - timedelta(hours=1))
    assert "imported 0" in sync_channel(channel.pk)
    assert timezone.now() - _reload(channel).last_synced_at < timedelta(minutes=1)


STAFF_ASKED = "Our support team asked for this channel to be reauthorized."


def test_a_staff_request_tells_people_that_our_support_asked_and_no_probe_undoes_it(shared, tenancy):
    channel, _mailbox, _ws_admin = shared
    channel_mark_for_reauthorization(channel=channel, actor=tenancy.admin)
    alert = Notification.objects.get(recipient=tenancy.admin, kind=NotificationKind.NEEDS_REAUTH)
    assert alert.message == f"The channel {channel.address} needs to be reauthorized. {STAFF_ASKED}"
    assert "revoked" not in alert.email_body and STAFF_ASKED in alert.email_body
    # The credentials still work: the slow check's success leaves support's request in place.
    assert ": ok" in probe_channel(channel.pk, respect_backoff=False)
    after = _reload(channel)
    assert (after.status, after.reason_code, after.status_reason) == (
        ChannelStatus.NEEDS_REAUTH,
        ReasonCode.STAFF_REQUEST,
        STAFF_ASKED,
    )
    assert Notification.objects.get(pk=alert.pk).resolved_at is None


def test_a_refusal_after_a_staff_request_keeps_saying_that_our_support_asked(shared, tenancy, local_provider):
    channel, mailbox, _ws_admin = shared
    channel_mark_for_reauthorization(channel=channel, actor=tenancy.admin)
    control.revoke_tokens(local_provider, mailbox.address)
    assert "auth_failure" in probe_channel(channel.pk, respect_backoff=False)
    assert _reload(channel).status_reason == STAFF_ASKED
