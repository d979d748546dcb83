"""Backfill: after a reconnect, import what arrived while the channel was down, and say so.

The import itself is the ordinary sync (everything above the cursors); a
Backfill row adds what a person sees: progress while it runs, and at the end a
receipt on the Overview tab and in the "reconnected" notice to the people who
had been alerted. An unfinished backfill (its worker died) is simply continued
by the next sync of the channel, which resumes at the cursors.

The receipt counts every message imported since the channel stopped syncing,
whichever task imported it: a scheduled sync that finds the channel working again
imports the missed mail before the backfill it starts has anything left to do.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from channels_app.models import Backfill, BackfillStatus, Channel, NotificationKind, User
from channels_app.selectors.backfill import open_backfill, receipt_text
from channels_app.services.notifications import notify_follow_up
from channels_app.time_zones import zone_for


def backfill_start(
    *,
    channel_id: int,
    actor_id: int | None,
    notify_user_ids: Iterable[int] = (),
    incident_started_at: datetime | None = None,
) -> Backfill:
    """One open backfill per channel: a second reconnect before the first finished joins it.

    `incident_started_at`: when the channel stopped syncing (None: it had not; then the receipt counts
    what this reconnect imports)."""
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=channel_id)
        backfill = open_backfill(channel)
        if backfill is None:
            return Backfill.objects.create(
                channel=channel,
                reconnected_by_id=actor_id,
                notify_user_ids=sorted(set(notify_user_ids)),
                incident_started_at=incident_started_at,
            )
        backfill.reconnected_by_id = actor_id or backfill.reconnected_by_id
        backfill.reconnected_at = timezone.now()
        backfill.notify_user_ids = sorted(set(backfill.notify_user_ids) | set(notify_user_ids))
        backfill.save(update_fields=["reconnected_by", "reconnected_at", "notify_user_ids"])
        return backfill


def backfill_mark_running(backfill: Backfill) -> None:
    now = timezone.now()
    Backfill.objects.filter(pk=backfill.pk, started_at__isnull=True).update(started_at=now)
    Backfill.objects.filter(pk=backfill.pk).update(
        status=BackfillStatus.RUNNING, error="", paused_until=None, progressed_at=now
    )


def backfill_pause(backfill: Backfill, until: datetime) -> None:
    """The daily download budget is used up: the import waits, and says until when."""
    Backfill.objects.filter(pk=backfill.pk).update(paused_until=until)


def backfill_finish(backfill: Backfill) -> str:
    with transaction.atomic():
        Backfill.objects.filter(pk=backfill.pk).update(status=BackfillStatus.DONE, finished_at=timezone.now())
        backfill.refresh_from_db()
        text = receipt_text(backfill)
        channel = backfill.channel
        people = User.objects.filter(pk__in=backfill.notify_user_ids, is_active=True)
        subject = f"{channel.address} was reconnected" + (
            f" by {backfill.reconnected_by}" if backfill.reconnected_by else ""
        )
        for person in people:
            # Each reads the receipt in their own zone, named: an email is read away from the pages' zone note.
            with timezone.override(zone_for(person)):
                own = receipt_text(backfill, name_zone=True)
            notify_follow_up(
                channel=channel, kind=NotificationKind.RECONNECTED, recipients=[person], subject=subject, text=own
            )
    return text


def backfill_fail(backfill: Backfill, reason: str) -> None:
    """Keep the backfill open so a later sync continues it, but show why it stopped."""
    Backfill.objects.filter(pk=backfill.pk).update(error=reason[:500])
