"""Notification emails: a mail server that is down delays them, never a pass; each goes out exactly once."""

from datetime import timedelta
from smtplib import SMTPRecipientsRefused, SMTPServerDisconnected
from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage
from django.utils import timezone

from channels_app.models import (
    AlertCategory,
    AlertEmailOptOut,
    Backfill,
    BackfillStatus,
    Channel,
    ChannelStatus,
    EmailState,
    Message,
    Notification,
    NotificationKind,
)
from channels_app.providers import PassingFailure
from channels_app.selectors import popup_alerts
from channels_app.services import emails
from channels_app.services.health import record_passing_failure
from channels_app.services.notifications import (
    notify_follow_up,
    notify_problem,
    resolve_problems,
    staff_recipients,
)
from channels_app.tasks import email_retry_pass, run_batch
from localprovider import control

DOWN = "tests.test_services_emails.MailServerDown"
REFUSES_ONE = "tests.test_services_emails.RefusesOneRecipient"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


class MailServerDown(BaseEmailBackend):
    def send_messages(self, email_messages: list[EmailMessage]) -> int:
        raise SMTPServerDisconnected("Connection unexpectedly closed")


class RefusesOneRecipient(BaseEmailBackend):
    def send_messages(self, email_messages: list[EmailMessage]) -> int:
        for message in email_messages:
            if message.to[0].startswith("refused"):
                raise SMTPRecipientsRefused({message.to[0]: (550, b"No such user")})
            mail.outbox.append(message)
        return len(email_messages)


def _later(monkeypatch, minutes: int) -> None:
    """The emails' clock moves on (everything else keeps real time)."""
    moment = timezone.now() + timedelta(minutes=minutes)
    monkeypatch.setattr(emails, "timezone", SimpleNamespace(now=lambda: moment))


def _states() -> list[tuple[str, str, int]]:
    return sorted(Notification.objects.values_list("recipient__email", "email_state", "email_attempts"))


def _alert(channel: Channel, people, settings, backend: str, capture) -> list[Notification]:
    settings.EMAIL_BACKEND = backend
    with capture(execute=True):
        return notify_problem(channel=channel, kind=NotificationKind.UNREACHABLE, recipients=people)


def test_an_email_the_mail_server_refuses_is_kept_and_retried_with_backoff_until_sent_once(
    tenancy, make_user, settings, monkeypatch, django_capture_on_commit_callbacks
):
    second = make_user("second@acme.test")
    _alert(tenancy.shared_channel, [tenancy.admin, second], settings, DOWN, django_capture_on_commit_callbacks)
    assert _states() == [("admin@acme.test", "pending", 1), ("second@acme.test", "pending", 1)]
    first = Notification.objects.order_by("pk").first()
    assert first.email_last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert timedelta(seconds=50) < first.email_next_attempt_at - timezone.now() <= timedelta(minutes=1)
    assert email_retry_pass() == "nothing due"  # not before a minute is up

    _later(monkeypatch, 1)
    # Still down: the pass tries one and leaves the rest for its next run, each waiting twice as long.
    assert email_retry_pass() == "1 server_failed"
    assert _states() == [("admin@acme.test", "pending", 2), ("second@acme.test", "pending", 1)]

    settings.EMAIL_BACKEND = LOCMEM
    _later(monkeypatch, 5)
    assert email_retry_pass() == "2 sent"
    assert email_retry_pass() == "nothing due"
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@acme.test", "second@acme.test"]
    assert all(m.subject.startswith("The channel support@acme.test cannot be reached") for m in mail.outbox)
    assert _states() == [("admin@acme.test", "sent", 3), ("second@acme.test", "sent", 2)]
    assert all(n.email_sent_at and not n.email_last_error for n in Notification.objects.all())


