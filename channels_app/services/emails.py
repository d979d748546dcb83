"""Notification emails: queued after commit, sent by a task, retried until sent or a day old.

A pass writes the notification (with its email's subject and body) and nothing
more; whether the email went out is recorded on the notification. A mail
server that is down delays emails, never the pass that raised the alert, and
the scheduled retry pass (`tasks.email_retry_pass`) sends them once it is back.
A problem notice resolved before its email went out is not sent at all; a
follow-up (recovered, reconnected with its receipt) always is. Nobody is
emailed an alert of a category they turned off (selectors.alert_email_wanted),
whether they did so before it was raised or while its email waited: the
pop-up and the Notifications page still show it.
"""

import enum
import logging
from collections import Counter
from datetime import timedelta
from functools import partial
from smtplib import SMTPRecipientsRefused

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from channels_app.models import PROBLEM_KINDS, EmailState, Notification
from channels_app.selectors import alert_email_wanted

logger = logging.getLogger(__name__)

GIVE_UP_AFTER = timedelta(days=1)
LONGEST_WAIT = timedelta(hours=1)
# How long one attempt holds an email; a sender that dies mid-attempt lets it go again after this.
SENDING_CLAIM = timedelta(minutes=5)
RETRY_PASS_LIMIT = 200


class EmailOutcome(enum.StrEnum):
    SENT = "sent"
    OBSOLETE = "obsolete"
    OPTED_OUT = "opted_out"
    # This one email was refused; retried with backoff.
    FAILED = "failed"
    # The mail server itself failed (down, disconnected, refused our login): retried with backoff, and
    # the retry pass leaves the rest for its next run instead of waiting on each in turn.
    SERVER_FAILED = "server_failed"
    GAVE_UP = "gave_up"
    # Already sent, being sent by another worker, or not due yet.
    NOT_DUE = "not_due"


def notification_email_queue(notification: Notification) -> None:
    """Send the notification's email once its transaction commits; a queue that is down only leaves it
    to the retry pass. If its recipient wants no email of its kind it is recorded so, and never sent."""
    if not alert_email_wanted(notification.recipient, notification.kind):
        _record_opted_out(notification.pk)
        notification.email_state, notification.email_next_attempt_at = EmailState.OPTED_OUT, None
        return
    transaction.on_commit(partial(_enqueue, notification.pk))


def _record_opted_out(notification_id: int) -> None:
    Notification.objects.filter(pk=notification_id).update(email_state=EmailState.OPTED_OUT, email_next_attempt_at=None)


def _enqueue(notification_id: int) -> None:
    try:
        async_task("channels_app.tasks.send_notification_email", notification_id, task_name=f"email-{notification_id}")
    except Exception:
        logger.exception("Could not queue the email of notification %s; the retry pass will send it", notification_id)


def _retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 … minutes, at most an hour."""
    return min(timedelta(minutes=2 ** min(attempts - 1, 10)), LONGEST_WAIT)


def _server_failed(error: Exception) -> bool:
    # smtplib's errors are OSErrors; only a refused recipient is about this one email.
    return isinstance(error, OSError) and not isinstance(error, SMTPRecipientsRefused)


def notification_email_send(*, notification_id: int) -> EmailOutcome:
    """One attempt at one notification's email, claimed so that no two workers send it; never raises for
    the mail server's sake."""
    now = timezone.now()
    claimed = Notification.objects.filter(
        pk=notification_id, email_state=EmailState.PENDING, email_next_attempt_at__lte=now
    ).update(email_next_attempt_at=now + SENDING_CLAIM)
    notification = Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    if not claimed or notification is None:
        return EmailOutcome.NOT_DUE
    record = Notification.objects.filter(pk=notification_id).update
    if notification.kind in PROBLEM_KINDS and notification.resolved_at is not None:
        record(email_state=EmailState.OBSOLETE, email_next_attempt_at=None)
        return EmailOutcome.OBSOLETE
    if not alert_email_wanted(notification.recipient, notification.kind):  # turned off while it waited
        _record_opted_out(notification_id)
        return EmailOutcome.OPTED_OUT
    attempts = notification.email_attempts + 1
    try:
        send_mail(
            notification.email_subject,
            notification.email_body,
            settings.DEFAULT_FROM_EMAIL,
            [notification.recipient.email],
            fail_silently=False,
        )
    except Exception as error:
        gave_up = now - notification.created_at >= GIVE_UP_AFTER
        logger.warning(
            "Email of notification %s not sent (attempt %s)%s",
            notification_id,
            attempts,
            "; giving up" if gave_up else "",
            exc_info=True,
        )
        record(
            email_attempts=attempts,
            email_last_error=f"{type(error).__name__}: {error}"[:500],
            email_state=EmailState.GAVE_UP if gave_up else EmailState.PENDING,
            email_next_attempt_at=None if gave_up else now + _retry_delay(attempts),
        )
        if gave_up:
            return EmailOutcome.GAVE_UP
        return EmailOutcome.SERVER_FAILED if _server_failed(error) else EmailOutcome.FAILED
    record(
        email_state=EmailState.SENT,
        email_sent_at=timezone.now(),
        email_attempts=attempts,
        email_next_attempt_at=None,
        email_last_error="",
    )
    return EmailOutcome.SENT


def notification_emails_retry() -> str:
    """Send what is due, oldest first; drop problem notices already resolved and emails a day old."""
    now = timezone.now()
    pending = Notification.objects.filter(email_state=EmailState.PENDING)
    outcomes: Counter[EmailOutcome] = Counter()
    outcomes[EmailOutcome.OBSOLETE] = pending.filter(kind__in=PROBLEM_KINDS, resolved_at__isnull=False).update(
        email_state=EmailState.OBSOLETE, email_next_attempt_at=None
    )
    outcomes[EmailOutcome.GAVE_UP] = pending.filter(created_at__lte=now - GIVE_UP_AFTER).update(
        email_state=EmailState.GAVE_UP, email_next_attempt_at=None
    )
    due = pending.filter(email_next_attempt_at__lte=now).order_by("email_next_attempt_at", "pk")
    for notification_id in list(due.values_list("pk", flat=True)[:RETRY_PASS_LIMIT]):
        outcome = notification_email_send(notification_id=notification_id)
        outcomes[outcome] += 1
        if outcome == EmailOutcome.SERVER_FAILED:
            break
    return ", ".join(f"{count} {outcome}" for outcome, count in outcomes.items() if count) or "nothing due"
