"""Single flight per channel across workers and machines: a short lease, renewed while the work runs.

A conditional UPDATE is atomic on every database: exactly one claimant sees one row changed. The
lease is short (CHANNEL_LEASE_SECONDS, a minute by default) and a long job renews it between its
steps, so a worker that dies or loses its database frees the channel within a minute, and a job
that finds its lease taken stops before writing anything more.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from channels_app.models import Channel


class LeaseLost(Exception):
    """Another worker took the channel over (our lease expired): stop without writing."""


@contextmanager
def channel_lease(channel_id: int, *, seconds: int | None = None) -> Iterator[str | None]:
    """The lease's owner token while we hold it, or None when another worker does."""
    seconds = seconds or settings.CHANNEL_LEASE_SECONDS
    owner = uuid.uuid4().hex
    now = timezone.now()
    claimed = (
        Channel.objects.filter(pk=channel_id)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
    )
    try:
        yield owner if claimed else None
    finally:
        if claimed:
            Channel.objects.filter(pk=channel_id, lease_owner=owner).update(lease_owner="", lease_until=None)


def extend_lease(channel_id: int, owner: str, *, seconds: int | None = None) -> bool:
    """Keep a long job's lease alive; False if it was lost (then stop writing)."""
    until = timezone.now() + timedelta(seconds=seconds or settings.CHANNEL_LEASE_SECONDS)
    return bool(Channel.objects.filter(pk=channel_id, lease_owner=owner).update(lease_until=until))


def renew_or_stop(channel: Channel) -> None:
    """Between the steps of a long job: renew the lease, or stop it if another worker took over."""
    if not extend_lease(channel.pk, channel.lease_owner):
        raise LeaseLost(channel.address)
