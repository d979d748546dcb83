"""A push that stops arriving: one rule for Gmail's watch (gmail_push.py) and Graph's subscription
(graph_push.py).

The scheduled poll (operations.poll) imports whatever push did not bring. Mail it imported that arrived
(INTERNALDATE) after the last announcement and more than PUSH_IN_FLIGHT before the poll, while nothing
was announced for PUSH_SILENCE_MINUTES, is mail the push let through unannounced (a Pub/Sub subscription
deleted, an endpoint moved, notifications Graph stopped sending): the row (GmailWatch, GraphSubscription)
is marked silent, staff are told once, and the channel is polled every pass (push_health.healthy_watches,
selectors.subscriptions.live_subscriptions) until the next announcement clears the mark (push_silence_clear).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from channels_app.models import Channel, ChannelEvent, GmailWatch, GraphSubscription, Message, NotificationKind
from channels_app.services.notifications import notify_problem, resolve_problems, staff_recipients

logger = logging.getLogger(__name__)
# Pub/Sub and Graph deliver within seconds; mail younger than this may still have its announcement on the way.
PUSH_IN_FLIGHT = timedelta(minutes=2)
# The `cause` of the history lines written here.
EVENT_CAUSE = "push health"

# A row through which a provider announces new mail; both have `silent_reported_at` and `channel`.
Row = TypeVar("Row", GmailWatch, GraphSubscription)


@dataclass(frozen=True)
class PushPath:
    """How one provider's push is named in what staff are told, and which mail it announces."""

    announcement: str  # one of them: "Gmail push", "Microsoft Graph notification"
    notifications: str  # all of them, for the email's subject: "Gmail push notifications"
    advice: str  # what staff should check
    # The stored messages it announces (Graph: the Inbox it subscribes to); mail found elsewhere says nothing.
    announces: Q = Q()
    # What found the mail it did not announce.
    found_by: str = "polling"


def push_silence_check(
    channel: Channel,
    *,
    rows: QuerySet[Row],
    quiet_since: Callable[[Row], datetime | None],
    path: PushPath,
    imported_since: datetime,
) -> bool:
    """Report `channel`'s push row (the one of `rows`) silent if this poll found mail it did not announce.

    `quiet_since` says, of the locked row, since when nothing was announced (None: nothing to judge).
    Returns whether it was reported now; a row already reported is not reported again.
    """
    found = Message.objects.filter(path.announces, channel=channel, imported_at__gte=imported_since)
    if not found.exists():
        return False
    now = timezone.now()
    with transaction.atomic():
        row = rows.select_for_update().first()
        since = quiet_since(row) if row is not None else None
        if row is None or row.silent_reported_at is not None or since is None:
            return False
        count = unannounced(found, quiet_since=since, now=now)
        if not count:
            return False
        rows.filter(pk=row.pk).update(silent_reported_at=now)
        report_silent(channel, path, quiet_since=since, count=count)
    return True


def unannounced(found: QuerySet[Message], *, quiet_since: datetime, now: datetime) -> int:
    """How many of `found` (mail a safety-net sync just imported) say the push went silent: none unless it has
    been quiet for PUSH_SILENCE_MINUTES; then the mail that arrived after it last spoke, long enough ago that
    its own announcement would have come by now."""
    if now - quiet_since < timedelta(minutes=settings.PUSH_SILENCE_MINUTES):
        return 0
    return found.filter(internal_date__gt=quiet_since, internal_date__lt=now - PUSH_IN_FLIGHT).count()


def report_silent(channel: Channel, path: PushPath, *, quiet_since: datetime, count: int) -> None:
    """Tell staff (once: the caller marks its row in the same transaction) and write the channel's history."""
    since = f"since {quiet_since:%Y-%m-%d %H:%M} UTC"
    logger.warning(
        "%s of channel %s silent %s while a safety-net sync found mail", path.notifications, channel.pk, since
    )
    notify_problem(
        channel=channel,
        kind=NotificationKind.PUSH_SILENT,
        recipients=staff_recipients(),
        subject=f"{path.notifications} for {channel.address} stopped arriving",
        text=(
            f"No {path.announcement} for {channel.address} {since}, yet {path.found_by} found {count} new "
            f"message(s): {path.advice}. Mail still arrives by polling every minute."
        ),
    )
    _history(channel, f"{path.notifications} silent {since}: {path.found_by} found {count} message(s) none announced")


def push_silence_clear(rows: QuerySet[Row], *, path: PushPath) -> list[int]:
    """An announcement arrived through `rows`: those reported silent are healthy again, their staff
    notice is resolved and their channel's history says so. Returns the channels cleared."""
    cleared = []
    for pk, channel_id in rows.exclude(silent_reported_at=None).values_list("pk", "channel_id"):
        with transaction.atomic():
            # Only the update that clears the mark writes the history line, however many announcements race.
            if not rows.filter(pk=pk).exclude(silent_reported_at=None).update(silent_reported_at=None):
                continue
            channel = Channel.objects.get(pk=channel_id)
            resolve_problems(channel=channel, kinds=(NotificationKind.PUSH_SILENT,))
            _history(channel, f"{path.notifications} arrive again: polling slows to the safety net")
        cleared.append(channel_id)
    return cleared


def _history(channel: Channel, reason: str) -> None:
    # A line in the channel's history, its status what it was (as a reauthorization link's steps).
    status = Channel.objects.only("status").get(pk=channel.pk).status
    ChannelEvent.objects.create(
        channel=channel, from_status=status, to_status=status, reason=reason[:500], cause=EVENT_CAUSE
    )
