"""Pop-up alerts: dismissing one (hidden for this session only, marked read for good), marking alerts
read from the Notifications page, and closing those a person may no longer see."""

from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone

from channels_app.models import PROBLEM_KINDS, Notification, User
from channels_app.selectors import notification_history

# A list of notification ids, not a set: sessions are serialized as JSON.
DISMISSED_SESSION_KEY = "dismissed_notifications"


def dismissed_alert_ids(session: SessionBase) -> set[int]:
    return set(session.get(DISMISSED_SESSION_KEY, []))


def alert_dismiss(*, notification: Notification, session: SessionBase) -> None:
    """Hide `notification` for the rest of this session and record that it was seen.

    The caller has already checked that the person is its recipient. Dismissing is
    per session on purpose: the problem lasts, so a new sign-in shows it again.
    """
    ids = dismissed_alert_ids(session) | {notification.pk}
    # A resolved notification never pops up again, so forgetting those keeps the session small.
    still_open = Notification.objects.filter(pk__in=ids, resolved_at__isnull=True).values_list("pk", flat=True)
    session[DISMISSED_SESSION_KEY] = sorted(still_open)
    notification_mark_read(notification=notification)


def notification_mark_read(*, notification: Notification) -> None:
    """The caller has checked that the person is its recipient."""
    # Conditional update: the first time it was read wins, and two tabs cannot race.
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())


def notifications_mark_all_read(*, user: User) -> int:
    """Mark read every unread alert the Notifications page lists for the person; returns how many."""
    return notification_history(user).filter(read_at__isnull=True).update(read_at=timezone.now())


def alerts_resolve_unseeable(*, user: User) -> int:
    """Close the person's open alerts about channels they may no longer see (they left a workspace,
    moved to another company, lost their role): nobody should keep being told about a mailbox they
    cannot open. Returns how many were closed."""
    stale = Notification.objects.filter(recipient=user, kind__in=PROBLEM_KINDS, resolved_at__isnull=True).exclude(
        pk__in=notification_history(user).values("pk")
    )
    return stale.update(resolved_at=timezone.now())
