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

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from channels_app.models import Backfill, BackfillStatus, Channel, Message, NotificationKind, User
from channels_app.providers import get_provider
from channels_app.services.budget import budget_remaining
from channels_app.services.notifications import notify_follow_up
from channels_app.time_zones import zone_for
from channels_app.times import moment_text, span_text, zone_name

# A running import that stored nothing for this long is waiting (for a lease, a retry, the
# provider), and shows no time left: an estimate it cannot keep is worse than none.
STALLED_AFTER = timedelta(seconds=60)

OPEN = (BackfillStatus.QUEUED, BackfillStatus.RUNNING)


def open_backfill(channel: Channel) -> Backfill | None:
    return Backfill.objects.filter(channel=channel, status__in=OPEN).order_by("reconnected_at").first()


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


def _arrivals(backfill: Backfill) -> tuple[int, datetime | None, datetime | None]:
    """What the reconnect brought in: messages imported from when the channel stopped syncing to when
    the backfill finished."""
    since = backfill.incident_started_at or backfill.reconnected_at
    brought = Message.objects.filter(channel_id=backfill.channel_id, imported_at__gte=since)
    if backfill.finished_at is not None:
        brought = brought.filter(imported_at__lte=backfill.finished_at)
    span = brought.aggregate(first=Min("internal_date"), last=Max("internal_date"))
    return brought.count(), span["first"], span["last"]


def receipt_text(backfill: Backfill, *, now: datetime | None = None, name_zone: bool = False) -> str:
    """ "Reconnected by Dana at 14:03; imported 1,240 messages that arrived between 09:12 and 14:03.", in the
    active zone; `name_zone` adds " (times in Europe/Paris)" before the full stop, for text read away from a page."""
    text = _receipt(backfill, now or timezone.now())
    return f"{text[:-1]} (times in {zone_name()})." if name_zone else text


def _receipt(backfill: Backfill, now: datetime) -> str:
    who = (
        f"by {backfill.reconnected_by.first_name or backfill.reconnected_by}"
        if backfill.reconnected_by
        else "automatically"
    )
    head = f"Reconnected {who} at {moment_text(backfill.reconnected_at, now, today_bare=True)}"
    count, first, last = _arrivals(backfill)
    if not count:
        return f"{head}; no messages were missed."
    noun = "message that" if count == 1 else "messages that"
    text = f"{head}; imported {count:,} {noun}"
    if first and last:
        return f"{text} arrived {span_text(first, last, now)}."
    return f"{text} arrived while it was disconnected."


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


@dataclass(frozen=True)
class BackfillProgress:
    """What the progress panel says: never a countdown that cannot come true."""

    imported: int
    total: int
    # "running" (storing batches now), "waiting" (for a worker, a retry or the provider), "paused"
    # (the daily download limit is used up).
    state: str
    seconds_left: int | None = None
    resumes_at: datetime | None = None
    reason: str = ""
    # More days the provider's daily download limit stretches what is left over (0: it fits today).
    days_left: int = 0

    @property
    def percent(self) -> int:
        return int(100 * self.imported / self.total) if self.total else 0


def _days_left(backfill: Backfill) -> int:
    """Whole days more that the daily download budget makes the rest take, beyond what fits today."""
    limit = get_provider(backfill.channel.provider).daily_download_bytes
    left = backfill.total_bytes - backfill.imported_bytes
    if not limit or left <= 0:
        return 0
    today = budget_remaining(backfill.channel) or 0
    return max(math.ceil((left - today) / limit), 0)


def backfill_progress(backfill: Backfill, *, now: datetime | None = None) -> BackfillProgress:
    now = now or timezone.now()
    total = max(backfill.total, backfill.imported)
    days = _days_left(backfill)
    if backfill.paused_until and backfill.paused_until > now:
        return BackfillProgress(
            backfill.imported, total, "paused", resumes_at=backfill.paused_until, days_left=max(days, 1)
        )
    progressed = backfill.progressed_at
    if backfill.error or progressed is None or now - progressed >= STALLED_AFTER:
        return BackfillProgress(backfill.imported, total, "waiting", reason=backfill.error, days_left=days)
    left = None
    if backfill.started_at and backfill.imported and total > backfill.imported:
        rate = backfill.imported / max((progressed - backfill.started_at).total_seconds(), 0.001)
        left = int((total - backfill.imported) / rate) + 1
    if days:
        left = None  # a countdown to the end of today's share would not be the end
    return BackfillProgress(backfill.imported, total, "running", seconds_left=left, days_left=days)


def latest_receipt(channel: Channel) -> str | None:
    """The receipt of the channel's last finished backfill, for the Overview tab."""
    backfill = (
        Backfill.objects.filter(channel=channel, status=BackfillStatus.DONE)
        .select_related("reconnected_by")
        .order_by("-finished_at")
        .first()
    )
    return receipt_text(backfill) if backfill else None
