"""Reads about a backfill: the one open on a channel, its progress for the panel, and its receipt (what the
reconnect brought in), for the Overview tab and the "reconnected" notice alike; and how much of the daily
download budget (services/budget.py) a channel has left today, which the progress counts with."""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Max, Min
from django.utils import timezone

from channels_app.models import Backfill, BackfillStatus, Channel, Message
from channels_app.providers import get_provider
from channels_app.times import moment_text, span_text, zone_name

# A running import that stored nothing for this long is waiting (for a lease, a retry, the
# provider), and shows no time left: an estimate it cannot keep is worse than none.
STALLED_AFTER = timedelta(seconds=60)

OPEN = (BackfillStatus.QUEUED, BackfillStatus.RUNNING)


def open_backfill(channel: Channel) -> Backfill | None:
    return Backfill.objects.filter(channel=channel, status__in=OPEN).order_by("reconnected_at").first()


def budget_remaining(channel: Channel) -> int | None:
    """Bytes the channel may still download today; None when its provider sets no limit."""
    limit = get_provider(channel.provider).daily_download_bytes
    if not limit:
        return None
    row = Channel.objects.values("download_day", "downloaded_bytes").get(pk=channel.pk)
    used = row["downloaded_bytes"] if row["download_day"] == timezone.now().astimezone(UTC).date() else 0
    return max(limit - used, 0)


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
