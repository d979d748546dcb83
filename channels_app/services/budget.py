"""A per-channel daily download budget, kept under the provider's own daily limit.

Gmail stops serving a mailbox over IMAP for the rest of the day after about 2.5 GB of downloads
(https://support.google.com/a/answer/1071518): a first import or a long backfill that runs into it
would only collect `[OVERQUOTA]` refusals. So each channel downloads at most the provider's
DAILY_DOWNLOAD_BYTES a day (UTC); once it is used up the import pauses, without alerting anyone,
and resumes the next day at the cursor. What is left today is a read: selectors/backfill.py's budget_remaining.
"""

from datetime import UTC, datetime, time, timedelta

from django.db.models import F, Q
from django.utils import timezone

from channels_app.models import Channel
from channels_app.providers import get_provider


def _limit(channel: Channel) -> int:
    return get_provider(channel.provider).daily_download_bytes


def next_reset(now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time.min, tzinfo=UTC)


def budget_take(channel: Channel, size: int) -> bool:
    """Count `size` bytes against today's budget; False (nothing counted) when they do not fit.

    A message larger than the whole budget still goes through on a fresh day, or it would never.
    """
    limit = _limit(channel)
    if not limit:
        return True
    today = timezone.now().astimezone(UTC).date()
    Channel.objects.filter(pk=channel.pk).filter(~Q(download_day=today) | Q(download_day__isnull=True)).update(
        download_day=today, downloaded_bytes=0
    )
    fits = Q(downloaded_bytes__lte=limit - size) | Q(downloaded_bytes=0)
    return bool(
        Channel.objects.filter(pk=channel.pk, download_day=today)
        .filter(fits)
        .update(downloaded_bytes=F("downloaded_bytes") + size)
    )
