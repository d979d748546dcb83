"""Which IDLE listener holds which channel's IDLE connection, across processes and machines.

The same technique as the sync lease (services/lease.py): a conditional UPDATE that exactly one
claimant sees change its row. It is a separate lease on separate fields: an IDLE connection is held
for hours while syncs come and go under their own one-minute lease. A listener renews its leases
every third of IDLE_LEASE_SECONDS; one that dies (killed, machine gone, database lost) stops renewing,
and after the lease runs out another listener claims its channels. Every function takes `now`, so
tests move the clock instead of waiting.
"""

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from channels_app.models import Channel, Message, NotificationKind
from channels_app.selectors import idle_candidates
from channels_app.services.gmail_push import unannounced_count
from channels_app.services.notifications import notify_problem, resolve_problems, staff_recipients

logger = logging.getLogger(__name__)


def _until(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.IDLE_LEASE_SECONDS)


def _free(now: datetime) -> Q:
    return Q(idle_until__isnull=True) | Q(idle_until__lt=now)


def idle_claim(*, owner: str, limit: int, now: datetime) -> list[int]:
    """Claim up to `limit` channels that no live listener holds; the ids this listener now holds.

    Candidates are read first and each is claimed with its own conditional UPDATE: two listeners
    reading the same candidates each get a share, never the same channel.
    """
    if limit <= 0:
        return []
    free = idle_candidates(now).filter(_free(now)).order_by("idle_until", "pk")
    ids = list(free.values_list("pk", flat=True)[:limit])
    claimed = []
    for channel_id in ids:
        # A channel taken over from a dead listener starts with no IDLE until we have one.
        took = (
            Channel.objects.filter(pk=channel_id)
            .filter(_free(now))
            .update(idle_owner=owner, idle_until=_until(now), idle_since=None, idle_confirmed_at=None)
        )
        if took:
            claimed.append(channel_id)
    return claimed


def _held(owner: str, ids: Collection[int]) -> QuerySet[Channel]:
    return Channel.objects.filter(pk__in=list(ids), idle_owner=owner)


def idle_renew(*, owner: str, channel_ids: Collection[int], now: datetime) -> set[int]:
    """Extend this listener's leases; the ids still held (a missing one was taken over after it expired:
    the listener must let go of its connection without writing anything more about it)."""
    held = _held(owner, channel_ids)
    held.update(idle_until=_until(now))
    return set(held.values_list("pk", flat=True))


def idle_release(*, owner: str, channel_ids: Collection[int]) -> int:
    """Let go of channels (a clean stop, or a channel that no longer needs IDLE): free at once for anyone."""
    return _held(owner, channel_ids).update(idle_owner="", idle_until=None, idle_since=None, idle_confirmed_at=None)


def idle_started(*, owner: str, channel_id: int, now: datetime) -> bool:
    """The server accepted IDLE on a new connection; False if the lease is no longer ours. A planned relogin
    keeps `idle_since`: the channel was listened to all along (a drop clears it, idle_stopped)."""
    since = Coalesce(F("idle_since"), Value(now, output_field=DateTimeField()))
    return bool(_held(owner, [channel_id]).update(idle_since=since, idle_confirmed_at=now))


def idle_confirmed(*, owner: str, channel_id: int, now: datetime, announced: bool = False) -> bool:
    """The server showed the IDLE is alive (it answered a re-issue or a sync over the connection); `announced`:
    it announced new mail, which also ends a report that it had gone silent."""
    held = _held(owner, [channel_id])
    if not announced:
        return bool(held.update(idle_confirmed_at=now))
    with transaction.atomic():
        channel = held.select_for_update().first()
        if channel is None:
            return False
        held.update(idle_confirmed_at=now, idle_announced_at=now, idle_silent_reported_at=None)
        if channel.idle_silent_reported_at is not None:
            resolve_problems(channel=channel, kinds=(NotificationKind.PUSH_SILENT,))
    return True


def idle_silence_check(*, owner: str, channel_id: int, imported_since: datetime, now: datetime) -> bool:
    """The listener's safety-net sync (the first over a relogin's connection) imported mail: if that mail came
    into INBOX unannounced while the IDLE stayed quiet for PUSH_SILENCE_MINUTES (Gmail's rule for its watch,
    gmail_push.unannounced_count), the server does not announce new mail: tell staff, once. The channel is
    polled as usual meanwhile (selectors.idle_healthy). Only INBOX counts: IDLE watches it alone, so mail a
    server-side rule files elsewhere says nothing (and Gmail, read through All Mail, is left to its watch)."""
    with transaction.atomic():
        channel = (
            _held(owner, [channel_id])
            .select_for_update()
            .filter(idle_since__isnull=False, idle_silent_reported_at=None)
            .select_related("inbox")
            .first()
        )
        if channel is None or channel.idle_since is None:
            return False
        # Listened to since idle_since (kept across relogins): mail before it was nobody's to announce.
        quiet_since = max(channel.idle_announced_at or channel.idle_since, channel.idle_since)
        found = Message.objects.filter(channel=channel, imported_at__gte=imported_since, folder__name__iexact="INBOX")
        count = unannounced_count(found, quiet_since=quiet_since, now=now)
        if not count:
            return False
        Channel.objects.filter(pk=channel.pk).update(idle_silent_reported_at=now)
        since = f"since {quiet_since:%Y-%m-%d %H:%M} UTC"
        logger.warning("IDLE of channel %s silent %s while the listener's sync found mail", channel.pk, since)
        notify_problem(
            channel=channel,
            kind=NotificationKind.PUSH_SILENT,
            recipients=staff_recipients(),
            text=(
                f"The mail server of {channel.address} announced no new mail over IDLE {since}, yet the listener's "
                f"periodic sync found {count} new message(s) in INBOX: its IDLE does not announce arrivals. "
                "Mail is polled every minute meanwhile."
            ),
        )
    return True


def idle_stopped(*, owner: str, channel_id: int) -> bool:
    """The connection dropped or could not be opened: the channel is polled at the usual pace meanwhile."""
    return bool(_held(owner, [channel_id]).update(idle_since=None, idle_confirmed_at=None))


def idle_unsupported(*, owner: str, channel_id: int, now: datetime) -> None:
    """The server offers no IDLE: left to polling, and asked again after a day (selectors.idle_candidates)."""
    _held(owner, [channel_id]).update(
        idle_unsupported_at=now, idle_owner="", idle_until=None, idle_since=None, idle_confirmed_at=None
    )
