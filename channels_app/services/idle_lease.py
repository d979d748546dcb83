"""Which IDLE listener holds which channel's IDLE connection, across processes and machines.

The same technique as the sync lease (services/lease.py): a conditional UPDATE that exactly one
claimant sees change its row. It is a separate lease on separate fields: an IDLE connection is held
for hours while syncs come and go under their own one-minute lease. A listener renews its leases
every third of IDLE_LEASE_SECONDS; one that dies (killed, machine gone, database lost) stops renewing,
and after the lease runs out another listener claims its channels. Every function takes `now`, so
tests move the clock instead of waiting.
"""

from collections.abc import Collection
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from channels_app.models import Channel, NotificationKind
from channels_app.selectors import idle_candidates, idle_healthy
from channels_app.services.notifications import resolve_problems


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


def idle_stopped(*, owner: str, channel_id: int) -> bool:
    """The connection dropped or could not be opened: the channel is polled at the usual pace meanwhile."""
    return bool(_held(owner, [channel_id]).update(idle_since=None, idle_confirmed_at=None))


def idle_unsupported(*, owner: str, channel_id: int, now: datetime) -> None:
    """The server offers no IDLE: left to polling, and asked again after a day (selectors.idle_candidates)."""
    _held(owner, [channel_id]).update(
        idle_unsupported_at=now, idle_owner="", idle_until=None, idle_since=None, idle_confirmed_at=None
    )


def idle_sync_request(*, channel_id: int, now: datetime) -> bool:
    """Hand a push's sync (Gmail's watch, Graph) to the listener holding the channel's healthy IDLE: it syncs
    over its connection, with no login, at its next tick (IdleListener.step). False: no healthy listener holds
    the channel, and the caller queues the worker's sync as before. One UPDATE, so a webhook can afford it."""
    held = Channel.objects.filter(idle_healthy(now), pk=channel_id)
    return bool(held.update(idle_sync_requests=F("idle_sync_requests") + 1))


def idle_sync_requests_take(*, owner: str) -> list[int]:
    """The channels this listener holds whose sync was handed over since it last asked (one query, on a partial
    index, when there are none); each request is taken by subtracting what was read, so one that arrives
    meanwhile stays for the next tick."""
    asked = list(
        Channel.objects.filter(idle_owner=owner, idle_sync_requests__gt=0).values_list("pk", "idle_sync_requests")
    )
    for channel_id, count in asked:
        Channel.objects.filter(pk=channel_id).update(idle_sync_requests=F("idle_sync_requests") - count)
    return [channel_id for channel_id, _ in asked]
