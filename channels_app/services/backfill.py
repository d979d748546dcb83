"""Backfill: after a reconnect, import what arrived while the channel was down, and say so.

The import itself is the ordinary sync (everything above the cursor); a
Backfill row adds what a person sees: progress while it runs, and at the end a
receipt on the Overview tab and in the "reconnected" notice to the people who
had been alerted. An unfinished backfill (its worker died) is simply continued
by the next sync of the channel, which resumes at the cursor.
"""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from channels_app.models import Backfill, BackfillStatus, Channel, NotificationKind, User
from channels_app.services.notifications import notify_follow_up

OPEN = (BackfillStatus.QUEUED, BackfillStatus.RUNNING)


def open_backfill(channel: Channel) -> Backfill | None:
    return Backfill.objects.filter(channel=channel, status__in=OPEN).order_by("reconnected_at").first()


def backfill_start(*, channel_id: int, actor_id: int | None, notify_user_ids: Iterable[int] = ()) -> Backfill:
    """One open backfill per channel: a second reconnect before the first finished joins it."""
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=channel_id)
        backfill = open_backfill(channel)
        if backfill is None:
            return Backfill.objects.create(
                channel=channel, reconnected_by_id=actor_id, notify_user_ids=sorted(set(notify_user_ids))
            )
        backfill.reconnected_by_id = actor_id or backfill.reconnected_by_id
        backfill.reconnected_at = timezone.now()
        backfill.notify_user_ids = sorted(set(backfill.notify_user_ids) | set(notify_user_ids))
        backfill.save(update_fields=["reconnected_by", "reconnected_at", "notify_user_ids"])
        return backfill


def backfill_mark_running(backfill: Backfill) -> None:
    Backfill.objects.filter(pk=backfill.pk, started_at__isnull=True).update(started_at=timezone.now())
    Backfill.objects.filter(pk=backfill.pk).update(status=BackfillStatus.RUNNING, error="")


def _clock(moment) -> str:  # type: ignore[no-untyped-def]
    return timezone.localtime(moment).strftime("%H:%M")


def receipt_text(backfill: Backfill) -> str:
    """ "Reconnected by Dana at 14:03; imported 1,240 messages that arrived between 09:12 and 14:03." """
    who = (
        f"by {backfill.reconnected_by.first_name or backfill.reconnected_by}"
        if backfill.reconnected_by
        else ("automatically")
    )
    head = f"Reconnected {who} at {_clock(backfill.reconnected_at)}"
    if not backfill.imported:
        return f"{head}; no messages were missed."
    noun = "message" if backfill.imported == 1 else "messages"
    text = f"{head}; imported {backfill.imported:,} {noun}"
    if backfill.earliest_message_at and backfill.latest_message_at:
        start, end = backfill.earliest_message_at, backfill.latest_message_at
        if timezone.localtime(start).date() != timezone.localtime(end).date():
            text += f" that arrived between {timezone.localtime(start):%b %-d %H:%M} and {_clock(end)}"
        else:
            text += f" that arrived between {_clock(start)} and {_clock(end)}"
    return text + "."


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
        notify_follow_up(
            channel=channel, kind=NotificationKind.RECONNECTED, recipients=list(people), subject=subject, text=text
        )
    return text


def backfill_fail(backfill: Backfill, reason: str) -> None:
    """Keep the backfill open so a later sync continues it, but show why it stopped."""
    Backfill.objects.filter(pk=backfill.pk).update(error=reason[:500])


def backfill_eta_seconds(backfill: Backfill) -> int | None:
    """Seconds left at the rate so far; None until there is a rate to go by."""
    if not backfill.started_at or not backfill.imported or backfill.total <= backfill.imported:
        return None
    elapsed = (timezone.now() - backfill.started_at).total_seconds()
    rate = backfill.imported / max(elapsed, 0.001)
    return int((backfill.total - backfill.imported) / rate) + 1


def latest_receipt(channel: Channel) -> str | None:
    """The receipt of the channel's last finished backfill, for the Overview tab."""
    backfill = (
        Backfill.objects.filter(channel=channel, status=BackfillStatus.DONE)
        .select_related("reconnected_by")
        .order_by("-finished_at")
        .first()
    )
    return receipt_text(backfill) if backfill else None