def test_a_problem_resolved_before_its_email_went_out_is_skipped_but_its_follow_up_is_sent(
    tenancy, settings, monkeypatch, django_capture_on_commit_callbacks
):
    channel = tenancy.shared_channel
    [problem] = _alert(channel, [tenancy.admin], settings, DOWN, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        told = resolve_problems(channel=channel, kinds=(NotificationKind.UNREACHABLE,))
        [follow_up] = notify_follow_up(
            channel=channel, kind=NotificationKind.RECOVERED, recipients=told, text="support@acme.test is back."
        )
    settings.EMAIL_BACKEND = LOCMEM
    _later(monkeypatch, 5)
    assert email_retry_pass() == "1 obsolete, 1 sent"
    assert [m.subject for m in mail.outbox] == ["support@acme.test is back."]
    problem.refresh_from_db()
    follow_up.refresh_from_db()
    assert (problem.email_state, problem.email_sent_at) == (EmailState.OBSOLETE, None)
    assert follow_up.email_state == EmailState.SENT


def test_an_email_unsent_for_a_day_is_given_up(tenancy, settings, monkeypatch, django_capture_on_commit_callbacks):
    [alert] = _alert(tenancy.shared_channel, [tenancy.admin], settings, DOWN, django_capture_on_commit_callbacks)
    Notification.objects.filter(pk=alert.pk).update(created_at=timezone.now() - timedelta(hours=23, minutes=59))
    _later(monkeypatch, 5)
    assert email_retry_pass() == "1 gave_up"
    alert.refresh_from_db()
    assert (alert.email_state, alert.email_attempts, alert.email_next_attempt_at) == (EmailState.GAVE_UP, 1, None)
    assert alert.get_email_state_display() == "Not sent: gave up after a day"


def test_a_refused_recipient_does_not_hold_up_the_others(
    tenancy, make_user, settings, monkeypatch, django_capture_on_commit_callbacks
):
    refused = make_user("refused@acme.test")
    alerts = _alert(
        tenancy.shared_channel, [refused, tenancy.admin], settings, DOWN, django_capture_on_commit_callbacks
    )
    settings.EMAIL_BACKEND = REFUSES_ONE
    _later(monkeypatch, 5)
    assert email_retry_pass() == "1 failed, 1 sent"
    assert [m.to for m in mail.outbox] == [["admin@acme.test"]]
    alerts[0].refresh_from_db()
    assert alerts[0].email_state == EmailState.PENDING and "SMTPRecipientsRefused" in alerts[0].email_last_error


def test_a_queue_that_is_down_leaves_the_email_to_the_retry_pass(
    tenancy, settings, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(emails, "async_task", broker_down)
    [alert] = _alert(tenancy.shared_channel, [tenancy.admin], settings, LOCMEM, django_capture_on_commit_callbacks)
    alert.refresh_from_db()
    assert (alert.email_state, alert.email_attempts, mail.outbox) == (EmailState.PENDING, 0, [])
    assert email_retry_pass() == "1 sent"
    assert [m.to for m in mail.outbox] == [["admin@acme.test"]]


def test_someone_who_turned_a_category_off_gets_the_popup_but_no_email(
    tenancy, make_user, settings, django_capture_on_commit_callbacks
):
    second = make_user("second@acme.test")
    AlertEmailOptOut.objects.create(user=tenancy.admin, category=AlertCategory.STOPPED)
    _alert(tenancy.shared_channel, [tenancy.admin, second], settings, LOCMEM, django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [["second@acme.test"]]
    assert mail.outbox[0].body.endswith(
        "\n\nChoose which alerts also come by email: http://127.0.0.1:8000/settings/personal/notifications/\n"
    )
    assert _states() == [("admin@acme.test", "opted_out", 0), ("second@acme.test", "sent", 1)]
    opted_out = Notification.objects.get(recipient=tenancy.admin)
    assert opted_out.email_next_attempt_at is None
    assert opted_out.get_email_state_display() == "Not sent: turned off by the person"
    assert popup_alerts(tenancy.admin) == [opted_out]
    # Nothing is left for the retry pass to send later.
    assert email_retry_pass() == "nothing due"


def test_turning_one_category_off_leaves_the_others_emailed(tenancy, settings, django_capture_on_commit_callbacks):
    AlertEmailOptOut.objects.create(user=tenancy.admin, category=AlertCategory.SIGN_IN)
    settings.EMAIL_BACKEND = LOCMEM
    channel = tenancy.shared_channel
    with django_capture_on_commit_callbacks(execute=True):
        notify_problem(channel=channel, kind=NotificationKind.NEEDS_REAUTH, recipients=[tenancy.admin])
        told = resolve_problems(channel=channel, kinds=(NotificationKind.NEEDS_REAUTH,))
        notify_follow_up(channel=channel, kind=NotificationKind.RECONNECTED, recipients=told, text="It is back.")
    assert [m.subject for m in mail.outbox] == ["It is back."]
    assert sorted(Notification.objects.values_list("kind", "email_state")) == [
        ("needs_reauth", "opted_out"),
        ("reconnected", "sent"),
    ]


def test_an_email_waiting_for_the_mail_server_is_not_sent_once_its_category_is_turned_off(
    tenancy, settings, monkeypatch, django_capture_on_commit_callbacks
):
    [alert] = _alert(tenancy.shared_channel, [tenancy.admin], settings, DOWN, django_capture_on_commit_callbacks)
    AlertEmailOptOut.objects.create(user=tenancy.admin, category=AlertCategory.STOPPED)
    settings.EMAIL_BACKEND = LOCMEM
    _later(monkeypatch, 5)
    assert email_retry_pass() == "1 opted_out"
    assert mail.outbox == []
    alert.refresh_from_db()
    assert (alert.email_state, alert.email_next_attempt_at) == (EmailState.OPTED_OUT, None)


def test_staff_alerts_follow_each_staff_members_choice(
    tenancy, make_user, settings, django_capture_on_commit_callbacks
):
    quiet = make_user("quiet@staff.test", is_staff=True)
    make_user("loud@staff.test", is_staff=True)
    AlertEmailOptOut.objects.create(user=quiet, category=AlertCategory.STAFF)
    settings.EMAIL_BACKEND = LOCMEM
    with django_capture_on_commit_callbacks(execute=True):
        notify_problem(channel=tenancy.shared_channel, kind=NotificationKind.CRASH, recipients=staff_recipients())
    assert [m.to for m in mail.outbox] == [["loud@staff.test"]]
    assert [n.kind for n in popup_alerts(quiet)] == [NotificationKind.CRASH]


@pytest.mark.local_provider
@pytest.mark.django_db(transaction=True)
def test_a_pass_with_the_mail_server_down_flags_every_channel_and_starts_the_backfill(
    tenancy, make_mailbox, connect_local, make_inbox, make_channel, local_provider, settings, monkeypatch
):
    """Committed for real (as in a worker), so the emails' after-commit work runs inside the pass."""
    first_box, second_box, third_box = make_mailbox("one"), make_mailbox("two"), make_mailbox("three")
    first = connect_local(tenancy.shared_channel, first_box)
    second = connect_local(tenancy.member_channel, second_box)
    recovering = connect_local(make_channel(inbox=make_inbox(workspace=tenancy.workspace)), third_box)
    # The third channel has been unreachable for a while, and its admins were told.
    Channel.objects.filter(pk=recovering.pk).update(failing_since=timezone.now() - timedelta(minutes=31))
    record_passing_failure(recovering, PassingFailure("Connection refused."), cause="sync task")
    assert Channel.objects.get(pk=recovering.pk).status == ChannelStatus.UNREACHABLE
    Channel.objects.filter(pk=recovering.pk).update(next_attempt_at=None)
    control.revoke_tokens(local_provider, first_box.address)
    control.revoke_tokens(local_provider, second_box.address)
    control.append_messages(local_provider, third_box.address, [control.make_message(recipient=third_box.address)])
    already_sent = set(Notification.objects.values_list("pk", flat=True))
    mail.outbox.clear()

    settings.EMAIL_BACKEND = DOWN
    lines = run_batch("sync", [first.pk, second.pk, recovering.pk]).splitlines()
    assert ["auth_failure" in lines[0], "auth_failure" in lines[1], ": ok" in lines[2]] == [True, True, True]
    assert Channel.objects.get(pk=first.pk).status == ChannelStatus.NEEDS_REAUTH
    assert Channel.objects.get(pk=second.pk).status == ChannelStatus.NEEDS_REAUTH
    assert Channel.objects.get(pk=recovering.pk).status == ChannelStatus.ACTIVE
    assert Backfill.objects.get(channel=recovering).status == BackfillStatus.DONE
    assert Message.objects.filter(channel=recovering).count() == 1
    new = Notification.objects.exclude(pk__in=already_sent)
    assert sorted(new.values_list("kind", "recipient__email")) == [
        ("needs_reauth", "admin@acme.test"),
        ("needs_reauth", "member@acme.test"),
        ("recovered", "admin@acme.test"),
    ]
    assert set(new.values_list("email_state", "email_attempts")) == {(EmailState.PENDING, 1)}
    assert not mail.outbox

    settings.EMAIL_BACKEND = LOCMEM
    _later(monkeypatch, 5)
    assert email_retry_pass() == "3 sent"
    assert email_retry_pass() == "nothing due"
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@acme.test", "admin@acme.test", "member@acme.test"]
    assert set(new.values_list("email_state", flat=True)) == {EmailState.SENT}
