"""Which channels each scheduled pass (tasks.py) takes up now: those due a sync, a probe, or a check that only
the channel's own fields decide (keep-alive, renewal)."""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from channels_app.models import Channel, ChannelStatus
from channels_app.push_health import healthy_watches
from channels_app.selectors import idle_healthy
from channels_app.selectors.subscriptions import live_subscriptions


def _due(channels: QuerySet[Channel]) -> QuerySet[Channel]:
    return channels.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))


def channels_to_sync(now: datetime | None = None) -> QuerySet[Channel]:
    """Unreachable channels keep being tried (with backoff): that is how they recover on their own.

    A healthy IDLE (selectors.idle_healthy) is not polled at all: its listener syncs announced mail over the
    connection it holds and signs in afresh every IDLE_RELOGIN_MINUTES, syncing every folder over the new
    connection; that sync is the safety net, at no extra login. A poll beside it would add a login every
    PUSH_POLL_INTERVAL_SECONDS (144 a day) to find what that sync finds within IDLE_RELOGIN_MINUTES anyway.
    When the IDLE stops being healthy (the listener dies, its connection cannot be reopened, the server
    stops confirming it) the channel is polled at once, at the usual interval.

    The providers' own push (Gmail's watch, push_health.py; Graph's notifications, graph_push.py) has no
    connection of ours to check it: such a channel is polled as a safety net every PUSH_POLL_INTERVAL_SECONDS
    (counted from its last sync, whatever started that one).
    """
    now = now or timezone.now()
    recently = now - timedelta(seconds=settings.PUSH_POLL_INTERVAL_SECONDS)
    pushed = Q(pk__in=healthy_watches(now).values("channel_id")) | Q(
        pk__in=live_subscriptions(now).values("channel_id")
    )
    return (
        _due(Channel.objects.filter(status__in=[ChannelStatus.ACTIVE, ChannelStatus.UNREACHABLE]))
        .exclude(idle_healthy(now))
        .exclude(pushed & Q(last_synced_at__gt=recently))
    )


# A relogin takes seconds; this much late, the listener is not keeping its cadence and the probe checks instead.
_RELOGIN_GRACE = timedelta(minutes=2)


def channels_to_probe(now: datetime | None = None) -> QuerySet[Channel]:
    """needs_reauth channels are included only when their slow check is due (next_attempt_at). A probe asks
    whether our credentials still open the mailbox: an active channel that signed in afresh within the last
    PROBE_INTERVAL_MINUTES (a sync, a listener's connection) has just answered that, and one whose healthy
    IDLE listener signs in every IDLE_RELOGIN_MINUTES answers it on that cadence, so neither is asked again.
    The others (needs_reauth, blocked, unreachable) keep their probe: for them it is how recovery is noticed."""
    now = now or timezone.now()
    recently = now - timedelta(minutes=settings.PROBE_INTERVAL_MINUTES)
    relogin = now - timedelta(minutes=settings.IDLE_RELOGIN_MINUTES) - _RELOGIN_GRACE
    answered = Q(last_login_at__gt=recently) | (idle_healthy(now) & Q(last_login_at__gt=relogin))
    return _due(Channel.objects.exclude(status=ChannelStatus.DISCONNECTED)).exclude(
        Q(status=ChannelStatus.ACTIVE) & answered
    )


def live_channels_where(due: Callable[[Channel], bool], read: tuple[str, ...]) -> list[int]:
    """Active or unreachable channels for which `due` holds; `read` names the fields `due` reads."""
    live = Channel.objects.filter(status__in=[ChannelStatus.ACTIVE, ChannelStatus.UNREACHABLE])
    return [c.pk for c in live.only("pk", *read) if due(c)]
