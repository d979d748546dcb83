"""Reads about push health, for the scheduled poll and the Overview tab (no writes here).

A Gmail channel's push is healthy while its watch has not lapsed and has not been reported silent
(services/push_silence.py): such a channel is polled only every PUSH_POLL_INTERVAL_SECONDS as a safety
net, the others at every sync pass.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from channels_app.models import Channel, GmailWatch
from channels_app.providers import get_provider
from channels_app.providers.gmail.provider import GmailProvider


def _push_on() -> bool:
    provider = get_provider("gmail")
    return isinstance(provider, GmailProvider) and provider.push_configured()


def healthy_watches(now: datetime) -> QuerySet[GmailWatch]:
    """The watches through which new mail arrives now (none while no topic is set): their channels are
    polled only as a safety net (selectors.due.channels_to_sync)."""
    if not _push_on():
        return GmailWatch.objects.none()
    return GmailWatch.objects.filter(channel__provider="gmail", expires_at__gt=now, silent_reported_at__isnull=True)


def _healthy(channel: Channel, watch: GmailWatch, now: datetime) -> bool:
    """What healthy_watches asks of each row, of a row already read."""
    return channel.provider == "gmail" and watch.expires_at > now and watch.silent_reported_at is None


def push_healthy(channel: Channel) -> bool:
    return healthy_watches(timezone.now()).filter(channel=channel).exists()


@dataclass(frozen=True)
class PushSummary:
    """How a channel receives mail, for its Overview tab."""

    healthy: bool
    renews_at: datetime
    expires_at: datetime
    last_push_at: datetime | None


def push_summary(channel: Channel) -> PushSummary | None:
    return watch_summary(channel, GmailWatch.objects.filter(channel=channel).first(), timezone.now())


def watch_summary(channel: Channel, watch: GmailWatch | None, now: datetime) -> PushSummary | None:
    """push_summary of a watch already read (the Channel health page reads every channel's at once)."""
    if watch is None or not _push_on():
        return None
    hours = get_provider(channel.provider).renewal_after_hours
    renewed = channel.subscription_renewed_at or watch.renewed_at
    return PushSummary(
        healthy=_healthy(channel, watch, now),
        renews_at=renewed + timedelta(hours=hours),
        expires_at=watch.expires_at,
        last_push_at=watch.last_push_at,
    )
