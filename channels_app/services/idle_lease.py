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
from django.db.models import Q, QuerySet

from channels_app.models import Channel
from channels_app.selectors import idle_candidates


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
    """The server accepted IDLE on a new connection; False if the lease is no longer ours."""
    return bool(_held(owner, [channel_id]).update(idle_since=now, idle_confirmed_at=now))


def idle_confirmed(*, owner: str, channel_id: int, now: datetime) -> bool:
    """The server showed the IDLE is alive (it answered a re-issue, or announced something)."""
    return bool(_held(owner, [channel_id]).update(idle_confirmed_at=now))


def idle_stopped(*, owner: str, channel_id: int) -> bool:
    """The connection dropped or could not be opened: the channel is polled at the usual pace meanwhile."""
    return bool(_held(owner, [channel_id]).update(idle_since=None, idle_confirmed_at=None))


def idle_unsupported(*, owner: str, channel_id: int, now: datetime) -> None:
    """The server offers no IDLE: left to polling, and asked again after a day (selectors.idle_candidates)."""
    _held(owner, [channel_id]).update(
        idle_unsupported_at=now, idle_owner="", idle_until=None, idle_since=None, idle_confirmed_at=None
    )
